// Risk retired: declarations sent through us reach HMRC exactly once and their outcome is
// visible: validation before queueing, idempotency, HMRC rejections, retries with growing
// delays, 429s without losing the submission, timeouts after sending without a second
// declaration, token refresh on 401, EORI scoping, and the NCTS lifecycle linked back by push.
import { randomUUID } from 'node:crypto';
import { buildMessage } from '@ctc-hub/ncts-testkit';
import { waitFor } from '@ctc-hub/testing';
import { startE2E, traderEori, type E2E } from './support.js';

let e2e: E2E;
const scopedKey = 'scoped-key-other-trader';
const otherEori = 'GB222222222222';

beforeAll(async () => {
  e2e = await startE2E({
    API_KEYS: `dev-api-key,${scopedKey}:${otherEori}`,
    SUBMIT_BACKOFF_BASE_MS: '400',
    SUBMIT_MAX_ATTEMPTS: '6',
    HMRC_REQUEST_TIMEOUT_MS: '1500',
  });
}, 60_000);
afterAll(async () => {
  await e2e?.stop();
});
afterEach(() => {
  e2e.stack.sandbox!.controls.clearFaults();
});

const lrn = () => `LRN${randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase()}`;

async function post(
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
  key = e2e.stack.apiKey,
) {
  const response = await fetch(`${e2e.stack.apiUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml', ...headers },
    body,
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? null : JSON.parse(text),
    headers: response.headers,
  };
}

const declaration = (reference = lrn(), extra: Record<string, unknown> = {}) =>
  buildMessage('IE015', { lrn: reference, eori: traderEori, ...extra });

const settled = (id: string, timeoutMs = 20_000) =>
  waitFor(
    async () => {
      const { body } = await e2e.api(`/v1/submissions/${id}`);
      return ['accepted', 'rejected', 'failed'].includes(body.status) ? body : undefined;
    },
    { timeoutMs, what: `submission ${id} settled` },
  );

const departuresAtHmrcWithLrn = (reference: string) =>
  e2e.stack
    .sandbox!.controls.movements()
    .filter((movement) => movement.type === 'departure' && movement.lrn === reference);

describe('a declaration', () => {
  it('is queued, sent, accepted, and linked to every NCTS message that follows by push', async () => {
    const reference = lrn();
    const created = await post('/v1/departures', declaration(reference));
    expect(created.status).toBe(202);
    expect(created.body).toEqual({
      submissionId: expect.any(String),
      status: 'queued',
      _links: { self: { href: `/v1/submissions/${created.body.submissionId}` } },
    });
    expect(created.headers.get('location')).toBe(`/v1/submissions/${created.body.submissionId}`);

    const accepted = await settled(created.body.submissionId);
    expect(accepted).toMatchObject({
      status: 'accepted',
      eori: traderEori,
      messageType: 'IE015',
      localReferenceNumber: reference,
    });
    expect(accepted.movementId).toMatch(/^[0-9a-f]{16}$/);
    expect(accepted.boxId).toBeTruthy();
    expect(accepted.requestId).toBe(
      `/customs/transits/movements/departures/${accepted.movementId}`,
    );
    expect(accepted.attempts).toEqual([
      expect.objectContaining({ attempt: 1, httpStatus: 202, outcome: 'accepted' }),
    ]);

    // The sandbox's NCTS answers IE928, IE028, IE029; each arrives by PPNS push.
    const full = await waitFor(
      async () => {
        const { body } = await e2e.api(`/v1/submissions/${created.body.submissionId}`);
        const types = body.messages.map((message: { type: string }) => message.type);
        return ['IE928', 'IE028', 'IE029'].every((type) => types.includes(type)) ? body : undefined;
      },
      { what: 'IE928, IE028 and IE029 linked to the submission' },
    );
    expect(full.movement).toMatchObject({
      type: 'departure',
      id: accepted.movementId,
      status: 'released',
      boxId: accepted.boxId,
      requestId: accepted.requestId,
    });
    expect(
      full.messages.find((message: { type: string }) => message.type === 'IE015'),
    ).toMatchObject({ direction: 'outbound' });
    // HMRC gave the movement its MRN (IE028): the submission shows it, in full and in the list.
    expect(full.movement.movementReferenceNumber).toMatch(/^\d{2}GB/);
    expect(full.movementReferenceNumber).toBe(full.movement.movementReferenceNumber);
    const listed = await e2e.api(`/v1/submissions?lrn=${reference}`);
    expect(listed.body.submissions[0].movementReferenceNumber).toBe(
      full.movement.movementReferenceNumber,
    );

    const stored = await e2e.testDb.db
      .selectFrom('messages')
      .select(['message_type', 'box_id', 'request_id', 'source'])
      .where('movement_id', '=', accepted.movementId)
      .execute();
    expect(
      stored.every((row) => row.box_id === accepted.boxId && row.request_id === accepted.requestId),
    ).toBe(true);
    expect(departuresAtHmrcWithLrn(reference)).toHaveLength(1);
  });

  it('is rejected before queueing when it is not a valid declaration, with HMRC-like bodies', async () => {
    const malformed = await post(
      '/v1/departures',
      '<ncts:CC015C xmlns:ncts="http://ncts.dgtaxud.ec"><messageSender>',
    );
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'BAD_REQUEST' });

    const wrongRoot = await post('/v1/departures', buildMessage('IE007', { eori: traderEori }));
    expect(wrongRoot).toMatchObject({
      status: 400,
      body: {
        code: 'BAD_REQUEST',
        message:
          'IE007 is not a valid message type on POST /v1/departures: send it to POST /v1/arrivals',
      },
    });

    const schema = await post(
      '/v1/departures',
      declaration().replace(/<LRN>[^<]*<\/LRN>/, '<LRN></LRN>'),
    );
    expect(schema.status).toBe(400);
    expect(schema.body).toMatchObject({
      code: 'SCHEMA_VALIDATION',
      message: 'Request failed schema validation',
    });
    expect(schema.body.validationErrors[0]).toEqual({
      lineNumber: expect.any(Number),
      columnNumber: expect.any(Number),
      elementPath: '/CC015C/TransitOperation/LRN',
      message: expect.stringMatching(/^Element 'LRN'/),
    });
    expect(schema.body.validationErrors[0].columnNumber).toBeGreaterThan(0);

    const recipient = await post(
      '/v1/departures',
      declaration()
        .replace(
          '<messageRecipient>NTA.GB</messageRecipient>',
          '<messageRecipient>NTA.FR</messageRecipient>',
        )
        .replace(
          '<messageRecipient>NTA.XI</messageRecipient>',
          '<messageRecipient>NTA.FR</messageRecipient>',
        ),
    );
    expect(recipient.status).toBe(400);
    expect(recipient.body.code).toMatch(/BUSINESS_VALIDATION_ERROR|SCHEMA_VALIDATION/);

    const json = await post('/v1/departures', declaration(), {
      'content-type': 'application/json',
    });
    expect(json.status).toBe(415);

    const queued = await e2e.testDb.db
      .selectFrom('submissions')
      .select('id')
      .where('status', '=', 'queued')
      .execute();
    expect(queued).toHaveLength(0);
  });

  it('is rejected, not retried, when HMRC refuses it (duplicate LRN → 409)', async () => {
    const reference = lrn();
    const first = await post('/v1/departures', declaration(reference));
    await settled(first.body.submissionId);
    const second = await post('/v1/departures', declaration(reference));
    expect(second.status).toBe(202);
    const rejected = await settled(second.body.submissionId);
    expect(rejected).toMatchObject({
      status: 'rejected',
      hmrcResponse: { status: 409, code: 'CONFLICT' },
    });
    expect(rejected.attempts).toHaveLength(1);
  });
});

describe('idempotency', () => {
  it('returns the existing submission for the same key and body, 409 for another body', async () => {
    const key = randomUUID();
    const body = declaration();
    const first = await post('/v1/departures', body, { 'idempotency-key': key });
    const again = await post('/v1/departures', body, { 'idempotency-key': key });
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.body.submissionId).toBe(first.body.submissionId);
    const other = await post('/v1/departures', declaration(), { 'idempotency-key': key });
    expect(other).toMatchObject({
      status: 409,
      body: { code: 'CONFLICT', submissionId: first.body.submissionId },
    });
  });

  it('treats an identical body from the same trader as the same submission, even concurrently', async () => {
    const body = declaration();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => post('/v1/departures', body)),
    );
    const ids = new Set(results.map((result) => result.body.submissionId));
    expect(ids.size).toBe(1);
    expect(results.filter((result) => result.status === 202)).toHaveLength(1);
    expect(results.filter((result) => result.status === 200)).toHaveLength(4);
  });
});

describe('retries', () => {
  it('retries HMRC 5xx with growing delays until HMRC accepts', async () => {
    e2e.stack.sandbox!.controls.setFaults({
      api: {
        paths: '^/customs/transits/movements/departures$',
        errorRate: 1,
        errorStatuses: [503],
      },
    });
    const created = await post('/v1/departures', declaration());
    await waitFor(
      async () => {
        const { body } = await e2e.api(`/v1/submissions/${created.body.submissionId}`);
        return body.attempts.length >= 5 ? body : undefined;
      },
      { timeoutMs: 30_000, what: 'five failed attempts' },
    );
    e2e.stack.sandbox!.controls.clearFaults();
    const done = await settled(created.body.submissionId);
    expect(done.status).toBe('accepted');
    // The backoff is the pause between the end of one attempt and the start of the next.
    const pauses = done.attempts.slice(1).map((attempt: { at: string }, index: number) => {
      const previous = done.attempts[index] as { at: string; durationMs: number };
      return (
        new Date(attempt.at).getTime() - (new Date(previous.at).getTime() + previous.durationMs)
      );
    });
    expect(pauses.length).toBeGreaterThanOrEqual(4);
    // Pause n is [½, 1] × base × 2^(n-1) plus up to one rate-limit slot (~350 ms) to start:
    // the fourth pause (≥ 1.6 s) is well above the first (≤ 0.8 s).
    expect(pauses[3]).toBeGreaterThan(pauses[0] * 1.5);
    expect(
      done.attempts
        .slice(0, -1)
        .every(
          (attempt: { httpStatus: number | null }) =>
            attempt.httpStatus === 503 || attempt.httpStatus === null,
        ),
    ).toBe(true);
  }, 60_000);

  it('files a dead letter that names the submission and the cause when the attempts run out', async () => {
    e2e.stack.sandbox!.controls.setFaults({
      api: {
        paths: '^/customs/transits/movements/departures$',
        errorRate: 1,
        errorStatuses: [503],
      },
    });
    const created = await post('/v1/departures', declaration());
    const failed = await settled(created.body.submissionId, 45_000);
    e2e.stack.sandbox!.controls.clearFaults();
    expect(failed).toMatchObject({ status: 'failed', attemptCount: 6 });

    // Asked for as operators say it ("submission") or as it is filed ("submit").
    for (const kind of ['submission', 'submit']) {
      const { status, body } = await e2e.api(`/v1/dead-letters?kind=${kind}`);
      expect(status).toBe(200);
      const letter = body.deadLetters.find(
        (entry: { submissionId: string | null }) =>
          entry.submissionId === created.body.submissionId,
      );
      expect(letter).toMatchObject({
        kind: 'submit',
        submissionId: created.body.submissionId,
        // The cause of the last attempt (after a 503 we first ask HMRC whether it has the
        // declaration, and that list answers 503 too), not a generic RETRIES_EXHAUSTED.
        errorCode: expect.stringMatching(/^(HMRC_SERVER_ERROR|CHECK_FAILED)$/),
        errorMessage: expect.stringMatching(/^gave up after 6 attempts: .*503/),
        _links: { submission: { href: `/v1/submissions/${created.body.submissionId}` } },
      });
    }
    const unknown = await e2e.api('/v1/dead-letters?kind=submissions-please');
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toMatch(
      /^The kind parameter must be one of notification, fetch-message, submit, message, webhook, relay/,
    );
  }, 60_000);

  it('waits out 429s without spending attempts or losing the submission', async () => {
    e2e.stack.sandbox!.controls.setFaults({
      api: {
        paths: '^/customs/transits/movements/departures$',
        throttleRate: 1,
        retryAfterSeconds: 1,
      },
    });
    const created = await post('/v1/departures', declaration());
    await waitFor(
      async () => {
        const { body } = await e2e.api(`/v1/submissions/${created.body.submissionId}`);
        return body.attempts.filter(
          (attempt: { outcome: string }) => attempt.outcome === 'rate-limited',
        ).length >= 7
          ? body
          : undefined;
      },
      { timeoutMs: 60_000, what: 'seven 429s (more than SUBMIT_MAX_ATTEMPTS)' },
    );
    e2e.stack.sandbox!.controls.clearFaults();
    const done = await settled(created.body.submissionId);
    expect(done.status).toBe('accepted');
    expect(done.attemptCount).toBe(1);
  }, 90_000);

  it.each(['acceptThenTimeoutRate', 'acceptThenResetRate'] as const)(
    'does not send a second declaration when HMRC stored it but the answer was lost (%s)',
    async (fault) => {
      const reference = lrn();
      e2e.stack.sandbox!.controls.setFaults({
        api: { paths: '^/customs/transits/movements/departures$', [fault]: 1 },
      });
      const created = await post('/v1/departures', declaration(reference));
      await waitFor(
        async () => {
          const { body } = await e2e.api(`/v1/submissions/${created.body.submissionId}`);
          return body.attempts.length >= 1 ? body : undefined;
        },
        { timeoutMs: 15_000, what: 'the lost first attempt' },
      );
      e2e.stack.sandbox!.controls.clearFaults();
      const done = await settled(created.body.submissionId);
      expect(done.status).toBe('accepted');
      expect(done.attempts.map((attempt: { outcome: string }) => attempt.outcome)).toEqual([
        'unknown',
        'found-at-hmrc',
      ]);
      expect(departuresAtHmrcWithLrn(reference)).toHaveLength(1);
      expect(done.movementId).toBe(departuresAtHmrcWithLrn(reference)[0]!.id);
    },
    30_000,
  );

  it('refreshes the token once when HMRC answers 401', async () => {
    const before = await e2e.testDb.db
      .selectFrom('oauth_tokens')
      .select('refresh_count')
      .where('subject', '=', traderEori)
      .executeTakeFirstOrThrow();
    e2e.stack.sandbox!.controls.expireAccessTokens();
    const created = await post('/v1/departures', declaration());
    const done = await settled(created.body.submissionId);
    expect(done.status).toBe('accepted');
    const after = await e2e.testDb.db
      .selectFrom('oauth_tokens')
      .select('refresh_count')
      .where('subject', '=', traderEori)
      .executeTakeFirstOrThrow();
    expect(after.refresh_count).toBe(before.refresh_count + 1);
  });
});

describe('EORI scoping', () => {
  it('lets a key act only for its own EORIs, on submissions and reads', async () => {
    const forbidden = await post('/v1/departures', declaration(), {}, scopedKey);
    expect(forbidden).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    const withHeader = await post(
      '/v1/departures',
      declaration(),
      { 'x-trader-eori': traderEori },
      scopedKey,
    );
    expect(withHeader.status).toBe(403);

    const mine = await post('/v1/departures', declaration());
    const asOther = await fetch(`${e2e.stack.apiUrl}/v1/submissions/${mine.body.submissionId}`, {
      headers: { authorization: `Bearer ${scopedKey}` },
    });
    expect(asOther.status).toBe(404);
    const list = (await (
      await fetch(`${e2e.stack.apiUrl}/v1/submissions`, {
        headers: { authorization: `Bearer ${scopedKey}` },
      })
    ).json()) as { totalCount: number };
    expect(list.totalCount).toBe(0);
    const movements = (await (
      await fetch(`${e2e.stack.apiUrl}/customs/transits/movements/departures`, {
        // HMRC's read routes require HMRC's Accept (406 without it).
        headers: {
          authorization: `Bearer ${scopedKey}`,
          accept: 'application/vnd.hmrc.2.1+json',
        },
      })
    ).json()) as { totalCount: number };
    expect(movements.totalCount).toBe(0);
  });
});

describe('follow-ups and arrivals', () => {
  it("sends an IE014 invalidation for an accepted departure and links NCTS's answer", async () => {
    const created = await post('/v1/departures', declaration(lrn()));
    const accepted = await settled(created.body.submissionId);
    const invalidation = buildMessage('IE014', {
      lrn: accepted.localReferenceNumber,
      eori: traderEori,
    });
    const followUp = await post(`/v1/departures/${accepted.movementId}/messages`, invalidation);
    expect(followUp.status).toBe(202);
    const done = await settled(followUp.body.submissionId);
    expect(done).toMatchObject({
      status: 'accepted',
      movementId: accepted.movementId,
      messageType: 'IE014',
    });
    // IE009 when the IE014 beats the release, IE056 (014) after it (HMRC's trader test pack).
    await waitFor(
      async () => {
        const { body } = await e2e.api(`/v1/submissions/${followUp.body.submissionId}`);
        return body.messages.some((message: { type: string }) =>
          ['IE009', 'IE056'].includes(message.type),
        )
          ? body
          : undefined;
      },
      { what: 'IE009 or IE056 linked to the IE014 submission' },
    );
  });

  it('sends an arrival notification and follows it to goods released', async () => {
    const mrn = '24GB000000000000A1';
    const created = await post(
      '/v1/arrivals',
      buildMessage('IE007', { mrn: undefined, eori: traderEori }),
    );
    expect(created.status).toBe(202);
    const accepted = await settled(created.body.submissionId);
    expect(accepted).toMatchObject({ status: 'accepted', movementType: 'arrival' });
    void mrn;
    await waitFor(
      async () => {
        const { body } = await e2e.api(`/v1/submissions/${created.body.submissionId}`);
        return body.messages.some((message: { type: string }) => message.type === 'IE043')
          ? body
          : undefined;
      },
      { what: 'IE043 linked to the arrival' },
    );
  });
});
