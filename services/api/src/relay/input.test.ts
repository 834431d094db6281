import { ApiError } from '../http/errors.js';
import { parseConsumerInput } from './input.js';

const base = { name: 'x', eoris: '*', secret: 'PUSHSECRET0123456789ABCDEFGHIJKL' };
const refusal = (body: unknown, allowHttp = false) => {
  try {
    parseConsumerInput(body, true, { allowHttp });
    return undefined;
  } catch (error) {
    return error instanceof ApiError ? `${error.status} ${error.message}` : String(error);
  }
};

describe('a relay consumer’s callback URL', () => {
  it('must be https, as PPNS requires, unless plain http is allowed', () => {
    expect(refusal({ ...base, callbackUrl: 'http://trader.example/cb' })).toMatch(
      /^400 callbackUrl must be https/,
    );
    expect(refusal({ ...base, callbackUrl: 'http://trader.example/cb' }, true)).toBeUndefined();
    expect(refusal({ ...base, callbackUrl: 'https://trader.example/cb' })).toBeUndefined();
  });

  it('is an absolute URL without a fragment', () => {
    expect(refusal({ ...base, callbackUrl: '/relative/path' })).toMatch(/^400 callbackUrl/);
    expect(refusal({ ...base, callbackUrl: 'https://trader.example/cb#x' })).toMatch(
      /^400 callbackUrl must not have a fragment/,
    );
    expect(refusal({ ...base, callbackUrl: 'javascript:alert(1)' })).toMatch(/^400 callbackUrl/);
  });

  it('may be null: a consumer that only pulls', () => {
    expect(
      parseConsumerInput({ ...base, callbackUrl: null }, true, { allowHttp: false }),
    ).toMatchObject({ callbackUrl: null });
  });
});
