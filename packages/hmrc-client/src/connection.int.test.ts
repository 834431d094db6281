// Risk retired: the api accepting work for an EORI whose stored HMRC authority cannot be used
// (or refusing one that can). eoriConnection decides from the row alone; each state here is a
// row as the token store leaves it.
import { createTestDatabase, type TestDatabase } from '@ctc-hub/testing';
import { sql } from 'kysely';
import { eoriConnection } from './connection.js';

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.destroy();
});

let next = 100_000_000_000;
/** A user token row (ciphertexts are not read: placeholders) with the given ages. */
async function stored(row: {
  accessExpiresIn: string;
  consentedAgo: string;
  refreshToken?: boolean;
  kind?: 'user' | 'application';
  verification?: 'unverified' | 'verified' | 'mismatched';
  vouched?: boolean;
  refusedAgo?: string;
}): Promise<string> {
  next += 1;
  const eori = `GB${next}`;
  await testDb.db
    .insertInto('oauth_tokens')
    .values({
      subject: eori,
      kind: row.kind ?? 'user',
      access_token: 'v1.k.access',
      refresh_token: row.refreshToken === false ? null : 'v1.k.refresh',
      scope: 'common-transit-convention-traders',
      access_expires_at: sql<Date>`now() + ${row.accessExpiresIn}::interval`,
      consented_at: sql<Date>`now() - ${row.consentedAgo}::interval`,
      refreshed_at: null,
      verification: row.verification ?? 'verified',
      vouched: row.vouched ?? false,
      refresh_refused_at:
        row.refusedAgo === undefined ? null : sql<Date>`now() - ${row.refusedAgo}::interval`,
      refresh_error: row.refusedAgo === undefined ? null : 'invalid_grant',
    })
    .execute();
  return eori;
}

it('is not-connected without a user token row', async () => {
  expect(await eoriConnection(testDb.db, 'GB999999999999')).toEqual({
    state: 'not-connected',
    eori: 'GB999999999999',
  });
  const application = await stored({
    accessExpiresIn: '1 hour',
    consentedAgo: '0',
    kind: 'application',
  });
  expect((await eoriConnection(testDb.db, application)).state).toBe('not-connected');
});

it('is connected with a valid access token, or an expired one it can refresh', async () => {
  const fresh = await stored({ accessExpiresIn: '1 hour', consentedAgo: '1 day' });
  expect(await eoriConnection(testDb.db, fresh)).toEqual({ state: 'connected', eori: fresh });
  const refreshable = await stored({ accessExpiresIn: '-1 hour', consentedAgo: '17 months' });
  expect((await eoriConnection(testDb.db, refreshable)).state).toBe('connected');
  // The worker uses a valid access token whatever its refresh token's state.
  const lastHours = await stored({
    accessExpiresIn: '1 hour',
    consentedAgo: '19 months',
    refreshToken: false,
  });
  expect((await eoriConnection(testDb.db, lastHours)).state).toBe('connected');
});

it('is consent-expired once 18 months have passed and the access token has expired', async () => {
  const eori = await stored({ accessExpiresIn: '-1 minute', consentedAgo: '18 months 1 day' });
  const connection = await eoriConnection(testDb.db, eori);
  expect(connection).toMatchObject({ state: 'consent-expired', eori });
  if (connection.state !== 'consent-expired') throw new Error('unreachable');
  const months =
    (connection.reconsentBy.getUTCFullYear() - connection.consentedAt.getUTCFullYear()) * 12 +
    connection.reconsentBy.getUTCMonth() -
    connection.consentedAt.getUTCMonth();
  expect(months).toBe(18);
});

it('is refresh-refused when HMRC refused the refresh token (none stored) and access expired', async () => {
  const eori = await stored({
    accessExpiresIn: '-1 minute',
    consentedAgo: '1 month',
    refreshToken: false,
  });
  expect(await eoriConnection(testDb.db, eori)).toEqual({ state: 'refresh-refused', eori });
});

it('is refresh-refused once HMRC refused a refresh, even while the access token has not expired', async () => {
  // After a sandbox restart HMRC refuses the access token (401), the forced refresh gets
  // invalid_grant: the access token's own expiry says nothing any more.
  const eori = await stored({
    accessExpiresIn: '3 hours',
    consentedAgo: '1 month',
    refreshToken: false,
    refusedAgo: '1 minute',
  });
  expect(await eoriConnection(testDb.db, eori)).toEqual({ state: 'refresh-refused', eori });
});

it("is mismatched once HMRC's answers showed the token is another trader's, whatever its expiry", async () => {
  const eori = await stored({
    accessExpiresIn: '1 hour',
    consentedAgo: '1 day',
    verification: 'mismatched',
    vouched: true,
  });
  expect(await eoriConnection(testDb.db, eori)).toEqual({ state: 'mismatched', eori });
});

it('is unverified while HMRC has not confirmed it and no operator vouches for it', async () => {
  const unvouched = await stored({
    accessExpiresIn: '1 hour',
    consentedAgo: '1 day',
    verification: 'unverified',
  });
  expect(await eoriConnection(testDb.db, unvouched)).toEqual({
    state: 'unverified',
    eori: unvouched,
  });
  const vouched = await stored({
    accessExpiresIn: '-1 hour',
    consentedAgo: '1 day',
    verification: 'unverified',
    vouched: true,
  });
  expect((await eoriConnection(testDb.db, vouched)).state).toBe('connected');
});
