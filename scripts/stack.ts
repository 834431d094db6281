/**
 * Runs the whole stack in one process: receiver, worker, api and (unless HMRC_API_BASE_URL is
 * set) the HMRC sandbox, wired to each other. Used by `pnpm start`, `pnpm demo`'s tests, the
 * end-to-end tests and the benchmarks. In production each service runs as its own process from
 * its own main.ts; this file is the local composition root.
 */
import { startApi, type ApiHandle } from '@ctc-hub/api';
import { loadApiConfig, loadReceiverConfig, loadWorkerConfig, type Env } from '@ctc-hub/config';
import { createDb, prepareDatabase } from '@ctc-hub/db';
import { loadSandboxConfig, startSandbox, type SandboxHandle } from '@ctc-hub/hmrc-sandbox';
import { RedisDurabilityGuard, type DurabilityVerdict } from '@ctc-hub/queue';
import { startReceiver, type ReceiverHandle } from '@ctc-hub/receiver';
import { createLogger, shutdownTelemetry, type Logger } from '@ctc-hub/telemetry';

export { flushLogs } from '@ctc-hub/telemetry';
import { startWorker, type WorkerHandle } from '@ctc-hub/worker';

/** Development defaults: they make `pnpm start` work with no configuration and no credentials. */
export const devDefaults = {
  API_KEYS: 'dev-api-key',
  /** 32 bytes, hex. For local use only: tokens of real traders must use a key of your own. */
  TOKEN_ENCRYPTION_KEY: '6465762d6f6e6c792d746f6b656e2d656e6372797074696f6e2d6b65792d2121',
  SANDBOX_PUSH_SECRET: 'SANDBOXPUSHSECRETDEVONLY00000000',
  SANDBOX_CLIENT_ID: 'ctc-hub-dev',
  SANDBOX_CLIENT_SECRET: 'ctc-hub-dev-secret',
  HMRC_DEFAULT_EORI: 'GB123456789000',
  SANDBOX_BOX_ID: '5e1d9b2c-6a0e-4a57-9d63-3f0c2f8a1b7e',
} as const;

export interface Stack {
  receiverUrl: string;
  apiUrl: string;
  workerUrl: string;
  /** Set when the local sandbox stands in for HMRC. */
  sandbox: SandboxHandle | undefined;
  hmrcBaseUrl: string;
  /** What the Redis the services were given keeps (REDIS_DURABILITY decided whether to run). */
  redisDurability: DurabilityVerdict;
  /** The first API key (the dev key unless API_KEYS is set). */
  apiKey: string;
  env: Env;
  stop: () => Promise<void>;
}

const localUrl = (host: string, port: number) =>
  `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${port}`;

export async function startStack(
  baseEnv: Env = process.env,
  options: { logger?: Logger } = {},
): Promise<Stack> {
  const useSandbox = baseEnv.HMRC_API_BASE_URL === undefined || baseEnv.HMRC_API_BASE_URL === '';
  const env: Env = { ...baseEnv };
  const fill = (name: string, value: string) => {
    if (env[name] === undefined || env[name] === '') env[name] = value;
  };
  fill('API_KEYS', devDefaults.API_KEYS);
  if ((env.TOKEN_ENCRYPTION_KEYS ?? '') === '')
    fill('TOKEN_ENCRYPTION_KEY', devDefaults.TOKEN_ENCRYPTION_KEY);
  if (useSandbox) {
    fill('SANDBOX_PUSH_SECRET', devDefaults.SANDBOX_PUSH_SECRET);
    fill('SANDBOX_CLIENT_ID', devDefaults.SANDBOX_CLIENT_ID);
    fill('SANDBOX_CLIENT_SECRET', devDefaults.SANDBOX_CLIENT_SECRET);
    fill('PPNS_PUSH_SECRETS', env.SANDBOX_PUSH_SECRET!);
    fill('HMRC_CLIENT_ID', env.SANDBOX_CLIENT_ID!);
    fill('HMRC_CLIENT_SECRET', env.SANDBOX_CLIENT_SECRET!);
    fill('HMRC_DEFAULT_EORI', devDefaults.HMRC_DEFAULT_EORI);
    // Accept and pull the sandbox application's box.
    fill('SANDBOX_BOX_ID', devDefaults.SANDBOX_BOX_ID);
    fill('PPNS_BOX_IDS', env.SANDBOX_BOX_ID!);
  }
  const logger =
    options.logger ?? createLogger({ service: 'ctc-hub', level: env.LOG_LEVEL ?? 'info' });

  // Validate every service's configuration before starting any of them.
  const receiverConfig = loadReceiverConfig(env);
  // Redis first: an unreachable or unfit Redis stops start-up within REDIS_STARTUP_TIMEOUT_SECONDS
  // with a message naming REDIS_URL, before any database work. Each service checks again itself.
  const redisCheck = await RedisDurabilityGuard.open(
    receiverConfig,
    logger.child({}, { level: 'silent' }),
  );
  redisCheck.close();
  const db = createDb({
    url: receiverConfig.DATABASE_URL,
    poolMax: 1,
    applicationName: 'ctc-hub-migrate',
  });
  try {
    await prepareDatabase(db, receiverConfig.DATABASE_URL);
  } finally {
    await db.destroy();
  }

  const started: { stop: () => Promise<void> }[] = [];
  const stopAll = async () => {
    for (const service of started.reverse()) await service.stop().catch(() => undefined);
  };
  try {
    const receiver: ReceiverHandle = await startReceiver(receiverConfig, {
      logger: logger.child({ component: 'receiver' }),
    });
    started.push(receiver);
    const receiverUrl = localUrl(receiverConfig.HTTP_HOST, receiver.port);

    let sandbox: SandboxHandle | undefined;
    if (useSandbox) {
      fill('SANDBOX_CALLBACK_URL', `${receiverUrl}/ppns/callback`);
      sandbox = await startSandbox(loadSandboxConfig(env), {
        logger: logger.child({ component: 'hmrc-sandbox' }),
      });
      started.push(sandbox);
      env.HMRC_API_BASE_URL = sandbox.url;
      // Large declarations go to the sandbox's upload listener, under another host name, as
      // they go to HMRC's Upscan host: allowed here as HMRC's is allowed by default.
      const upload = new URL(sandbox.uploadUrl);
      fill('HMRC_UPLOAD_HOSTS', upload.host);
      if (upload.protocol === 'http:') fill('HMRC_UPLOAD_ALLOW_HTTP', 'true');
    }

    const worker: WorkerHandle = await startWorker(loadWorkerConfig(env), {
      logger: logger.child({ component: 'worker' }),
    });
    started.push(worker);
    const apiConfig = loadApiConfig(env);
    const api: ApiHandle = await startApi(apiConfig, {
      logger: logger.child({ component: 'api' }),
    });
    started.push(api);

    const firstKey = apiConfig.API_KEYS[0]!;
    return {
      receiverUrl,
      apiUrl: localUrl(apiConfig.HTTP_HOST, api.port),
      workerUrl: localUrl(apiConfig.HTTP_HOST, worker.port),
      sandbox,
      hmrcBaseUrl: env.HMRC_API_BASE_URL!,
      redisDurability: redisCheck.verdict,
      apiKey: firstKey.startsWith('sha256:') ? '(hashed)' : firstKey.split(':')[0]!,
      env,
      stop: async () => {
        await stopAll();
        await shutdownTelemetry();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * Connects an EORI through the OAuth flow the way a person would in a browser: our api's start
 * URL → HMRC's authorize page (the sandbox signs in as `eori`) → back to our callback, which
 * stores the tokens.
 */
export async function connectEori(
  stack: Pick<Stack, 'apiUrl' | 'apiKey'>,
  eori: string,
  options: { signInAs?: string } = {},
): Promise<ConnectResult> {
  const started = await startConnect(stack, eori);
  const back = await signInAtSandbox(started.authorizeUrl, options.signInAs ?? eori);
  const done = await finishConnect(stack, back, started.cookie);
  if (done.status !== 200)
    throw new Error(`oauth callback answered ${done.status}: ${JSON.stringify(done.body)}`);
  return done.body as unknown as ConnectResult;
}

export interface ConnectResult {
  eori: string;
  connected: boolean;
  verification: string;
}

/**
 * Step 1 of connecting, as the browser that starts it: the authorize URL at HMRC and the
 * binding cookie the api set (a `name=value` pair to send back with the callback).
 */
export async function startConnect(
  stack: Pick<Stack, 'apiUrl' | 'apiKey'>,
  eori: string,
): Promise<{ authorizeUrl: string; cookie: string }> {
  const start = await fetch(`${stack.apiUrl}/oauth/hmrc/start?eori=${encodeURIComponent(eori)}`, {
    headers: { authorization: `Bearer ${stack.apiKey}` },
    redirect: 'manual',
  });
  const authorize = start.headers.get('location');
  const cookie = start.headers.getSetCookie().find((line) => line.startsWith('__Host-ctc-oauth-'));
  if (start.status !== 302 || authorize === null || cookie === undefined)
    throw new Error(`oauth start answered ${start.status}: ${await start.text()}`);
  return { authorizeUrl: authorize, cookie: cookie.split(';')[0]! };
}

/** Step 2: someone signs in at the sandbox's authorize page as `eori`; the callback's query. */
export async function signInAtSandbox(authorizeUrl: string, eori: string): Promise<string> {
  const signIn = new URL(authorizeUrl);
  signIn.searchParams.set('eori', eori);
  const approved = await fetch(signIn, { redirect: 'manual' });
  const back = approved.headers.get('location');
  if (back === null)
    throw new Error(`authorize answered ${approved.status}: ${await approved.text()}`);
  return new URL(back).search;
}

/** Step 3: a browser brings the callback to the api, with the binding cookie or without. */
export async function finishConnect(
  stack: Pick<Stack, 'apiUrl'>,
  callbackSearch: string,
  cookie: string | undefined,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const callback = new URL(`${stack.apiUrl}/oauth/hmrc/callback`);
  callback.search = callbackSearch;
  const done = await fetch(callback, {
    headers: { accept: 'application/json', ...(cookie === undefined ? {} : { cookie }) },
  });
  return { status: done.status, body: (await done.json()) as Record<string, unknown> };
}
