// Risk retired: an operator cannot tell which traders' HMRC connections work, when their 18-month
// authority ends, or what to do about one HMRC refuses (invalid_grant after a sandbox restart);
// and a trader's key seeing another trader's connection.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { eoriA, eoriB, keys, startTestApi, type TestApi } from '../test-support/api.js';
import { seedConnection, seedDeadLetter, seedMovement } from '../test-support/seed.js';

let api: TestApi;
const refused = 'GB000000000003';
const expiring = 'GB000000000004';

beforeAll(async () => {
  api = await startTestApi();
  await seedConnection(api.db, eoriA);
  await seedConnection(api.db, eoriB);
  await seedConnection(api.db, refused);
  await seedConnection(api.db, expiring);
  // HMRC refused the refresh after a sandbox restart: the access token has hours "left".
  await api.db
    .updateTable('oauth_tokens')
    .set({
      refresh_token: null,
      refresh_refused_at: new Date('2026-12-06T09:00:00Z'),
      refresh_error: 'invalid_grant',
    })
    .where('subject', '=', refused)
    .execute();
  // Granted 17 months and 20 days ago: HMRC's authority ends in about 10 days.
  await api.db
    .updateTable('oauth_tokens')
    .set({ consented_at: sql<Date>`now() - interval '17 months 20 days'` })
    .where('subject', '=', expiring)
    .execute();
  await seedMovement(api.db, { enrollmentEori: eoriA });
  await seedMovement(api.db, { enrollmentEori: eoriA });
  await seedDeadLetter(api.db, {
    kind: 'submit',
    errorCode: 'RECONSENT_REQUIRED',
    errorMessage: 'gave up after 1 attempts: HMRC refused the refresh token',
    payload: { submissionId: randomUUID() },
    createdAt: new Date(),
    eori: refused,
  });
  await api.db
    .insertInto('reconcile_state')
    .values({
      scope: `ctc:${refused}:departure`,
      kind: 'ctc',
      last_run_at: new Date('2026-12-06T09:05:00Z'),
      last_success_at: new Date('2026-12-06T08:00:00Z'),
      last_error: 'reconsent-required: HMRC refused the refresh token (invalid_grant)',
    })
    .execute();
});
afterAll(async () => {
  await api.close();
});

describe('GET /v1/traders', () => {
  it('lists every connected trader, those needing action first, with what to do', async () => {
    const response = await api.get('/v1/traders');
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.totalCount).toBe(4);
    expect(body.needingAction).toBe(2);
    expect(body.traders.map((trader: { eori: string }) => trader.eori)).toEqual([
      refused,
      expiring,
      eoriA,
      eoriB,
    ]);
    const [broken, soon, healthy] = body.traders;
    expect(broken).toMatchObject({
      tokenState: 'refresh-failed',
      needsAction: true,
      token: { refreshError: 'invalid_grant', refreshRefusedAt: '2026-12-06T09:00:00.000Z' },
      lastHmrcCall: {
        what: 'reconciliation of departures',
        outcome: 'failed',
        at: '2026-12-06T09:05:00.000Z',
      },
      counts: { deadLetters: { open: 1, total: 1 } },
      _links: { connect: { href: `/oauth/hmrc/start?eori=${refused}` } },
    });
    expect(broken.attention[0]).toMatchObject({
      severity: 'action',
      problem: expect.stringContaining('invalid_grant'),
      fix: expect.stringContaining(`/oauth/hmrc/start?eori=${refused}`),
      href: `/oauth/hmrc/start?eori=${refused}`,
    });
    expect(soon).toMatchObject({
      tokenState: 'valid',
      needsAction: true,
      consent: { expiringSoon: true },
      attention: [expect.objectContaining({ severity: 'warning' })],
    });
    expect(soon.consent.daysLeft).toBeGreaterThanOrEqual(9);
    expect(soon.consent.daysLeft).toBeLessThanOrEqual(11);
    expect(healthy).toMatchObject({
      eori: eoriA,
      tokenState: 'valid',
      needsAction: false,
      attention: [],
      counts: { movements: 2, submissions: { total: 0 }, deadLetters: { open: 0 } },
      consent: { expiringSoon: false },
    });
    // HMRC's authority lasts 18 months from the grant.
    const granted = new Date(healthy.connectedAt);
    const ends = new Date(healthy.consent.expiresAt);
    expect(
      (ends.getUTCFullYear() - granted.getUTCFullYear()) * 12 +
        ends.getUTCMonth() -
        granted.getUTCMonth(),
    ).toBe(18);
  });

  it('filters by token state and need of action, and refuses values it does not know', async () => {
    const only = async (query: string) =>
      (await (await api.get(`/v1/traders?${query}`)).json()).traders.map(
        (trader: { eori: string }) => trader.eori,
      );
    expect(await only('tokenState=refresh-failed')).toEqual([refused]);
    expect(await only('needsAction=false')).toEqual([eoriA, eoriB]);
    expect(await only('count=1&page=2')).toEqual([expiring]);
    const bad = await api.get('/v1/traders?tokenState=broken');
    expect(bad.status).toBe(400);
    expect((await bad.json()).message).toBe(
      'The tokenState parameter must be one of valid, unverified, refresh-failed, consent-expired, mismatched, not-connected',
    );
  });

  it('shows a scoped key only its own EORIs', async () => {
    const body = await (await api.get('/v1/traders', { key: keys.a })).json();
    expect(body.traders.map((trader: { eori: string }) => trader.eori)).toEqual([eoriA]);
    expect((await api.get(`/v1/traders/${eoriB}`, { key: keys.a })).status).toBe(404);
    expect((await api.get(`/v1/traders/${refused}`, { key: keys.a })).status).toBe(404);
  });
});

describe('GET /v1/traders/{eori}', () => {
  it('shows one trader, whatever the case of the EORI', async () => {
    const response = await api.get(`/v1/traders/${refused.toLowerCase()}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ eori: refused, tokenState: 'refresh-failed' });
  });

  it('answers 404 with the connect link for an EORI nothing names, 400 for a malformed one', async () => {
    const unknown = await api.get('/v1/traders/GB999999999999');
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).message).toContain('/oauth/hmrc/start?eori=GB999999999999');
    expect((await api.get('/v1/traders/not-an-eori')).status).toBe(400);
  });
});
