import { formatPpnsDateTime, parseEnvelope, parsePpnsDateTime } from './envelope.js';

const valid = {
  notificationId: '1ed5f407-8096-40d1-87ef-9a2a103eeb85',
  boxId: '50dca3fc-c37c-4f03-b719-63571333624c',
  messageContentType: 'application/json',
  message: '{"key":"value"}',
  status: 'PENDING',
  createdDateTime: '2020-06-01T10:20:23.160+0000',
};

describe('parseEnvelope', () => {
  it('accepts the documented envelope and reads PPNS’s time format as UTC', () => {
    const result = parseEnvelope(JSON.stringify(valid));
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.envelope.createdAt.toISOString()).toBe('2020-06-01T10:20:23.160Z');
  });

  it('accepts message as an object and ignores unknown fields', () => {
    const result = parseEnvelope(JSON.stringify({ ...valid, message: { key: 'value' }, extra: 1 }));
    expect(result.ok).toBe(true);
  });

  it.each([
    ['notificationId', { notificationId: 'not-a-uuid' }],
    ['boxId', { boxId: 42 }],
    ['messageContentType', { messageContentType: 'text/plain' }],
    ['message', { message: ['x'] }],
    ['message', { message: null }],
    ['status', { status: 'DONE' }],
    ['createdDateTime', { createdDateTime: '2020-06-01 10:20:23' }],
    ['createdDateTime', { createdDateTime: '2020-06-01T10:20:23.160' }],
    ['createdDateTime', { createdDateTime: '2020-02-31T10:20:23.160+0000' }],
  ])('names %s when it is wrong', (field, change) => {
    const result = parseEnvelope(JSON.stringify({ ...valid, ...change }));
    expect(result).toMatchObject({ ok: false, error: { code: 'INVALID_ENVELOPE', field } });
  });

  it('names the missing field', () => {
    const { status: _status, ...rest } = valid;
    expect(parseEnvelope(JSON.stringify(rest))).toMatchObject({
      ok: false,
      error: { field: 'status' },
    });
  });

  it('reports invalid JSON separately', () => {
    expect(parseEnvelope('{"notificationId":')).toMatchObject({
      ok: false,
      error: { code: 'INVALID_JSON' },
    });
    expect(parseEnvelope('[]')).toMatchObject({ ok: false, error: { code: 'INVALID_ENVELOPE' } });
  });
});

describe('PPNS date-times', () => {
  it('round-trips the PPNS format', () => {
    const date = new Date('2024-05-14T15:26:40.875Z');
    expect(formatPpnsDateTime(date)).toBe('2024-05-14T15:26:40.875+0000');
    expect(parsePpnsDateTime(formatPpnsDateTime(date))?.getTime()).toBe(date.getTime());
  });

  it('applies offsets', () => {
    expect(parsePpnsDateTime('2024-05-14T16:26:40.875+0100')?.toISOString()).toBe(
      '2024-05-14T15:26:40.875Z',
    );
    expect(parsePpnsDateTime('2024-05-14T15:26:40Z')?.toISOString()).toBe(
      '2024-05-14T15:26:40.000Z',
    );
  });
});
