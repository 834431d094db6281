import { ApiError } from '../http/errors.js';
import { writeVersion } from './accept.js';

// HMRC's Accept rules for writes (ValidateAcceptRefiner.scala, MediaType.scala, Version.scala).

const refusal = (header: string | undefined, hub = '2.1') => {
  try {
    writeVersion(header, hub);
  } catch (error) {
    return error instanceof ApiError ? { status: error.status, message: error.message } : error;
  }
  return undefined;
};

describe('writeVersion', () => {
  it('takes 2.1 and 3.0 +json whatever the hub’s own version', () => {
    for (const hub of ['2.1', '3.0']) {
      expect(writeVersion('application/vnd.hmrc.2.1+json', hub)).toBe('2.1');
      expect(writeVersion('application/vnd.hmrc.3.0+json', hub)).toBe('3.0');
      // HMRC compares the media type without regard to case.
      expect(writeVersion('application/vnd.hmrc.3.0+JSON', hub)).toBe('3.0');
    }
  });

  it.each([
    [undefined, 'The Accept header is missing.'],
    ['*/*', 'Invalid accept header: */*'],
    ['application/json', 'Invalid accept header: application/json'],
    ['application/vnd.hmrc.2.0+json', 'Invalid version provided'],
    ['application/vnd.hmrc.1.0+json', 'Invalid version provided'],
    ['application/vnd.hmrc..+json', 'Invalid version provided'],
    ['application/vnd.hmrc.+json', 'Invalid accept header: application/vnd.hmrc.+json'],
    ['application/vnd.hmrc.2.1+xml', 'The Accept header is missing or invalid.'],
    ['application/vnd.hmrc.2.1+json-xml', 'The Accept header is missing or invalid.'],
    ['application/vnd.hmrc.2.1+yaml', 'The Accept header is missing or invalid.'],
  ])('refuses %s with HMRC’s 406 text', (header, message) => {
    expect(refusal(header)).toEqual({ status: 406, message });
  });

  it('serves only 1.0 on a hub set to the retired 1.0 API', () => {
    expect(writeVersion('application/vnd.hmrc.1.0+json', '1.0')).toBe('1.0');
    expect(refusal('application/vnd.hmrc.2.1+json', '1.0')).toEqual({
      status: 406,
      message: 'Invalid version provided',
    });
  });
});
