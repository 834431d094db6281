import {
  classifyStatus,
  isRetryable,
  maxRetryAfterMs,
  parseErrorBody,
  parseRetryAfter,
  submissionOutcome,
  type HmrcError,
} from './errors.js';

const now = Date.parse('2026-03-01T10:00:00Z');

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120_000],
    [' 3 ', 3000],
    ['Sun, 01 Mar 2026 10:00:30 GMT', 30_000],
    ['Sun, 01 Mar 2026 09:00:00 GMT', 0],
    ['soon', 1000],
    ['-5', 1000],
    ['1.5', 1000],
    ['', 1000],
    [undefined, 1000],
    [['7', '9'], 7000],
    ['999999999', maxRetryAfterMs],
  ])('%j → %i ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('parseErrorBody', () => {
  it('reads the v1 shape ({statusCode, message})', () => {
    expect(parseErrorBody(Buffer.from('{"statusCode":400,"message":"Invalid XML"}'), 400)).toEqual({
      message: 'Invalid XML',
    });
  });

  it('reads OAuth errors', () => {
    expect(
      parseErrorBody(Buffer.from('{"error":"invalid_grant","error_description":"spent"}'), 400),
    ).toEqual({ code: 'invalid_grant', message: 'spent' });
  });

  it('clips long messages', () => {
    const parsed = parseErrorBody(Buffer.from(JSON.stringify({ message: 'x'.repeat(5000) })), 500);
    expect(parsed.message.length).toBeLessThan(600);
  });

  it('falls back to the status for an empty body', () => {
    expect(parseErrorBody(Buffer.alloc(0), 502)).toEqual({ message: 'HTTP 502' });
  });
});

describe('submissionOutcome: may HMRC have accepted a POST that failed?', () => {
  const cases: [HmrcError, ReturnType<typeof submissionOutcome>][] = [
    [{ kind: 'refused', message: '' }, 'not-sent'],
    [{ kind: 'too-large', limit: 1, sent: false, message: '' }, 'not-sent'],
    [{ kind: 'network', outcome: 'not-sent', message: '' }, 'not-sent'],
    [{ kind: 'network', outcome: 'unknown', message: '' }, 'unknown'],
    [{ kind: 'network', outcome: 'unknown', status: 202, message: '' }, 'unknown'],
    [{ kind: 'timeout', outcome: 'unknown', message: '' }, 'unknown'],
    [{ kind: 'aborted', outcome: 'unknown', message: '' }, 'unknown'],
    [{ kind: 'aborted', outcome: 'not-sent', message: '' }, 'not-sent'],
    [classifyStatus(429, Buffer.alloc(0), undefined, now), 'rejected'],
    [classifyStatus(409, Buffer.alloc(0), undefined, now), 'rejected'],
    [classifyStatus(401, Buffer.alloc(0), undefined, now), 'rejected'],
    [classifyStatus(500, Buffer.alloc(0), undefined, now), 'unknown'],
    [classifyStatus(504, Buffer.alloc(0), undefined, now), 'unknown'],
    [classifyStatus(501, Buffer.alloc(0), undefined, now), 'rejected'],
    [{ kind: 'invalid-response', status: 202, message: '' }, 'unknown'],
  ];
  it.each(cases)('%j → %s', (error, expected) => {
    expect(submissionOutcome(error)).toBe(expected);
  });
});

describe('isRetryable', () => {
  it('retries rate limits, timeouts, network failures and 5xx except 501', () => {
    const retryable = (status: number) =>
      isRetryable(classifyStatus(status, Buffer.alloc(0), undefined, now));
    expect([429, 500, 502, 503, 504].map(retryable)).toEqual([true, true, true, true, true]);
    expect([400, 401, 403, 404, 406, 409, 413, 415, 501].map(retryable)).toEqual(
      Array(9).fill(false),
    );
    expect(isRetryable({ kind: 'timeout', outcome: 'unknown', message: '' })).toBe(true);
    expect(isRetryable({ kind: 'network', outcome: 'not-sent', message: '' })).toBe(true);
    expect(isRetryable({ kind: 'refused', message: '' })).toBe(false);
    expect(isRetryable({ kind: 'too-large', limit: 1, sent: true, message: '' })).toBe(false);
  });
});
