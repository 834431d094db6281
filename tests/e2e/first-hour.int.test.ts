// Risk retired: a new user's first declarations answered 202 and then failing for minutes
// because of their EORI. A malformed EORI is refused at once, naming where it came from; an
// EORI without a usable HMRC connection (never connected, consent past 18 months, refresh
// refused for good) gets 409 EORI_NOT_CONNECTED with the connect link before anything is
// queued, on declarations and balance checks alike, and goes through once connected. Also: a
// declaration in UTF-16 is refused naming UTF-8; an ASCII one declared ISO-8859-1 reaches HMRC.
import { randomUUID } from 'node:crypto';
import { buildMessage } from '@ctc-hub/ncts-testkit';
import { createQueue, createRedis, queueNames } from '@ctc-hub/queue';
import { waitFor } from '@ctc-hub/testing';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import { connectEori } from '../../scripts/stack.js';
import { startE2E, type E2E } from './support.js';

let e2e: E2E;
let connection: Redis;
let hmrcQueue: Queue;
beforeAll(async () => {
  // No reconciliation: its sweeps would refresh the tokens these tests age on purpose.
  e2e = await startE2E({ RECONCILE_ENABLED: 'false' });
  connection = createRedis(e2e.redis.url, 'producer');
  hmrcQueue = createQueue(queueNames.hmrc, connection, e2e.redis.prefix);
}, 60_000);
afterAll(async () => {
  await hmrcQueue?.close();
  connection?.disconnect();
  await e2e?.stop();
});

const lrn = () => `FH${randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase()}`;

async function call(
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${e2e.stack.apiUrl}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${e2e.stack.apiKey}`,
      'content-type': 'application/xml',
      ...headers,
    },
    body,
  });
  return { status: response.status, body: await response.json() };
}

const submissionsFor = async (eori: string) =>
  (
    await e2e.testDb.db
      .selectFrom('submissions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('eori', '=', eori)
      .executeTakeFirstOrThrow()
  ).n;

/** Submit jobs ever added to the hmrc queue (finished ones are kept for an hour). */
const submitJobs = async () =>
  (
    await hmrcQueue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'])
  ).filter((job) => job.name === 'submit').length;

const atHmrc = (reference: string) =>
  e2e.stack
    .sandbox!.controls.movements()
    .filter((movement) => movement.type === 'departure' && movement.lrn === reference);

const notConnected = (eori: string, reason: string) => ({
  code: 'EORI_NOT_CONNECTED',
  message: expect.stringContaining(`GET /oauth/hmrc/start?eori=${eori}`),
  eori,
  reason,
  _links: { connect: { href: `/oauth/hmrc/start?eori=${eori}` } },
});

describe('a malformed EORI', () => {
  it('in X-Trader-EORI is refused at once, before the declaration is read', async () => {
    const answer = await call('/v1/departures', 'not even XML', { 'x-trader-eori': 'GB-123' });
    expect(answer).toEqual({
      status: 400,
      body: {
        code: 'BAD_REQUEST',
        message:
          'X-Trader-EORI must be an EORI: two letters then up to 15 letters or digits, such as GB123456789000',
      },
    });
  });

  it('in the declaration, without X-Trader-EORI, is refused naming the element', async () => {
    // Schema-valid (the holder's identificationNumber is up to 17 letters or digits) but no EORI.
    const xml = buildMessage('IE015', { lrn: lrn(), eori: '123456789000' });
    const answer = await call('/v1/departures', xml);
    expect(answer).toEqual({
      status: 400,
      body: {
        code: 'BAD_REQUEST',
        message:
          'The trader EORI was taken from HolderOfTheTransitProcedure/identificationNumber, which ' +
          'is not an EORI: two letters then up to 15 letters or digits, such as GB123456789000. ' +
          'Send X-Trader-EORI with the EORI whose HMRC connection to use.',
      },
    });
    expect(await submissionsFor('123456789000')).toBe(0);
  });
});

describe('an EORI without a usable HMRC connection', () => {
  it('gets 409 with the connect link and nothing queued, then goes through once connected', async () => {
    const eori = 'GB333333333333';
    const reference = lrn();
    const xml = buildMessage('IE015', { lrn: reference, eori });
    const jobsBefore = await submitJobs();

    const refused = await call('/v1/departures', xml, { 'x-trader-eori': eori });
    expect(refused).toEqual({ status: 409, body: notConnected(eori, 'not-connected') });
    expect(refused.body.message).toMatch(/^EORI GB333333333333 is not connected to HMRC/);
    expect(await submissionsFor(eori)).toBe(0);
    expect(await submitJobs()).toBe(jobsBefore);

    await connectEori(e2e.stack, eori);
    const accepted = await call('/v1/departures', xml, { 'x-trader-eori': eori });
    expect(accepted.status).toBe(202);
    expect(await submissionsFor(eori)).toBe(1);
  });

  it('says so when consent is past 18 months or HMRC refused the refresh, for balances too', async () => {
    const eori = 'GB444444444444';
    await connectEori(e2e.stack, eori);
    const xml = buildMessage('IE015', { lrn: lrn(), eori });
    const tokens = e2e.testDb.db.updateTable('oauth_tokens').where('subject', '=', eori);

    // Granted 19 months ago, access token expired: HMRC would refuse to refresh it.
    await tokens
      .set({
        consented_at: sql<Date>`now() - interval '19 months'`,
        access_expires_at: sql<Date>`now() - interval '1 minute'`,
      })
      .execute();
    const expired = await call('/v1/departures', xml, { 'x-trader-eori': eori });
    expect(expired).toEqual({ status: 409, body: notConnected(eori, 'consent-expired') });
    expect(expired.body.message).toMatch(/after 18 months/);
    const balance = await call(
      '/v1/guarantees/24GB0000010000001/balance',
      '{"accessCode":"AC01"}',
      {
        'content-type': 'application/json',
        'x-trader-eori': eori,
      },
    );
    expect(balance).toEqual({ status: 409, body: notConnected(eori, 'consent-expired') });

    // A recent consent whose refresh token HMRC refused (invalid_grant forgets it).
    await tokens.set({ consented_at: sql<Date>`now()`, refresh_token: null }).execute();
    const refused = await call('/v1/departures', xml, { 'x-trader-eori': eori });
    expect(refused).toEqual({ status: 409, body: notConnected(eori, 'refresh-refused') });
    expect(await submissionsFor(eori)).toBe(0);
  });

  it('still returns an earlier submission to a client repeating its request', async () => {
    const eori = 'GB555555555555';
    await connectEori(e2e.stack, eori);
    const xml = buildMessage('IE015', { lrn: lrn(), eori });
    const headers = { 'x-trader-eori': eori, 'idempotency-key': `first-hour-${randomUUID()}` };
    const first = await call('/v1/departures', xml, headers);
    expect(first.status).toBe(202);

    await e2e.testDb.db
      .updateTable('oauth_tokens')
      .set({ refresh_token: null, access_expires_at: sql<Date>`now() - interval '1 minute'` })
      .where('subject', '=', eori)
      .execute();
    const repeated = await call('/v1/departures', xml, headers);
    expect(repeated.status).toBe(200);
    expect(repeated.body.submissionId).toBe(first.body.submissionId);
    const another = await call('/v1/departures', buildMessage('IE015', { lrn: lrn(), eori }), {
      'x-trader-eori': eori,
    });
    expect(another.status).toBe(409);
    expect(another.body.code).toBe('EORI_NOT_CONNECTED');
  });
});

describe('character encodings', () => {
  const eori = 'GB123456789000';

  it('refuses a UTF-16 declaration naming UTF-8, and sends nothing to HMRC', async () => {
    const reference = lrn();
    const xml = buildMessage('IE015', { lrn: reference, eori });
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);
    const answer = await call('/v1/departures', utf16, { 'x-trader-eori': eori });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: 'BAD_REQUEST', message: 'Input was malformed' });
    expect(answer.body.validationErrors[0].message).toMatch(/UTF-16.*only in UTF-8/);
    expect(atHmrc(reference)).toEqual([]);
  });

  it('sends an ASCII declaration declared ISO-8859-1 to HMRC unchanged', async () => {
    const reference = lrn();
    const xml = Buffer.from(
      `<?xml version="1.0" encoding="ISO-8859-1"?>\n${buildMessage('IE015', { lrn: reference, eori }).replace(/^<\?xml[^>]*>\s*/, '')}`,
      'latin1',
    );
    const answer = await call('/v1/departures', xml, { 'x-trader-eori': eori });
    expect(answer.status).toBe(202);
    const [movement] = await waitFor(
      () => (atHmrc(reference).length > 0 ? atHmrc(reference) : undefined),
      {
        timeoutMs: 20_000,
        what: `declaration ${reference} at HMRC`,
      },
    );
    expect(movement!.messages[0]!.body!.equals(xml)).toBe(true);
  });
});
