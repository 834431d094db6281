// Risks retired: a trader's EORI gets connected to HMRC only through a flow started by an API key
// allowed to see that EORI, and finished in the browser that started it; the state works once and
// only until it expires; the tokens land encrypted under the right EORI as a new, unverified
// connection whose check is queued; HMRC's refusals and outages give the user a clear answer.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadApiConfig } from '@ctc-hub/config';
import { tokenCipherFromConfig } from '@ctc-hub/hmrc-client';
import { createLogger } from '@ctc-hub/telemetry';
import { createTestDatabase, type TestDatabase } from '@ctc-hub/testing';
import express from 'express';
import { sql } from 'kysely';
import { parseApiKeys } from '../http/auth.js';
import type { ApiDeps } from '../deps.js';
import { errorHandler } from '../http/errors.js';
import { oauthCallbackRoutes, oauthStartRoutes, requireConnectKey } from './routes.js';

const eoriA = 'GB000000000001';
const eoriB = 'GB000000000002';
const keys = { all: 'key-all', a: 'key-a' };
const encryptionKey = 'ab'.repeat(32);

/** HMRC's token endpoint: records each form, answers as `tokenReply` says. */
let tokenForms: Record<string, string>[] = [];
let tokenReply: { status: number; body: unknown; delayMs?: number };

/** Jobs the callback queued on the hmrc queue. */
let queued: { name: string; data: unknown; jobId: string | undefined }[] = [];

let testDb: TestDatabase;
let hmrc: Server;
let api: Server;
let apiUrl: string;

beforeAll(async () => {
  testDb = await createTestDatabase();
  hmrc = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url !== '/oauth/token') {
        response.writeHead(404).end();
        return;
      }
      tokenForms.push(
        Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
      );
      setTimeout(() => {
        response.writeHead(tokenReply.status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(tokenReply.body));
      }, tokenReply.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => hmrc.listen(0, '127.0.0.1', resolve));
  const hmrcUrl = `http://127.0.0.1:${(hmrc.address() as AddressInfo).port}`;

  const config = loadApiConfig({
    DATABASE_URL: testDb.url,
    API_KEYS: `${keys.all}:*,${keys.a}:${eoriA}`,
    HMRC_API_BASE_URL: hmrcUrl,
    HMRC_AUTH_BASE_URL: 'https://auth.example.test',
    HMRC_CLIENT_ID: 'client-id',
    HMRC_CLIENT_SECRET: 'client-secret',
    HMRC_REDIRECT_URI: 'https://hub.example.test/oauth/hmrc/callback',
    TOKEN_ENCRYPTION_KEY: encryptionKey,
    OAUTH_STATE_TTL_SECONDS: '600',
    HMRC_USER_SCOPES: 'common-transit-convention-traders',
  });
  const deps: ApiDeps = {
    config,
    db: testDb.db,
    // Not used by the OAuth routes.
    redis: undefined as never,
    ingestQueue: undefined as never,
    hmrcQueue: {
      add: async (name: string, data: unknown, opts?: { jobId?: string }) => {
        queued.push({ name, data, jobId: opts?.jobId });
        return { id: opts?.jobId };
      },
    } as never,
    validator: undefined as never,
    parser: undefined as never,
    opsQueue: undefined as never,
    logger: createLogger({ service: 'api-test', level: 'silent' }),
  };
  // Mounted as app.ts mounts them: the callback without an API key, start behind it.
  const app = express();
  app.set('query parser', 'simple');
  app.use(oauthCallbackRoutes(deps));
  app.use('/oauth/hmrc/start', requireConnectKey(parseApiKeys(config.API_KEYS)));
  app.use(oauthStartRoutes(deps));
  app.use(errorHandler(deps.logger));
  api = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});

afterAll(async () => {
  api.closeAllConnections();
  hmrc.closeAllConnections();
  await new Promise((resolve) => api.close(resolve));
  await new Promise((resolve) => hmrc.close(resolve));
  await testDb.destroy();
});

beforeEach(async () => {
  tokenForms = [];
  queued = [];
  tokenReply = {
    status: 200,
    body: {
      access_token: 'access-from-code',
      refresh_token: 'refresh-from-code',
      expires_in: 14400,
      scope: 'common-transit-convention-traders',
      token_type: 'bearer',
    },
  };
  await sql`TRUNCATE oauth_states, oauth_tokens, audit_log`.execute(testDb.db);
});

/** GET /oauth/hmrc/start; `key: null` sends no Authorization header. */
const start = (eori: string, key: string | null = keys.all) =>
  fetch(`${apiUrl}/oauth/hmrc/start?eori=${encodeURIComponent(eori)}`, {
    redirect: 'manual',
    headers: key === null ? {} : { authorization: `Bearer ${key}` },
  });

/** The binding cookie the browser that started the flow holds, as `name=value`. */
let browserCookie: string | undefined;

/** The callback as a browser brings it back; by default the one that started the last flow. */
const callback = (
  query: string,
  accept = 'application/json',
  /** null: a browser without the cookie. */
  cookie: string | null = browserCookie ?? null,
) =>
  fetch(`${apiUrl}/oauth/hmrc/callback?${query}`, {
    redirect: 'manual',
    headers: { accept, ...(cookie === null ? {} : { cookie }) },
  });

const bindingCookieOf = (response: Response): string | undefined =>
  response.headers
    .getSetCookie()
    .find((line) => line.startsWith('__Host-ctc-oauth-'))
    ?.split(';')[0];

/** Starts a flow and returns the state HMRC would send back; the browser keeps the cookie. */
async function startedState(eori = eoriA): Promise<string> {
  const response = await start(eori);
  expect(response.status).toBe(302);
  browserCookie = bindingCookieOf(response);
  return new URL(response.headers.get('location')!).searchParams.get('state')!;
}

const states = () => testDb.db.selectFrom('oauth_states').selectAll().execute();

describe('GET /oauth/hmrc/start', () => {
  it('redirects to HMRC authorize with a single-use state bound to the EORI', async () => {
    const before = Date.now();
    const response = await start(eoriA.toLowerCase(), keys.a);
    expect(response.status).toBe(302);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const location = new URL(response.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(
      'https://auth.example.test/oauth/authorize',
    );
    const params = Object.fromEntries(location.searchParams);
    expect(params).toEqual({
      response_type: 'code',
      client_id: 'client-id',
      scope: 'common-transit-convention-traders',
      redirect_uri: 'https://hub.example.test/oauth/hmrc/callback',
      state: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    const rows = await states();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.eori).toBe(eoriA);
    // Only the hash is stored.
    expect(rows[0]!.state).toBe(createHash('sha256').update(params.state!).digest('hex'));
    const ttl = rows[0]!.expires_at.getTime() - before;
    expect(ttl).toBeGreaterThan(599_000);
    expect(ttl).toBeLessThan(605_000);
  });

  it('needs an API key', async () => {
    expect((await start(eoriA, null)).status).toBe(401);
    expect(await states()).toHaveLength(0);
  });

  it('answers 403 when the key may not see that EORI', async () => {
    const response = await start(eoriB, keys.a);
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({
      code: 'FORBIDDEN',
      message: `This API key may not connect EORI ${eoriB}`,
    });
    expect(await states()).toHaveLength(0);
  });

  it.each(['', 'GB', 'GB12345678901234567', 'GB-123', '1234'])(
    'answers 400 for a malformed EORI (%j)',
    async (eori) => {
      const response = await start(eori);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: 'BAD_REQUEST' });
      expect(await states()).toHaveLength(0);
    },
  );

  it('answers 400 without an eori parameter', async () => {
    const response = await fetch(`${apiUrl}/oauth/hmrc/start`, {
      redirect: 'manual',
      headers: { authorization: `Bearer ${keys.all}` },
    });
    expect(response.status).toBe(400);
  });
});

describe('GET /oauth/hmrc/callback', () => {
  it('exchanges the code and stores the tokens, encrypted, for the EORI of the state', async () => {
    const state = await startedState();
    const response = await callback(`code=the-code&state=${state}`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toEqual({
      eori: eoriA,
      connected: true,
      verification: 'unverified',
      scope: 'common-transit-convention-traders',
      accessTokenExpiresAt: expect.any(String),
      message: expect.stringContaining(`EORI ${eoriA} is connected to HMRC.`),
    });
    expect(JSON.stringify(body)).not.toMatch(/the-code|access-from-code|refresh-from-code/);

    expect(tokenForms).toEqual([
      {
        grant_type: 'authorization_code',
        client_id: 'client-id',
        client_secret: 'client-secret',
        code: 'the-code',
        redirect_uri: 'https://hub.example.test/oauth/hmrc/callback',
      },
    ]);
    const stored = await testDb.db
      .selectFrom('oauth_tokens')
      .selectAll()
      .where('subject', '=', eoriA)
      .executeTakeFirstOrThrow();
    expect(stored.kind).toBe('user');
    expect(stored.access_token).not.toContain('access-from-code');
    // A new connection, not yet shown by HMRC to be eoriA's: its check is queued.
    expect(stored).toMatchObject({
      verification: 'unverified',
      connection_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      connected_by: createHash('sha256').update(keys.all).digest('hex').slice(0, 8),
    });
    expect(queued).toEqual([
      {
        name: 'verify-connection',
        data: { eori: eoriA, connectionId: stored.connection_id },
        jobId: `verify-${stored.connection_id}`,
      },
    ]);
    const cipher = tokenCipherFromConfig({
      TOKEN_ENCRYPTION_KEYS: [],
      TOKEN_ENCRYPTION_KEY: encryptionKey,
    });
    expect(cipher.decrypt(stored.refresh_token!, `oauth_tokens:${eoriA}:refresh_token`)).toEqual({
      ok: true,
      plaintext: 'refresh-from-code',
    });
    expect(await states()).toHaveLength(0);

    // The state worked once.
    const replay = await callback(`code=the-code&state=${state}`);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ code: 'INVALID_STATE' });
    expect(tokenForms).toHaveLength(1);
  });

  it('answers a small HTML page to a browser', async () => {
    const state = await startedState();
    const response = await callback(
      `code=c&state=${state}`,
      'text/html,application/xhtml+xml,*/*;q=0.8',
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await response.text();
    expect(html).toContain('<h1>Connected to HMRC</h1>');
    expect(html).toContain(`EORI ${eoriA} is connected to HMRC.`);
  });

  it('two callbacks racing with one state: exactly one exchanges the code', async () => {
    const state = await startedState();
    tokenReply.delayMs = 100;
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => callback(`code=c&state=${state}`)),
    );
    expect(responses.map((response) => response.status).sort()).toEqual([200, 400, 400, 400, 400]);
    expect(tokenForms).toHaveLength(1);
  });

  it('refuses an expired state, and consumes it', async () => {
    const state = await startedState();
    await testDb.db
      .updateTable('oauth_states')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .execute();
    const response = await callback(`code=c&state=${state}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      code: 'STATE_EXPIRED',
      message: `The connection attempt for EORI ${eoriA} expired. Start again at /oauth/hmrc/start.`,
    });
    expect(await states()).toHaveLength(0);
    expect(tokenForms).toHaveLength(0);
  });

  it('refuses an unknown or missing state without calling HMRC', async () => {
    expect((await callback('code=c&state=forged')).status).toBe(400);
    expect((await callback('code=c')).status).toBe(400);
    expect(tokenForms).toHaveLength(0);
  });

  it('explains access_denied from HMRC and consumes the state', async () => {
    const state = await startedState();
    const response = await callback(
      `error=access_denied&error_description=user+said+no&state=${state}`,
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      code: 'ACCESS_DENIED',
      message: `Access was not granted at HMRC for EORI ${eoriA}: the user declined. Start again at /oauth/hmrc/start to connect.`,
    });
    expect(await states()).toHaveLength(0);
    expect(tokenForms).toHaveLength(0);
  });

  it('escapes what it echoes into HTML', async () => {
    const response = await callback('error=%3Cscript%3E&state=x', 'text/html');
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('(unknown_error)');
  });

  it('a code HMRC refuses is a 400; HMRC down is a 502; nothing is stored', async () => {
    tokenReply = {
      status: 400,
      body: { error: 'invalid_grant', error_description: 'code expired' },
    };
    const refused = await callback(`code=old&state=${await startedState()}`);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({
      code: 'AUTHORIZATION_CODE_REJECTED',
      message: expect.stringContaining('invalid_grant'),
    });

    tokenReply = { status: 503, body: { code: 'SERVER_ERROR' } };
    const down = await callback(`code=c&state=${await startedState()}`);
    expect(down.status).toBe(502);
    expect(await down.json()).toMatchObject({ code: 'HMRC_UNAVAILABLE' });
    expect(await testDb.db.selectFrom('oauth_tokens').selectAll().execute()).toHaveLength(0);
  });

  it('a new consent replaces the stored tokens and restarts the 18-month clock', async () => {
    await callback(`code=first&state=${await startedState()}`);
    await testDb.db
      .updateTable('oauth_tokens')
      .set({ consented_at: new Date('2025-01-01T00:00:00Z'), refresh_count: 7 })
      .execute();
    tokenReply = {
      status: 200,
      body: { access_token: 'second', refresh_token: 'second-r', expires_in: 14400 },
    };
    expect((await callback(`code=second&state=${await startedState()}`)).status).toBe(200);
    const stored = await testDb.db.selectFrom('oauth_tokens').selectAll().executeTakeFirstOrThrow();
    expect(Date.now() - stored.consented_at.getTime()).toBeLessThan(60_000);
    expect(stored.refresh_count).toBe(0);
  });
});

describe('the flow is bound to the browser that started it', () => {
  it('sets a __Host- cookie bound to the state, storing only hashes', async () => {
    const response = await start(eoriA);
    const setCookie = response.headers
      .getSetCookie()
      .find((line) => line.startsWith('__Host-ctc-oauth-'))!;
    expect(setCookie).toMatch(
      /^__Host-ctc-oauth-[0-9a-f]{16}=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Lax; Max-Age=600$/,
    );
    const value = setCookie.split(';')[0]!.split('=')[1]!;
    const [row] = await states();
    expect(row!.binding_hash).toBe(createHash('sha256').update(value).digest('hex'));
    expect(row!.started_by).toBe(createHash('sha256').update(keys.all).digest('hex').slice(0, 8));
  });

  it('refuses a callback from another browser (no cookie) before exchanging the code, and spends the state', async () => {
    const state = await startedState();
    const elsewhere = await callback(`code=victims-code&state=${state}`, 'application/json', null);
    expect(elsewhere.status).toBe(403);
    expect(await elsewhere.json()).toEqual({
      code: 'STATE_BROWSER_MISMATCH',
      message: expect.stringContaining('started and finished in the same browser'),
    });
    expect(tokenForms).toHaveLength(0);
    expect(await testDb.db.selectFrom('oauth_tokens').selectAll().execute()).toHaveLength(0);
    // The starter cannot complete it afterwards with the code passed back to them.
    const later = await callback(`code=victims-code&state=${state}`);
    expect(later.status).toBe(400);
    expect(tokenForms).toHaveLength(0);
    const audit = await testDb.db.selectFrom('audit_log').selectAll().execute();
    expect(audit).toMatchObject([
      { action: 'connection.connect', outcome: 'refused', target: { eori: eoriA } },
    ]);
  });

  it("refuses a forged cookie, and another flow's cookie", async () => {
    const state = await startedState();
    const [name] = browserCookie!.split('=');
    const forged = await callback(`code=c&state=${state}`, 'application/json', `${name}=forged`);
    expect(forged.status).toBe(403);

    const first = await startedState(eoriA);
    const firstCookie = browserCookie;
    await startedState(eoriA);
    const crossed = await callback(
      `code=c&state=${first}`,
      'application/json',
      browserCookie!.replace(/^[^=]+/, firstCookie!.split('=')[0]!),
    );
    expect(crossed.status).toBe(403);
    expect(tokenForms).toHaveLength(0);
  });

  it('keeps flows started in parallel apart (one cookie per flow)', async () => {
    const stateA = await startedState(eoriA);
    const cookieA = browserCookie!;
    const stateB = await startedState(eoriB);
    const cookieB = browserCookie!;
    const both = `${cookieA}; ${cookieB}`;
    expect((await callback(`code=a&state=${stateA}`, 'application/json', both)).status).toBe(200);
    expect((await callback(`code=b&state=${stateB}`, 'application/json', both)).status).toBe(200);
  });

  it('clears the cookie on the callback', async () => {
    const state = await startedState();
    const response = await callback(`code=c&state=${state}`);
    expect(response.headers.getSetCookie()).toContainEqual(
      expect.stringMatching(/^__Host-ctc-oauth-[0-9a-f]{16}=; .*Max-Age=0$/),
    );
  });

  it('starts from a browser with the key as the Basic password, but not from another site', async () => {
    const basic = `Basic ${Buffer.from(`anyone:${keys.a}`).toString('base64')}`;
    const direct = await fetch(`${apiUrl}/oauth/hmrc/start?eori=${eoriA}`, {
      redirect: 'manual',
      headers: { authorization: basic, 'sec-fetch-site': 'none' },
    });
    expect(direct.status).toBe(302);
    expect(bindingCookieOf(direct)).toBeDefined();

    const crossSite = await fetch(`${apiUrl}/oauth/hmrc/start?eori=${eoriA}`, {
      redirect: 'manual',
      headers: { authorization: basic, 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    expect(await states()).toHaveLength(1);

    const prompt = await fetch(`${apiUrl}/oauth/hmrc/start?eori=${eoriA}`, { redirect: 'manual' });
    expect(prompt.status).toBe(401);
    expect(prompt.headers.get('www-authenticate')).toMatch(/^Basic /);
  });
});
