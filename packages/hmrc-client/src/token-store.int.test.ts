// Risks retired: HMRC refresh tokens are single use, so two replicas refreshing the same trader at
// once would lock that trader out until they consent again; tokens must be stored encrypted, the
// rotated pair must be persisted, and "consent again" must be told apart from "try later".
import { randomBytes } from 'node:crypto';
import { createDb, type Db } from '@ctc-hub/db';
import { createTestDatabase, type TestDatabase } from '@ctc-hub/testing';
import { sql } from 'kysely';
import { Agent } from 'undici';
import { OAuthClient } from './oauth-client.js';
import { sendJson, startLocalServer, type LocalServer } from './test-support/local-server.js';
import { createTestMeter } from './test-support/metrics.js';
import { TokenCipher } from './token-crypto.js';
import { TokenStore, type TokenStoreOptions } from './token-store.js';

const eori = 'GB123456789000';
const key = randomBytes(32);
const dispatcher = new Agent({ keepAliveTimeout: 10 });

/** HMRC's token endpoint as it behaves: every refresh token works once, then invalid_grant. */
interface FakeTokenEndpoint {
  valid: Set<string>;
  refreshCalls: string[];
  clientCredentialsCalls: number;
  issued: number;
  mode: 'ok' | 'unavailable' | 'invalid_grant';
  delayMs: number;
}

let testDb: TestDatabase;
let server: LocalServer;
let fake: FakeTokenEndpoint;
let nowMs: number;
const extraDbs: Db[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase();
  server = await startLocalServer(async (request, response) => {
    const form = new URLSearchParams(request.body.toString('utf8'));
    if (form.get('client_secret') !== 'secret')
      return sendJson(response, 401, { error: 'invalid_client' });
    if (fake.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, fake.delayMs));
    if (fake.mode === 'unavailable')
      return sendJson(response, 503, { code: 'SERVER_ERROR', message: 'down' });
    if (form.get('grant_type') === 'client_credentials') {
      fake.clientCredentialsCalls += 1;
      return sendJson(response, 200, {
        access_token: `app-${fake.clientCredentialsCalls}`,
        expires_in: 14400,
        scope: form.get('scope'),
        token_type: 'bearer',
      });
    }
    const refreshToken = form.get('refresh_token') ?? '';
    fake.refreshCalls.push(refreshToken);
    if (fake.mode === 'invalid_grant' || !fake.valid.delete(refreshToken)) {
      return sendJson(response, 400, {
        error: 'invalid_grant',
        error_description: 'refresh token is invalid',
      });
    }
    fake.issued += 1;
    fake.valid.add(`refresh-${fake.issued}`);
    return sendJson(response, 200, {
      access_token: `access-${fake.issued}`,
      refresh_token: `refresh-${fake.issued}`,
      expires_in: 14400,
      scope: 'common-transit-convention-traders',
      token_type: 'bearer',
    });
  });
});

afterAll(async () => {
  await Promise.all(extraDbs.map((db) => db.destroy()));
  await server.close();
  await dispatcher.close();
  await testDb.destroy();
});

beforeEach(async () => {
  fake = {
    valid: new Set(),
    refreshCalls: [],
    clientCredentialsCalls: 0,
    issued: 0,
    mode: 'ok',
    delayMs: 0,
  };
  nowMs = Date.parse('2026-05-01T12:00:00Z');
  await sql`TRUNCATE oauth_tokens`.execute(testDb.db);
});

/** One worker replica: its own connection pool, OAuth client and token store. */
function replica(overrides: Partial<TokenStoreOptions> = {}, db: Db = testDb.db): TokenStore {
  const oauth = new OAuthClient({
    apiBaseUrl: server.url,
    clientId: 'client-id',
    clientSecret: 'secret',
    redirectUri: 'http://localhost:8081/oauth/hmrc/callback',
    timeoutMs: 5000,
    dispatcher,
    now: () => nowMs,
  });
  return new TokenStore({
    db,
    cipher: new TokenCipher([key]),
    oauth,
    now: () => nowMs,
    ...overrides,
  });
}

function ownPool(): Db {
  const db = createDb({ url: testDb.url, poolMax: 3 });
  extraDbs.push(db);
  return db;
}

/** A connected trader whose access token expires in `expiresInMs`, holding refresh-0. */
async function connect(store: TokenStore, expiresInMs: number): Promise<void> {
  fake.valid.add('refresh-0');
  await store.saveUserTokens(eori, {
    accessToken: 'access-0',
    refreshToken: 'refresh-0',
    expiresAt: new Date(nowMs + expiresInMs),
    tokenType: 'bearer',
  });
}

const row = (subject = eori) =>
  testDb.db
    .selectFrom('oauth_tokens')
    .selectAll()
    .where('subject', '=', subject)
    .executeTakeFirstOrThrow();

it('stores tokens encrypted, with consented_at = now', async () => {
  const store = replica();
  await connect(store, 4 * 3600_000);
  const stored = await row();
  expect(stored.kind).toBe('user');
  expect(stored.access_token).toMatch(/^v1\./);
  expect(stored.access_token).not.toContain('access-0');
  expect(stored.refresh_token).not.toContain('refresh-0');
  expect(stored.consented_at.getTime()).toBe(nowMs);
  expect(stored.refresh_count).toBe(0);

  expect(await store.getAccessToken(eori)).toEqual({
    ok: true,
    accessToken: 'access-0',
    expiresAt: new Date(nowMs + 4 * 3600_000),
    connectionId: stored.connection_id,
    verification: 'unverified',
    vouched: false,
  });
  expect(fake.refreshCalls).toHaveLength(0);
});

it('makes every consent a new, unverified connection; a mismatched one is never used', async () => {
  const store = replica();
  await connect(store, 4 * 3600_000);
  const first = (await row()).connection_id;
  await testDb.db
    .updateTable('oauth_tokens')
    .set({ verification: 'mismatched', observed_eori: 'GB900000000009' })
    .execute();
  expect(await store.getAccessToken(eori)).toEqual({
    ok: false,
    error: {
      kind: 'mismatched',
      subject: eori,
      observedEori: 'GB900000000009',
      message: expect.stringContaining('belongs to GB900000000009'),
    },
  });
  // Not even after a 401: a refresh would spend the other trader's refresh token.
  expect(await store.forceRefresh(eori, 'access-0')).toMatchObject({
    ok: false,
    error: { kind: 'mismatched' },
  });
  expect(fake.refreshCalls).toHaveLength(0);

  // A new consent is a new connection, unverified again.
  await connect(store, 4 * 3600_000);
  const again = await row();
  expect(again.connection_id).not.toBe(first);
  expect(again.verification).toBe('unverified');
  expect(await store.getAccessToken(eori)).toMatchObject({ ok: true, verification: 'unverified' });
});

it('answers not-connected for an EORI without tokens', async () => {
  expect(await replica().getAccessToken('GB999999999999')).toMatchObject({
    ok: false,
    error: { kind: 'not-connected', subject: 'GB999999999999' },
  });
});

it('10 concurrent callers on 5 replicas refresh an expiring token exactly once', async () => {
  const replicas = Array.from({ length: 5 }, () => replica({}, ownPool()));
  await connect(replicas[0]!, 30_000); // inside the 60 s margin
  fake.delayMs = 200; // widen the window in which a second refresh could start

  const results = await Promise.all(
    Array.from({ length: 10 }, (_, index) => replicas[index % 5]!.getAccessToken(eori)),
  );

  expect(fake.refreshCalls).toEqual(['refresh-0']);
  for (const result of results) expect(result).toMatchObject({ ok: true, accessToken: 'access-1' });
  const stored = await row();
  expect(stored.refresh_count).toBe(1);
  expect(stored.refreshed_at?.getTime()).toBe(nowMs);
  expect(stored.consented_at.getTime()).toBe(nowMs); // a refresh is not a new consent
});

it('persists the rotated pair and spends the new refresh token next time', async () => {
  const store = replica();
  await connect(store, 10_000);
  expect(await store.getAccessToken(eori)).toMatchObject({ ok: true, accessToken: 'access-1' });

  // A different process (fresh store, same database) reads what was persisted.
  nowMs += 4 * 3600_000;
  const other = replica();
  expect(await other.getAccessToken(eori)).toMatchObject({ ok: true, accessToken: 'access-2' });
  expect(fake.refreshCalls).toEqual(['refresh-0', 'refresh-1']);
  const stored = await row();
  expect(stored.refresh_count).toBe(2);
  const cipher = new TokenCipher([key]);
  expect(cipher.decrypt(stored.refresh_token!, `oauth_tokens:${eori}:refresh_token`)).toEqual({
    ok: true,
    plaintext: 'refresh-2',
  });
});

it('surfaces invalid_grant as reconsent-required and stops calling HMRC', async () => {
  const testMeter = createTestMeter();
  const store = replica({ meter: testMeter.meter });
  await connect(store, 0);
  fake.mode = 'invalid_grant';

  expect(await store.getAccessToken(eori)).toMatchObject({
    ok: false,
    error: { kind: 'reconsent-required', reason: 'invalid_grant', subject: eori },
  });
  expect(await row()).toMatchObject({
    refresh_token: null,
    refresh_error: 'invalid_grant',
    refresh_refused_at: expect.any(Date),
  });
  // A later caller (a declaration behind the task that was refused) is told the cause too.
  expect(await store.getAccessToken(eori)).toMatchObject({
    ok: false,
    error: {
      kind: 'reconsent-required',
      reason: 'no-refresh-token',
      message: expect.stringMatching(/HMRC refused the last refresh \(invalid_grant\)/),
    },
  });
  expect(fake.refreshCalls).toHaveLength(1);

  const failures = await testMeter.points('hmrc_token_refresh_failures');
  expect(failures).toEqual(
    expect.arrayContaining([
      { attributes: { kind: 'user', reason: 'invalid_grant' }, value: 1 },
      { attributes: { kind: 'user', reason: 'no_refresh_token' }, value: 1 },
    ]),
  );
  await testMeter.provider.shutdown();
});

it('a transient failure is retryable and keeps the refresh token', async () => {
  const store = replica();
  await connect(store, 0);
  fake.mode = 'unavailable';
  expect(await store.getAccessToken(eori)).toMatchObject({
    ok: false,
    error: { kind: 'refresh-failed', retryable: true, cause: { kind: 'unavailable' } },
  });
  const stored = await row();
  expect(stored.refresh_count).toBe(0);
  expect(stored.refresh_token).not.toBeNull();

  fake.mode = 'ok';
  expect(await store.getAccessToken(eori)).toMatchObject({ ok: true, accessToken: 'access-1' });
});

it('forceRefresh after a 401 refreshes once for many callers, and not at all if already replaced', async () => {
  const replicas = [replica({}, ownPool()), replica({}, ownPool())];
  await connect(replicas[0]!, 4 * 3600_000); // valid, but HMRC answered 401 to it
  fake.delayMs = 100;
  const results = await Promise.all(
    Array.from({ length: 6 }, (_, index) => replicas[index % 2]!.forceRefresh(eori, 'access-0')),
  );
  expect(fake.refreshCalls).toEqual(['refresh-0']);
  for (const result of results) expect(result).toMatchObject({ ok: true, accessToken: 'access-1' });

  // A job still holding access-0 gets the replacement without another refresh.
  expect(await replicas[1]!.forceRefresh(eori, 'access-0')).toMatchObject({
    ok: true,
    accessToken: 'access-1',
  });
  expect(fake.refreshCalls).toHaveLength(1);
});

it('caches the client-credentials token under application:<clientId>', async () => {
  const replicas = [replica({}, ownPool()), replica({}, ownPool())];
  fake.delayMs = 100;
  const results = await Promise.all(
    Array.from({ length: 6 }, (_, index) => replicas[index % 2]!.getApplicationToken()),
  );
  expect(fake.clientCredentialsCalls).toBe(1);
  for (const result of results) expect(result).toMatchObject({ ok: true, accessToken: 'app-1' });
  const stored = await row('application:client-id');
  expect(stored.kind).toBe('application');
  expect(stored.refresh_token).toBeNull();
  expect(stored.scope).toBe('read:pull-notifications write:notifications');

  nowMs += 4 * 3600_000;
  expect(await replicas[0]!.getApplicationToken()).toMatchObject({
    ok: true,
    accessToken: 'app-2',
  });
  expect(await replicas[1]!.forceApplicationRefresh('app-2')).toMatchObject({
    ok: true,
    accessToken: 'app-3',
  });
  expect((await row('application:client-id')).refresh_count).toBe(3);
});

it('gives up waiting for another process after lockTimeoutMs with a retryable error', async () => {
  const store = replica({ lockTimeoutMs: 200 });
  await connect(store, 0);
  const holder = ownPool();
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const holding = holder.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`ctc-hub:oauth_tokens:${eori}`}, 0))`.execute(
      trx,
    );
    locked();
    await released;
  });
  await isLocked;
  expect(await store.getAccessToken(eori)).toMatchObject({
    ok: false,
    error: { kind: 'refresh-failed', retryable: true },
  });
  release();
  await holding;
  expect(fake.refreshCalls).toHaveLength(0);
});

it('lists traders near the 18-month limit and sets the gauge', async () => {
  const testMeter = createTestMeter();
  const store = replica({ meter: testMeter.meter });
  const at = (months: number) =>
    sql<Date>`${new Date(nowMs)}::timestamptz - make_interval(months => ${months})`;
  const tokens = {
    accessToken: 'a',
    refreshToken: 'r',
    expiresAt: new Date(nowMs),
    tokenType: 'bearer',
  };
  for (const subject of ['GB000000000001', 'GB000000000002', 'GB000000000003'])
    await store.saveUserTokens(subject, tokens);
  await testDb.db
    .updateTable('oauth_tokens')
    .set({ consented_at: at(17) })
    .where('subject', '=', 'GB000000000001')
    .execute();
  await testDb.db
    .updateTable('oauth_tokens')
    .set({ consented_at: at(10) })
    .where('subject', '=', 'GB000000000002')
    .execute();
  await testDb.db
    .updateTable('oauth_tokens')
    .set({ consented_at: at(19) })
    .where('subject', '=', 'GB000000000003')
    .execute();
  await store.getApplicationToken(); // application tokens never need consent

  const near = await store.listTokensNearReconsent(45);
  expect(near.map((entry) => [entry.eori, entry.expired])).toEqual([
    ['GB000000000003', true],
    ['GB000000000001', false],
  ]);
  const first = near[1]!;
  expect(first.reconsentBy.getTime() - first.consentedAt.getTime()).toBeGreaterThan(
    540 * 86_400_000,
  );
  expect(await testMeter.points('hmrc_tokens_near_reconsent')).toEqual([
    { attributes: { days: 45 }, value: 2 },
  ]);
  await testMeter.provider.shutdown();
});

describe('key rotation', () => {
  it('reads tokens written with an old key, re-encrypts them, then works without the old key', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const before = replica({ cipher: new TokenCipher([oldKey]) });
    await connect(before, 4 * 3600_000);

    const rotating = replica({ cipher: new TokenCipher([newKey, oldKey]) });
    expect(await rotating.getAccessToken(eori)).toMatchObject({
      ok: true,
      accessToken: 'access-0',
    });
    expect(await rotating.reencryptTokens()).toEqual({ reencrypted: 1, failed: [] });
    expect(await rotating.reencryptTokens()).toEqual({ reencrypted: 0, failed: [] });

    const after = replica({ cipher: new TokenCipher([newKey]) });
    expect(await after.getAccessToken(eori)).toMatchObject({ ok: true, accessToken: 'access-0' });
    nowMs += 4 * 3600_000;
    expect(await after.getAccessToken(eori)).toMatchObject({ ok: true, accessToken: 'access-1' });
    expect(fake.refreshCalls).toEqual(['refresh-0']);
  });

  it('a missing key is a clear undecryptable error, never a refresh attempt', async () => {
    await connect(replica({ cipher: new TokenCipher([randomBytes(32)]) }), 0);
    const result = await replica({ cipher: new TokenCipher([randomBytes(32)]) }).getAccessToken(
      eori,
    );
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'undecryptable', message: expect.stringContaining('TOKEN_ENCRYPTION_KEYS') },
    });
    expect(fake.refreshCalls).toHaveLength(0);
  });
});
