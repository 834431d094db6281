import { Agent } from 'undici';
import { isInvalidGrant, OAuthClient } from './oauth-client.js';
import {
  closedPort,
  sendJson,
  startLocalServer,
  type Handler,
  type LocalServer,
} from './test-support/local-server.js';

// The token endpoint contract (reference §3.7): form-encoded grants with the client credentials in
// the body, and errors typed so the token store can tell "consent again" from "try later".

const dispatcher = new Agent({ keepAliveTimeout: 10 });
const now = Date.parse('2026-05-01T12:00:00Z');
const secret = 'client-secret-value';
let server: LocalServer;
let respond: Handler;

beforeEach(async () => {
  respond = (_request, response) =>
    sendJson(response, 200, {
      access_token: 'new-access',
      refresh_token: 'new-refresh',
      expires_in: 14400,
      scope: 'common-transit-convention-traders',
      token_type: 'bearer',
    });
  server = await startLocalServer((request, response, raw) => respond(request, response, raw));
});
afterEach(async () => {
  await server.close();
});
afterAll(async () => {
  await dispatcher.close();
});

const client = (overrides: { authBaseUrl?: string; apiBaseUrl?: string } = {}) =>
  new OAuthClient({
    apiBaseUrl: overrides.apiBaseUrl ?? server.url,
    authBaseUrl: overrides.authBaseUrl,
    clientId: 'client-id',
    clientSecret: secret,
    redirectUri: 'http://localhost:8081/oauth/hmrc/callback',
    timeoutMs: 2000,
    dispatcher,
    now: () => now,
  });

const form = () => {
  expect(server.requests).toHaveLength(1);
  const request = server.requests[0]!;
  expect(request.method).toBe('POST');
  expect(request.url).toBe('/oauth/token');
  expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
  expect(request.headers).not.toHaveProperty('authorization');
  return Object.fromEntries(new URLSearchParams(request.body.toString('utf8')));
};

describe('authorizeUrl', () => {
  it('points at HMRC_AUTH_BASE_URL with the CTC scope and the state', () => {
    const url = new URL(
      client({ authBaseUrl: 'https://auth.example.test/' }).authorizeUrl('st&ate'),
    );
    expect(url.origin + url.pathname).toBe('https://auth.example.test/oauth/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'client-id',
      scope: 'common-transit-convention-traders',
      redirect_uri: 'http://localhost:8081/oauth/hmrc/callback',
      state: 'st&ate',
    });
  });

  it('falls back to the API base URL', () => {
    expect(client({ apiBaseUrl: 'https://api.example.test' }).authorizeUrl('s')).toMatch(
      /^https:\/\/api\.example\.test\/oauth\/authorize\?response_type=code&/,
    );
  });
});

describe('grants', () => {
  it('exchanges an authorization code', async () => {
    const result = await client().exchangeCode('the-code');
    expect(result).toEqual({
      ok: true,
      tokens: {
        accessToken: 'new-access',
        refreshToken: 'new-refresh',
        expiresAt: new Date(now + 14400 * 1000),
        scope: 'common-transit-convention-traders',
        tokenType: 'bearer',
      },
    });
    expect(form()).toEqual({
      grant_type: 'authorization_code',
      client_id: 'client-id',
      client_secret: secret,
      code: 'the-code',
      redirect_uri: 'http://localhost:8081/oauth/hmrc/callback',
    });
  });

  it('refreshes with grant_type=refresh_token', async () => {
    await client().refresh('old-refresh');
    expect(form()).toEqual({
      grant_type: 'refresh_token',
      client_id: 'client-id',
      client_secret: secret,
      refresh_token: 'old-refresh',
      redirect_uri: 'http://localhost:8081/oauth/hmrc/callback',
    });
  });

  it('asks client credentials for the PPNS pull scopes', async () => {
    respond = (_request, response) =>
      sendJson(response, 200, { access_token: 'app', expires_in: '3600', token_type: 'bearer' });
    const result = await client().clientCredentials();
    expect(result).toMatchObject({
      ok: true,
      tokens: { accessToken: 'app', expiresAt: new Date(now + 3600 * 1000) },
    });
    expect(result.ok && result.tokens.refreshToken).toBe(undefined);
    expect(form()).toEqual({
      grant_type: 'client_credentials',
      client_id: 'client-id',
      client_secret: secret,
      scope: 'read:pull-notifications write:notifications',
    });
  });
});

describe('errors', () => {
  it('invalid_grant is typed as such', async () => {
    respond = (_request, response) =>
      sendJson(response, 400, {
        error: 'invalid_grant',
        error_description: 'refresh token is invalid',
      });
    const result = await client().refresh('spent');
    expect(result).toEqual({
      ok: false,
      error: {
        kind: 'rejected',
        code: 'invalid_grant',
        status: 400,
        description: 'refresh token is invalid',
      },
    });
    expect(!result.ok && isInvalidGrant(result.error)).toBe(true);
  });

  it('invalid_client on 401 is a rejection, not an invalid grant', async () => {
    respond = (_request, response) => sendJson(response, 401, { error: 'invalid_client' });
    const result = await client().exchangeCode('code');
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'rejected', code: 'invalid_client', status: 401 },
    });
    expect(!result.ok && isInvalidGrant(result.error)).toBe(false);
  });

  it('5xx and 429 are unavailable (try later)', async () => {
    respond = (_request, response) => sendJson(response, 503, {});
    expect(await client().refresh('r')).toMatchObject({
      ok: false,
      error: { kind: 'unavailable', cause: { kind: 'server-error', status: 503 } },
    });
    respond = (_request, response) => sendJson(response, 429, {}, { 'retry-after': '3' });
    expect(await client().refresh('r')).toMatchObject({
      ok: false,
      error: { kind: 'unavailable', cause: { kind: 'rate-limited', retryAfterMs: 3000 } },
    });
  });

  it('a 200 without access_token or expires_in is an invalid response', async () => {
    respond = (_request, response) => sendJson(response, 200, { access_token: 'a' });
    expect(await client().refresh('r')).toMatchObject({
      ok: false,
      error: { kind: 'invalid-response' },
    });
    respond = (_request, response) => sendJson(response, 200, { expires_in: 10 });
    expect(await client().refresh('r')).toMatchObject({
      ok: false,
      error: { kind: 'invalid-response' },
    });
  });

  it('never puts the secret, code or refresh token into an error', async () => {
    const port = await closedPort();
    const unreachable = client({ apiBaseUrl: `http://127.0.0.1:${port}` });
    const results = [
      await unreachable.exchangeCode('code-value-123'),
      await unreachable.refresh('refresh-value-456'),
    ];
    for (const result of results) {
      expect(result).toMatchObject({
        ok: false,
        error: { kind: 'unavailable', cause: { kind: 'network', outcome: 'not-sent' } },
      });
      const text = JSON.stringify(result);
      expect(text).not.toContain(secret);
      expect(text).not.toContain('code-value-123');
      expect(text).not.toContain('refresh-value-456');
    }
  });
});
