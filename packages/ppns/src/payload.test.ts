import { parseMessageUri } from './message-uri.js';
import { parseCtcPayload } from './payload.js';

const v2 = {
  messageUri: '/customs/transits/movements/departures/62fb8f33d233578e/messages/fedcba9876543210',
  notificationType: 'MESSAGE_RECEIVED',
  messageId: 'fedcba9876543210',
  enrollmentEORINumber: 'GB0123456789012',
  departureId: '62fb8f33d233578e',
  messageType: 'IE928',
  messageBody: '<ncts:CC928C xmlns:ncts="http://ncts.dgtaxud.ec"/>',
};

const v1 = {
  messageUri: '/customs/transits/movements/arrivals/12/messages/3',
  requestId: '/customs/transits/movements/arrivals/12',
  customerId: 'GB123456789000',
  arrivalId: '12',
  messageId: '3',
  received: '2021-03-01T10:15:30.123',
  messageType: 'IE025',
  messageBody: '<CC025A></CC025A>',
};

describe('parseCtcPayload', () => {
  it.each([
    ['a JSON string', JSON.stringify(v2)],
    ['an object', v2],
  ])('reads a v2 MESSAGE_RECEIVED given as %s', (_label, message) => {
    const result = parseCtcPayload(message as string);
    expect(result).toEqual({
      ok: true,
      payload: expect.objectContaining({
        version: 'v2',
        notificationType: 'MESSAGE_RECEIVED',
        movementType: 'departure',
        movementId: '62fb8f33d233578e',
        messageId: 'fedcba9876543210',
        eori: 'GB0123456789012',
        messageType: 'IE928',
        movementPath: '/customs/transits/movements/departures/62fb8f33d233578e',
        messageBody: v2.messageBody,
      }),
    });
  });

  it.each([
    ['a v2 movement id in upper case', { departureId: '62FB8F33D233578E' }, 'movement id'],
    ['a v2 movement id of 15 characters', { departureId: '62fb8f33d233578' }, 'movement id'],
    ['a v2 decimal movement id', { departureId: '12' }, 'movement id'],
    ['a v2 message id that is not hex', { messageId: 'zzzzzzzzzzzzzzzz' }, 'message id'],
  ])('refuses %s: the HMRC read routes could never serve it back', (_label, change, what) => {
    const message = { ...v2, ...change };
    const departureId = message.departureId;
    message.messageUri = `/customs/transits/movements/departures/${departureId}/messages/${message.messageId}`;
    const result = parseCtcPayload(message);
    expect(result).toEqual({
      ok: false,
      error: {
        code: 'INVALID_PAYLOAD',
        message: expect.stringContaining(`the ${what}`),
      },
    });
  });

  it('refuses a v1 (API 1.0) id that is not decimal', () => {
    const message = {
      ...v1,
      arrivalId: '62fb8f33d233578e',
      requestId: '/customs/transits/movements/arrivals/62fb8f33d233578e',
      messageUri: '/customs/transits/movements/arrivals/62fb8f33d233578e/messages/3',
    };
    expect(parseCtcPayload(message)).toMatchObject({
      ok: false,
      error: { code: 'INVALID_PAYLOAD' },
    });
  });

  it('treats a missing messageBody as "fetch by URI"', () => {
    const { messageBody: _body, ...large } = v2;
    const result = parseCtcPayload(
      JSON.stringify({
        ...large,
        departureId: undefined,
        arrivalId: '62fb8f33d233578e',
        messageUri: v2.messageUri.replace('departures', 'arrivals'),
      }),
    );
    expect(result).toMatchObject({
      ok: true,
      payload: { movementType: 'arrival', messageBody: null },
    });
  });

  it('reads a v2 SUBMISSION_NOTIFICATION, tolerating the guide’s enrollementEORINumber typo', () => {
    const result = parseCtcPayload({
      messageUri:
        '/customs/transits/movements/departures/6643810d78876593/messages/6643810d1160ed8d',
      notificationType: 'SUBMISSION_NOTIFICATION',
      messageId: '6643810d1160ed8d',
      enrollementEORINumber: '123456',
      departureId: '6643810d78876593',
      response: { code: 'SUCCESS', message: 'processed' },
    });
    expect(result).toMatchObject({
      ok: true,
      payload: {
        notificationType: 'SUBMISSION_NOTIFICATION',
        eori: '123456',
        response: { code: 'SUCCESS' },
      },
    });
  });

  it.each([
    ['a JSON string', JSON.stringify(v1)],
    ['an object', v1],
  ])('reads a v1 notification given as %s', (_label, message) => {
    expect(parseCtcPayload(message as string)).toMatchObject({
      ok: true,
      payload: {
        version: 'v1',
        movementType: 'arrival',
        movementId: '12',
        messageId: '3',
        eori: 'GB123456789000',
        received: v1.received,
      },
    });
  });

  it.each([
    ['not JSON', 'hello'],
    ['XML', '<CC025A/>'],
    ['no ids', JSON.stringify({ hello: 'world' })],
    ['an array', '[1,2]'],
    ['an unknown notificationType', JSON.stringify({ ...v2, notificationType: 'SOMETHING_ELSE' })],
  ])('refuses %s as a payload of unknown shape', (_label, message) => {
    expect(parseCtcPayload(message)).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_PAYLOAD' },
    });
  });

  it('refuses a messageUri that disagrees with the ids', () => {
    expect(parseCtcPayload({ ...v2, departureId: '0000000000000000' })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_PAYLOAD' },
    });
  });
});

describe('parseMessageUri', () => {
  it.each([
    'https://evil.example/customs/transits/movements/departures/1/messages/2',
    '//evil.example/customs/transits/movements/departures/1/messages/2',
    'http://169.254.169.254/latest/meta-data/',
    '/customs/transits/movements/departures/1/messages/2?x=1',
    '/customs/transits/movements/departures/1/messages/2#frag',
    '/customs/transits/movements/departures/../../../admin/messages/2',
    '/customs/transits/movements/departures/%2e%2e/messages/2',
    '/customs/transits/movements/departures/1/messages/..%2f..%2fadmin',
    '/customs/transits/movements/departures/1/messages/2/body',
    '/customs\\transits/movements/departures/1/messages/2',
    '/other/path',
    '',
    42,
  ])('refuses %p', (uri) => {
    expect(parseMessageUri(uri)).toBeUndefined();
  });

  it('accepts v2 and v1 message paths', () => {
    expect(
      parseMessageUri(
        '/customs/transits/movements/arrivals/62fb8f33d233578e/messages/fedcba9876543210',
      ),
    ).toEqual({
      movementType: 'arrival',
      movementId: '62fb8f33d233578e',
      messageId: 'fedcba9876543210',
      movementPath: '/customs/transits/movements/arrivals/62fb8f33d233578e',
    });
    expect(
      parseMessageUri('/customs/transits/movements/departures/12/messages/3')?.movementId,
    ).toBe('12');
  });
});

describe('parseCtcPayload: what PostgreSQL cannot store', () => {
  // PostgreSQL refuses U+0000 in text and jsonb, and an unpaired surrogate in jsonb: a payload
  // carrying one could be neither stored nor quarantined with its fields (the EORI column too).
  it.each([
    [
      'U+0000 in the EORI',
      { enrollmentEORINumber: 'GB12\u0000' },
      'message.enrollmentEORINumber',
      'U+0000',
    ],
    ['U+0000 in the message type', { messageType: 'IE0\u000029' }, 'message.messageType', 'U+0000'],
    ['U+0000 in the body', { messageBody: '<a>\u0000</a>' }, 'message.messageBody', 'U+0000'],
    [
      'an unpaired surrogate in the EORI',
      { enrollmentEORINumber: 'GB12\ud800' },
      'message.enrollmentEORINumber',
      'an unpaired surrogate',
    ],
    [
      'a lone low surrogate deep inside',
      { extra: [{ x: 'a\udc00' }] },
      'message.extra[0].x',
      'an unpaired surrogate',
    ],
    ['U+0000 in a key', { 'a\u0000': 1 }, 'a key of message', 'U+0000'],
  ])('refuses %s, naming the field', (_label, fields, path, what) => {
    const result = parseCtcPayload(JSON.stringify({ ...v2, ...fields }));
    expect(result).toEqual({
      ok: false,
      error: { code: 'INVALID_PAYLOAD', message: expect.stringContaining(`${path} holds ${what}`) },
    });
  });

  it('keeps a well-formed surrogate pair (an emoji) as it is', () => {
    const result = parseCtcPayload(JSON.stringify({ ...v2, extra: 'ok \ud83d\ude00' }));
    expect(result.ok).toBe(true);
  });
});
