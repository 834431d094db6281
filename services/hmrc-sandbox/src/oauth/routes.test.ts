import { ctcJson, startTestSandbox, type TestSandbox } from '../test-helpers.js';

// OAuth as a client sees it: authorisation code (auto-approved), single-use refresh rotation,
// client credentials, and how CTC endpoints treat each kind of token.

let sandbox: TestSandbox;
beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(() => sandbox.close());

const clientId = 'ctc-hub-dev';
const clientSecret = 'ctc-hub-dev-secret';
const redirectUri = 'http://localhost:8081/oauth/hmrc/callback';

function authorizeUrl(extra: Record<string, string> = {}): string {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    scope: 'common-transit-convention-traders',
    redirect_uri: redirectUri,
    state: 'state-123',
    ...extra,
  });
  return `${sandbox.url}/oauth/authorize?${query.toString()}`;
}

async function token(form: Record<string, string>): Promise<Response> {
  return fetch(`${sandbox.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
}

async function authorise(eori = 'GB111122223333'): Promise<string> {
  const response = await fetch(authorizeUrl({ eori }), { redirect: 'manual' });
  expect(response.status).toBe(302);
  const location = new URL(response.headers.get('location')!);
  return location.searchParams.get('code')!;
}

const listDepartures = (accessToken: string) =>
  fetch(`${sandbox.url}/customs/transits/movements/departures`, {
    headers: { authorization: `Bearer ${accessToken}`, accept: ctcJson },
  });

describe('GET /oauth/authorize', () => {
  it('asks for the EORI with a form when none is given', async () => {
    const response = await fetch(authorizeUrl());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    const html = await response.text();
    expect(html).toContain('name="eori"');
    expect(html).toContain('value="state-123"');
  });

  it('auto-approves and redirects with code and state', async () => {
    const response = await fetch(authorizeUrl({ eori: 'GB111122223333' }), { redirect: 'manual' });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(location.searchParams.get('state')).toBe('state-123');
    expect(location.searchParams.get('code')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('refuses an unknown client and redirects scope errors back', async () => {
    expect(
      (await fetch(authorizeUrl({ client_id: 'someone-else' }), { redirect: 'manual' })).status,
    ).toBe(400);
    const response = await fetch(authorizeUrl({ scope: 'read:everything', eori: 'GB1' }), {
      redirect: 'manual',
    });
    expect(response.status).toBe(302);
    expect(new URL(response.headers.get('location')!).searchParams.get('error')).toBe(
      'invalid_scope',
    );
  });
});

describe('POST /oauth/token', () => {
  it('exchanges a code once for tokens that act as the EORI', async () => {
    const code = await authorise('GB111122223333');
    const response = await token({
      grant_type: 'authorization_code',
      code,
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uri: redirectUri,
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({
      access_token: expect.stringMatching(/^[0-9a-f]{32}$/),
      refresh_token: expect.stringMatching(/^[0-9a-f]{32}$/),
      expires_in: 14400,
      scope: 'common-transit-convention-traders',
      token_type: 'bearer',
    });
    expect((await listDepartures(String(body.access_token))).status).toBe(200);
    const again = await token({
      grant_type: 'authorization_code',
      code,
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uri: redirectUri,
    });
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({
      error: 'invalid_request',
      error_description: 'code is invalid',
    });
  });

  it('refuses a code presented with another redirect_uri', async () => {
    const code = await authorise();
    const response = await token({
      grant_type: 'authorization_code',
      code,
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uri: 'http://evil.example/cb',
    });
    expect(response.status).toBe(400);
  });

  it('rotates refresh tokens: each is single-use', async () => {
    const code = await authorise();
    const first = (await (
      await token({
        grant_type: 'authorization_code',
        code,
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uri: redirectUri,
      })
    ).json()) as Record<string, string>;
    const refreshed = await token({
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token!,
      client_id: clientId,
      client_secret: clientSecret,
    });
    expect(refreshed.status).toBe(200);
    const second = (await refreshed.json()) as Record<string, string>;
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.access_token).not.toBe(first.access_token);
    expect((await listDepartures(second.access_token!)).status).toBe(200);

    const reused = await token({
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token!,
      client_id: clientId,
      client_secret: clientSecret,
    });
    expect(reused.status).toBe(400);
    expect(((await reused.json()) as Record<string, string>).error).toBe('invalid_grant');
    const next = await token({
      grant_type: 'refresh_token',
      refresh_token: second.refresh_token!,
      client_id: clientId,
      client_secret: clientSecret,
    });
    expect(next.status).toBe(200);
  });

  it('issues application tokens with the requested PPNS scopes', async () => {
    const response = await token({
      grant_type: 'client_credentials',
      scope: 'read:pull-notifications write:notifications',
      client_id: clientId,
      client_secret: clientSecret,
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({
      access_token: expect.any(String),
      expires_in: 14400,
      scope: 'read:pull-notifications write:notifications',
      token_type: 'bearer',
    });
    expect(body.refresh_token).toBeUndefined();
    // A user scope; common-transit-convention-traders is grantable (the v1 box endpoint).
    const wrongScope = await token({
      grant_type: 'client_credentials',
      scope: 'common-transit-convention-guarantee-balance',
      client_id: clientId,
      client_secret: clientSecret,
    });
    expect(wrongScope.status).toBe(400);
  });

  it('checks the client secret and the grant type', async () => {
    const badSecret = await token({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: 'nope',
    });
    expect(badSecret.status).toBe(401);
    expect(((await badSecret.json()) as Record<string, string>).error).toBe('invalid_client');
    const badGrant = await token({
      grant_type: 'password',
      client_id: clientId,
      client_secret: clientSecret,
    });
    expect(badGrant.status).toBe(400);
    expect(((await badGrant.json()) as Record<string, string>).error).toBe(
      'unsupported_grant_type',
    );
  });
});

describe('tokens on CTC endpoints', () => {
  it.each([
    ['no token', undefined, 'MISSING_CREDENTIALS'],
    ['an unknown token', 'Bearer 00000000000000000000000000000000', 'INVALID_CREDENTIALS'],
    ['a non-bearer scheme', 'Basic abc', 'MISSING_CREDENTIALS'],
  ])('answers 401 to %s', async (_label, authorization, code) => {
    const response = await fetch(`${sandbox.url}/customs/transits/movements/departures`, {
      headers: { accept: ctcJson, ...(authorization === undefined ? {} : { authorization }) },
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as Record<string, string>).code).toBe(code);
  });

  it('answers 401 to an application token and to a token without the CTC scope', async () => {
    const application = sandbox.controls.issueToken({ kind: 'application' }).access_token;
    const applicationResponse = await listDepartures(application);
    expect(applicationResponse.status).toBe(401);
    expect(((await applicationResponse.json()) as Record<string, string>).code).toBe(
      'INCORRECT_ACCESS_TOKEN_TYPE',
    );
    const balanceOnly = sandbox.controls.issueToken({
      scopes: ['common-transit-convention-guarantee-balance'],
    }).access_token;
    const scopeResponse = await listDepartures(balanceOnly);
    expect(scopeResponse.status).toBe(401);
    expect(((await scopeResponse.json()) as Record<string, string>).code).toBe('INVALID_SCOPE');
  });

  it('answers 401 once access tokens expire, and a refresh still works', async () => {
    const issued = sandbox.controls.issueToken({ eori: 'GB999999999999' });
    expect((await listDepartures(issued.access_token)).status).toBe(200);
    sandbox.controls.expireAccessTokens();
    expect((await listDepartures(issued.access_token)).status).toBe(401);
    const refreshed = await token({
      grant_type: 'refresh_token',
      refresh_token: issued.refresh_token!,
      client_id: clientId,
      client_secret: clientSecret,
    });
    const body = (await refreshed.json()) as Record<string, string>;
    expect((await listDepartures(body.access_token!)).status).toBe(200);
  });
});
