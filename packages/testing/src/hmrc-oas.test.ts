import { validateHmrcResponse, type HmrcAnswer } from './hmrc-oas.js';

const movement = {
  _links: {
    self: { href: '/customs/transits/movements/departures/0123456789abcdef' },
    messages: { href: '/customs/transits/movements/departures/0123456789abcdef/messages' },
  },
  id: '0123456789abcdef',
  movementReferenceNumber: null,
  localReferenceNumber: 'LRN',
  created: '2026-12-01T09:00:00Z',
  updated: '2026-12-01T09:00:00.5Z',
  enrollmentEORINumber: 'GB000000000001',
  movementEORINumber: null,
};

const answer = (fields: Partial<HmrcAnswer>): HmrcAnswer => ({
  version: '2.1',
  method: 'GET',
  path: '/customs/transits/movements/departures/0123456789abcdef',
  status: 200,
  contentType: 'application/json',
  body: movement,
  ...fields,
});

describe('validateHmrcResponse', () => {
  it('accepts HMRC shapes, with nulls where HMRC writes empty Options', () => {
    expect(validateHmrcResponse(answer({}))).toEqual([]);
    expect(validateHmrcResponse(answer({ version: '3.0' }))).toEqual([]);
  });

  it('refuses fields that are not HMRC’s, wrong types and missing required fields', () => {
    expect(validateHmrcResponse(answer({ body: { ...movement, boxId: 'x' } }))).toEqual([
      expect.stringMatching(/boxId is not in HMRC's OAS/),
    ]);
    expect(validateHmrcResponse(answer({ body: { ...movement, id: 7 } }))).toEqual([
      expect.stringMatching(/\.id: number where HMRC's OAS has string/),
    ]);
    const { enrollmentEORINumber: _dropped, ...missing } = movement;
    expect(validateHmrcResponse(answer({ body: missing }))).toEqual([
      expect.stringMatching(/required enrollmentEORINumber is missing/),
    ]);
  });

  it('checks error bodies: OAS shapes, and HMRC’s three 400 shapes the OAS leaves out', () => {
    const error = (status: number, body: unknown) => validateHmrcResponse(answer({ status, body }));
    expect(error(404, { message: 'x', code: 'NOT_FOUND' })).toEqual([]);
    expect(error(404, { message: 'x', code: 'GONE' })).not.toEqual([]);
    expect(error(406, { message: 'x', code: 'NOT_ACCEPTABLE' })).toEqual([]);
    expect(error(400, { message: 'x', statusCode: 400, code: 'BAD_REQUEST' })).toEqual([]);
    expect(error(400, { statusCode: 400, message: 'x' })).toEqual([]);
    expect(error(400, { error: 'x' })).not.toEqual([]);
    expect(error(500, { message: 'x', code: 'INTERNAL_SERVER_ERROR' })).not.toEqual([]);
  });

  it('allows a converted body object only with +json', () => {
    const message = {
      _links: {
        self: {
          href: '/customs/transits/movements/departures/0123456789abcdef/messages/1111111111111111',
        },
        departure: { href: '/customs/transits/movements/departures/0123456789abcdef' },
      },
      id: '1111111111111111',
      departureId: '0123456789abcdef',
      received: '2026-12-01T09:00:00Z',
      type: 'IE015',
      status: 'Success',
      body: { 'n1:CC015C': {} },
    };
    const path =
      '/customs/transits/movements/departures/0123456789abcdef/messages/1111111111111111';
    expect(
      validateHmrcResponse(
        answer({ path, body: message, accept: 'application/vnd.hmrc.2.1+json' }),
      ),
    ).toEqual([]);
    expect(
      validateHmrcResponse(
        answer({ path, body: message, accept: 'application/vnd.hmrc.2.1+json-xml' }),
      ),
    ).not.toEqual([]);
  });
});
