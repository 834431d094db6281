// Risk retired: a credential leaking into what operators and tools collect. A full flow runs with
// every log line captured at debug level, every span recorded, and every error answer kept: OAuth
// connect, small and large messages (fetched with the trader's token), a token that expires and
// is refreshed, a declaration, a Guarantee Balance check with its access code, a push with a bad
// signature and a request with a wrong API key. Then the logs, spans, error bodies and each
// service's /metrics are searched for every secret involved; none may appear.
import { randomBytes } from 'node:crypto';
import { tokenCipherFromConfig, tokenContext } from '@ctc-hub/hmrc-client';
import { buildMessage } from '@ctc-hub/ncts-testkit';
import { signPayload } from '@ctc-hub/ppns';
import { createLogger, initTracing, type TracingOptions } from '@ctc-hub/telemetry';
import { hex16, waitFor } from '@ctc-hub/testing';
import { startE2E, traderEori as eori, type E2E } from '../e2e/support.js';

const secrets = {
  apiKey: `sk-${randomBytes(18).toString('hex')}`,
  pushSecret: randomBytes(16).toString('hex').toUpperCase(),
  clientSecret: `cs-${randomBytes(12).toString('hex')}`,
  tokenKey: randomBytes(32).toString('hex'),
  accessCode: 'ZX9Q',
  webhookSecret: `whsec_${randomBytes(24).toString('base64')}`,
};

const logLines: string[] = [];
const spans: string[] = [];
const answers: string[] = [];

const exporter: NonNullable<TracingOptions['exporter']> = {
  export: (batch, done) => {
    for (const span of batch)
      spans.push(
        JSON.stringify({
          name: span.name,
          attributes: span.attributes,
          events: span.events,
          status: span.status,
        }),
      );
    done({ code: 0 });
  },
  shutdown: async () => undefined,
};

let e2e: E2E;

beforeAll(async () => {
  initTracing({ serviceName: 'secrets-test', exporter });
  const logger = createLogger({
    service: 'ctc-hub',
    level: 'debug',
    destination: { write: (line: string) => logLines.push(line) },
  });
  e2e = await startE2E(
    {
      LOG_LEVEL: 'debug',
      API_KEYS: `${secrets.apiKey}:*`,
      SANDBOX_PUSH_SECRET: secrets.pushSecret,
      SANDBOX_CLIENT_SECRET: secrets.clientSecret,
      TOKEN_ENCRYPTION_KEY: secrets.tokenKey,
      EVENT_WEBHOOK_URLS: 'http://127.0.0.1:9/hook',
      EVENT_WEBHOOK_SECRET: secrets.webhookSecret,
      EVENT_WEBHOOK_BACKOFF_BASE_MS: '50',
    },
    { logger },
  );
}, 60_000);
afterAll(async () => {
  await e2e?.stop();
});

/** The trader's OAuth tokens as HMRC issued them (decrypted from our table). */
async function traderTokens(): Promise<string[]> {
  const cipher = tokenCipherFromConfig({
    TOKEN_ENCRYPTION_KEYS: [],
    TOKEN_ENCRYPTION_KEY: secrets.tokenKey,
  });
  const rows = await e2e.testDb.db.selectFrom('oauth_tokens').selectAll().execute();
  const tokens: string[] = [];
  for (const row of rows) {
    const access = cipher.decrypt(row.access_token, tokenContext(row.subject, 'access_token'));
    if (access.ok) tokens.push(access.plaintext);
    if (row.refresh_token !== null) {
      const refresh = cipher.decrypt(row.refresh_token, tokenContext(row.subject, 'refresh_token'));
      if (refresh.ok) tokens.push(refresh.plaintext);
    }
  }
  return tokens;
}

async function call(path: string, init: RequestInit = {}, key = secrets.apiKey) {
  const response = await fetch(`${e2e.stack.apiUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, ...(init.headers as Record<string, string>) },
  });
  const text = await response.text();
  answers.push(`${response.status} ${[...response.headers].join(';')} ${text}`);
  return { status: response.status, text };
}

it('keeps every secret out of logs, spans, error answers and metrics', async () => {
  const issued = new Set(await traderTokens());
  expect(issued.size).toBeGreaterThanOrEqual(2);

  // Messages, one of them fetched by URI with the trader's bearer token.
  const departureId = hex16();
  await e2e.inject('departure', departureId, { messageType: 'IE028' });
  await e2e.inject('departure', departureId, { messageType: 'IE029', size: 120_000 });
  await e2e.waitForMessages('departure', departureId, 2);

  // The access token expires: the next fetch refreshes it (a new access and refresh token).
  e2e.stack.sandbox!.controls.expireAccessTokens();
  const secondId = hex16();
  await e2e.inject('departure', secondId, { messageType: 'IE029', size: 90_000 });
  await e2e.waitForMessages('departure', secondId, 1);
  for (const token of await traderTokens()) issued.add(token);
  expect(issued.size).toBeGreaterThanOrEqual(4);

  // A declaration, and a Guarantee Balance check with its access code.
  const submitted = await call('/v1/departures', {
    method: 'POST',
    headers: { 'content-type': 'application/xml', 'x-trader-eori': eori },
    body: buildMessage('IE015', { lrn: `SEC${hex16().slice(0, 9)}`, eori }),
  });
  expect(submitted.status).toBe(202);
  const submissionId = JSON.parse(submitted.text).submissionId as string;
  await waitFor(
    async () =>
      JSON.parse((await call(`/v1/submissions/${submissionId}`)).text).status === 'accepted' ||
      undefined,
    { timeoutMs: 20_000, what: 'the declaration accepted' },
  );
  const grn = `27GB${randomBytes(6).toString('hex').toUpperCase()}1`;
  e2e.stack.sandbox!.controls.upsertGuarantee(grn, { accessCode: secrets.accessCode, balance: 5 });
  const balance = await call(`/v1/guarantees/${grn}/balance`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-trader-eori': eori },
    body: JSON.stringify({ accessCode: secrets.accessCode }),
  });
  expect(balance.status).toBe(200);
  const wrongCode = await call(`/v1/guarantees/${grn}/balance`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-trader-eori': 'GB000000000099' },
    body: JSON.stringify({ accessCode: 'QQ11' }),
  });
  expect(wrongCode.status).toBeGreaterThanOrEqual(400);

  // Hostile requests: a wrong API key (close to the real one), a push with a bad signature.
  expect((await call('/v1/events', {}, `${secrets.apiKey}x`)).status).toBe(401);
  const body = JSON.stringify({ notificationId: 'x' });
  const push = await fetch(`${e2e.stack.receiverUrl}/ppns/callback`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-hub-signature': signPayload(`${secrets.pushSecret}0`, body),
    },
    body,
  });
  answers.push(`${push.status} ${await push.text()}`);
  expect(push.status).toBe(401);

  // The webhook URL refuses connections: retries and their logs happen with the signing secret.
  await waitFor(
    () => logLines.some((line) => line.includes('webhook delivery failed')) || undefined,
    {
      what: 'a failed webhook attempt logged',
    },
  );

  const metrics = await Promise.all(
    [e2e.stack.receiverUrl, e2e.stack.workerUrl, e2e.stack.apiUrl].map(async (base) =>
      (await fetch(`${base}/metrics`)).text(),
    ),
  );

  // The haystacks hold real output: a scan of nothing would prove nothing.
  expect(logLines.length).toBeGreaterThan(20);
  expect(logLines.some((line) => line.includes(departureId))).toBe(true);
  expect(spans.length).toBeGreaterThan(10);
  expect(metrics.join('\n')).toMatch(/ctc_hmrc_calls_total|ctc_/);

  const needles: [string, string][] = [
    ...Object.entries(secrets).map(([name, value]) => [name, value] as [string, string]),
    // Secrets in other encodings we might print: base64 of the raw webhook key, Basic auth.
    ['webhookKeyBase64', secrets.webhookSecret.slice('whsec_'.length)],
    ['basicApiKey', Buffer.from(`x:${secrets.apiKey}`).toString('base64')],
    ...[...issued].map((token, index) => [`oauthToken${index}`, token] as [string, string]),
  ];
  const haystacks: [string, string[]][] = [
    ['logs', logLines],
    ['spans', spans],
    ['answers', answers],
    ['metrics', metrics],
  ];
  const leaks: string[] = [];
  for (const [where, lines] of haystacks)
    for (const [name, value] of needles)
      for (const line of lines)
        if (line.includes(value)) leaks.push(`${name} in ${where}: ${line.slice(0, 200)}`);
  expect(leaks).toEqual([]);
}, 90_000);
