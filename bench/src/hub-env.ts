/**
 * What a benchmark that runs the three services as separate processes needs around them: its
 * own database (migrated) and Redis prefix, free ports, the HMRC sandbox in the bench process
 * pushing to the receiver, and the services' environment (dev defaults, the sandbox as HMRC,
 * per-key rate limit off: a bench's declarations come from one key). `dispose` undoes it all.
 */
import { randomBytes } from 'node:crypto';
import { createDb, prepareDatabase } from '@ctc-hub/db';
import { loadSandboxConfig, startSandbox } from '@ctc-hub/hmrc-sandbox';
import { deleteKeysWithPrefix, dropDatabase, freePort } from '@ctc-hub/testing';
import { devDefaults } from '../../scripts/stack.js';

export const serverUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function benchHubEnvironment(tag: string) {
  const dbName = `ctc_bench_${tag}_${Date.now()}_${randomBytes(2).toString('hex')}`;
  const databaseUrl = `${serverUrl}/${dbName}`;
  const db = createDb({ url: databaseUrl, poolMax: 2 });
  const prefix = `{bench${tag}${randomBytes(3).toString('hex')}}`;
  let sandbox: Awaited<ReturnType<typeof startSandbox>> | undefined;
  const dispose = async () => {
    await sandbox?.stop().catch(() => undefined);
    await db.destroy();
    await dropDatabase(serverUrl, dbName).catch(() => undefined);
    await deleteKeysWithPrefix(redisUrl, prefix).catch(() => undefined);
  };
  try {
    await prepareDatabase(db, databaseUrl);
    const [receiverPort, workerPort, apiPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
    ]);
    const receiverUrl = `http://127.0.0.1:${receiverPort}`;
    const workerUrl = `http://127.0.0.1:${workerPort}`;
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    sandbox = await startSandbox(
      loadSandboxConfig({
        SANDBOX_PORT: '0',
        SANDBOX_CALLBACK_URL: `${receiverUrl}/ppns/callback`,
        LOG_LEVEL: 'silent',
      }),
    );
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      REDIS_DURABILITY: 'allow-volatile',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      RECEIVER_PORT: String(receiverPort),
      WORKER_PORT: String(workerPort),
      API_PORT: String(apiPort),
      API_KEYS: devDefaults.API_KEYS,
      TOKEN_ENCRYPTION_KEY: devDefaults.TOKEN_ENCRYPTION_KEY,
      PPNS_PUSH_SECRETS: devDefaults.SANDBOX_PUSH_SECRET,
      PPNS_BOX_IDS: devDefaults.SANDBOX_BOX_ID,
      HMRC_API_BASE_URL: sandbox.url,
      HMRC_CLIENT_ID: devDefaults.SANDBOX_CLIENT_ID,
      HMRC_CLIENT_SECRET: devDefaults.SANDBOX_CLIENT_SECRET,
      HMRC_DEFAULT_EORI: devDefaults.HMRC_DEFAULT_EORI,
      HMRC_REDIRECT_URI: `${apiUrl}/oauth/hmrc/callback`,
      HMRC_UPLOAD_HOSTS: new URL(sandbox.uploadUrl).host,
      HMRC_UPLOAD_ALLOW_HTTP: 'true',
      // Declarations at 1/s from one key: above the default per-key limits only in bursts.
      API_RATE_LIMIT_PER_SECOND: '0',
    };
    return { db, dbName, prefix, sandbox, env, receiverUrl, workerUrl, apiUrl, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
