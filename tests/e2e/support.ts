import { randomUUID } from 'node:crypto';
import type { Env } from '@ctc-hub/config';
import type { Logger } from '@ctc-hub/telemetry';
import {
  createTestDatabase,
  createTestRedis,
  hex16,
  validateHmrcResponse,
  waitFor,
  type TestDatabase,
  type TestRedis,
} from '@ctc-hub/testing';
import { connectEori, startStack, type Stack } from '../../scripts/stack.js';
import { responseProblems } from '../../services/api/src/test-support/openapi-validator.js';

export interface E2E {
  stack: Stack;
  testDb: TestDatabase;
  redis: TestRedis;
  /**
   * GET from the api; HMRC's read paths get HMRC's Accept and their answers HMRC's OAS check,
   * every other JSON answer is checked against our /openapi.json.
   */
  api: (
    path: string,
    accept?: string,
  ) => Promise<{ status: number; body: any; headers: Headers; bytes: Buffer }>;
  /** Makes the sandbox's NCTS send a message on a movement; returns its ids. */
  inject: (
    type: 'departure' | 'arrival',
    movementId: string,
    body: { messageType: string; size?: number; mrn?: string; lrn?: string } | Buffer,
    eori?: string,
  ) => Promise<{ messageId: string; messageType: string; notificationId?: string }>;
  /** The raw body HMRC (the sandbox) holds for a message. */
  hmrcBody: (
    type: 'departure' | 'arrival',
    movementId: string,
    messageId: string,
    eori?: string,
  ) => Promise<Buffer>;
  waitForMessages: (
    type: 'departure' | 'arrival',
    movementId: string,
    count: number,
    timeoutMs?: number,
  ) => Promise<any[]>;
  stop: () => Promise<void>;
}

export const traderEori = 'GB123456789000';

/** The whole stack on ephemeral ports against this test file's own database and Redis prefix. */
export async function startE2E(
  extraEnv: Env = {},
  options: { logger?: Logger } = {},
): Promise<E2E> {
  const testDb = await createTestDatabase();
  const redis = createTestRedis();
  const stack = await startStack(
    {
      DATABASE_URL: testDb.url,
      REDIS_URL: redis.url,
      QUEUE_PREFIX: redis.prefix,
      // The shared test Redis has no persistence (nor has CI's): allowed explicitly.
      REDIS_DURABILITY: 'allow-volatile',
      HTTP_HOST: '127.0.0.1',
      RECEIVER_PORT: '0',
      API_PORT: '0',
      WORKER_PORT: '0',
      SANDBOX_PORT: '0',
      LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
      SANDBOX_NCTS_STEP_MS: '20',
      SANDBOX_PUSH_RETRY_INTERVAL_MS: '300',
      ...extraEnv,
    },
    options,
  );
  await connectEori(stack, traderEori);
  const collection = (type: 'departure' | 'arrival') =>
    type === 'departure' ? 'departures' : 'arrivals';

  const api: E2E['api'] = async (path, accept) => {
    // HMRC's read paths want HMRC's Accept: the XML of a body, JSON otherwise (the caller may
    // choose another representation).
    const hmrcPath = path.startsWith('/customs/transits/movements/');
    const acceptHeader =
      accept ??
      (hmrcPath
        ? `application/vnd.hmrc.2.1+${path.endsWith('/body') ? 'xml' : 'json'}`
        : undefined);
    const response = await fetch(`${stack.apiUrl}${path}`, {
      headers: {
        authorization: `Bearer ${stack.apiKey}`,
        ...(acceptHeader !== undefined && { accept: acceptHeader }),
      },
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    const text = bytes.toString('utf8');
    let body: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text);
    if (hmrcPath) {
      // Issue 12: every answer of the HMRC-compatible routes in the e2e tests is one HMRC's
      // OAS (2.1/3.0, with HMRC's code's known differences) admits.
      const version = /vnd\.hmrc\.3\.0/.test(acceptHeader ?? '') ? '3.0' : '2.1';
      const problems = validateHmrcResponse({
        version,
        method: 'GET',
        path: new URL(path, 'http://x').pathname,
        status: response.status,
        contentType: response.headers.get('content-type'),
        body,
        ...(acceptHeader !== undefined && { accept: acceptHeader }),
      });
      if (problems.length > 0)
        throw new Error(`GET ${path} answered outside HMRC's OAS: ${problems.join('; ')}`);
    } else if ((response.headers.get('content-type') ?? '').includes('json')) {
      // Issue 13: every other JSON answer a test reads must be one /openapi.json describes.
      const problems = responseProblems('GET', path, response.status, body);
      if (problems.length > 0)
        throw new Error(`GET ${path} does not match /openapi.json:\n${problems.join('\n')}`);
    }
    return { status: response.status, body, headers: response.headers, bytes };
  };

  let tokenPromise: Promise<string> | undefined;
  const hmrcToken = () =>
    (tokenPromise ??= (async () => {
      // A token of our own at the sandbox, to read what HMRC holds (as a trader's tool would).
      const authorize = new URL(`${stack.hmrcBaseUrl}/oauth/authorize`);
      authorize.search = new URLSearchParams({
        response_type: 'code',
        client_id: stack.env.HMRC_CLIENT_ID!,
        scope: 'common-transit-convention-traders',
        redirect_uri: 'http://127.0.0.1/callback',
        state: randomUUID(),
        eori: traderEori,
      }).toString();
      const approved = await fetch(authorize, { redirect: 'manual' });
      const code = new URL(approved.headers.get('location')!).searchParams.get('code')!;
      const token = await fetch(`${stack.hmrcBaseUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          client_id: stack.env.HMRC_CLIENT_ID!,
          client_secret: stack.env.HMRC_CLIENT_SECRET!,
          redirect_uri: 'http://127.0.0.1/callback',
        }),
      });
      return ((await token.json()) as { access_token: string }).access_token;
    })());

  return {
    stack,
    testDb,
    redis,
    api,
    inject: async (type, movementId, body, eori = traderEori) => {
      const isXml = Buffer.isBuffer(body);
      const response = await fetch(
        `${stack.hmrcBaseUrl}/test/customs/transits/movements/${collection(type)}/${movementId}/messages`,
        {
          method: 'POST',
          headers: {
            'content-type': isXml ? 'application/xml' : 'application/json',
            'x-sandbox-eori': eori,
          },
          body: isXml ? body : JSON.stringify(body),
        },
      );
      if (response.status !== 201)
        throw new Error(`injection answered ${response.status}: ${await response.text()}`);
      return (await response.json()) as {
        messageId: string;
        messageType: string;
        notificationId?: string;
      };
    },
    hmrcBody: async (type, movementId, messageId) => {
      const url = `${stack.hmrcBaseUrl}/customs/transits/movements/${collection(type)}/${movementId}/messages/${messageId}/body`;
      const headers = {
        accept: 'application/vnd.hmrc.2.1+xml',
        authorization: `Bearer ${await hmrcToken()}`,
      };
      let response = await fetch(url, { headers });
      // This reader shares the application's 3/s budget with the worker (reconciliation runs
      // from start-up), so it waits out a 429 as any HMRC client must.
      for (let retry = 0; response.status === 429 && retry < 5; retry += 1) {
        const seconds = Number(response.headers.get('retry-after') ?? '1');
        await new Promise((resolve) => setTimeout(resolve, Math.max(1, seconds) * 1000));
        response = await fetch(url, { headers });
      }
      if (response.status !== 200) throw new Error(`sandbox body answered ${response.status}`);
      return Buffer.from(await response.arrayBuffer());
    },
    waitForMessages: (type, movementId, count, timeoutMs = 20_000) =>
      waitFor(
        async () => {
          const { status, body } = await api(
            `/customs/transits/movements/${collection(type)}/${movementId}/messages?count=500`,
          );
          return status === 200 && body.messages.length >= count
            ? (body.messages as any[])
            : undefined;
        },
        { timeoutMs, what: `${count} messages on ${type} ${movementId}` },
      ),
    stop: async () => {
      await stack.stop();
      await testDb.destroy();
      await redis.cleanup();
    },
  };
}

export { hex16 };

/** How many times the hub has refreshed the access token of `eori` (oauth_tokens.refresh_count). */
export async function refreshCount(e2e: E2E, eori: string): Promise<number> {
  const row = await e2e.testDb.db
    .selectFrom('oauth_tokens')
    .select('refresh_count')
    .where('subject', '=', eori)
    .executeTakeFirstOrThrow();
  return row.refresh_count;
}
