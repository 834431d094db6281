import { loadApiConfig } from '@ctc-hub/config';
import type { Db } from '@ctc-hub/db';
import { createQueue, createRedis, queueNames, waitForRedis } from '@ctc-hub/queue';
import { createLogger, listen } from '@ctc-hub/telemetry';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '@ctc-hub/testing';
import type { Queue } from 'bullmq';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import { NctsParser, XsdValidator } from '@ctc-hub/ncts';
import { createApiApp } from '../app.js';

/**
 * The real api app on a random port, over a fresh migrated database and a Redis key prefix of
 * its own, for tests that make HTTP requests with fetch.
 */

/** EORIs and API keys the tests use. */
export const eoriA = 'GB000000000001';
export const eoriB = 'GB000000000002';
export const keys = {
  /** Sees every EORI. */
  all: 'test-key-all',
  /** Sees movements of eoriA only. */
  a: 'test-key-a',
  /** Sees movements of eoriB only. */
  b: 'test-key-b',
} as const;

/** A fetch Response whose JSON body tests may index freely (assertions check its shape). */
export interface TestResponse extends Response {
  json(): Promise<any>;
}

export interface TestApi {
  baseUrl: string;
  /** The Express app, to inspect its routes. */
  app: Express;
  db: Db;
  /** The database read routes use (`readDatabase: true`); else the same as `db`. */
  readDb: Db;
  ingestQueue: Queue;
  hmrcQueue: Queue;
  /** The api's general Redis connection (the HMRC pacer's counts live there). */
  redis: Redis;
  prefix: string;
  /**
   * GET with `Authorization: Bearer <key>` (keys.all unless given); HMRC's read paths also get
   * HMRC's `Accept: application/vnd.hmrc.2.1+json` unless the caller gives another.
   */
  get: (
    path: string,
    options?: { key?: string; headers?: Record<string, string> },
  ) => Promise<TestResponse>;
  close: () => Promise<void>;
}

/**
 * `env` adds or overrides settings (e.g. ADMIN_QUEUE_WRITE). `readDatabase`: a second database
 * of its own stands for the read replica (DATABASE_READ_URL), so a test can tell which one a
 * route read.
 */
export async function startTestApi(
  env: Record<string, string> = {},
  { readDatabase = false, readDb }: { readDatabase?: boolean; readDb?: Db } = {},
): Promise<TestApi> {
  const testDb: TestDatabase = await createTestDatabase();
  const readTestDb: TestDatabase | undefined = readDatabase
    ? await createTestDatabase()
    : undefined;
  const replica = readDb ?? readTestDb?.db;
  const testRedis: TestRedis = createTestRedis();
  const config = loadApiConfig({
    DATABASE_URL: testDb.url,
    REDIS_URL: testRedis.url,
    QUEUE_PREFIX: testRedis.prefix,
    API_KEYS: `${keys.all}:*,${keys.a}:${eoriA},${keys.b}:${eoriB}`,
    HMRC_API_BASE_URL: 'http://127.0.0.1:9',
    HMRC_CLIENT_ID: 'test-client',
    HMRC_CLIENT_SECRET: 'test-secret',
    TOKEN_ENCRYPTION_KEY: '0'.repeat(64),
    LOG_LEVEL: 'silent',
    ...env,
  });
  const redis = createRedis(testRedis.url, 'client');
  const producer = createRedis(testRedis.url, 'producer');
  await Promise.all([waitForRedis(redis), waitForRedis(producer)]);
  const ingestQueue = createQueue(queueNames.ingest, producer, testRedis.prefix);
  const hmrcQueue = createQueue(queueNames.hmrc, producer, testRedis.prefix);
  const opsQueue = createQueue(queueNames.ops, producer, testRedis.prefix);
  const validator = new XsdValidator();
  const parser = new NctsParser();
  const logger = createLogger({ service: 'api-test', level: 'silent' });

  const app = createApiApp(
    {
      config,
      db: testDb.db,
      ...(replica ? { readDb: replica } : {}),
      redis,
      ingestQueue,
      hmrcQueue,
      opsQueue,
      validator,
      parser,
      logger,
    },
    {},
  );
  // The same HTTP server as production (start.ts): its answers to what Node's parser refuses.
  const { server, port } = await listen(app, 0, '127.0.0.1');
  const baseUrl = `http://127.0.0.1:${port}`;

  return {
    baseUrl,
    app,
    db: testDb.db,
    readDb: replica ?? testDb.db,
    ingestQueue,
    hmrcQueue,
    redis,
    prefix: testRedis.prefix,
    get: (path, options = {}) =>
      fetch(`${baseUrl}${path}`, {
        headers: {
          authorization: `Bearer ${options.key ?? keys.all}`,
          ...(path.startsWith('/customs/transits/movements/') && {
            accept: 'application/vnd.hmrc.2.1+json',
          }),
          ...options.headers,
        },
      }) as Promise<TestResponse>,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // fetch keeps connections alive; without this, close() waits for their idle timeout.
      server.closeAllConnections();
      await closed;
      await ingestQueue.close();
      await hmrcQueue.close();
      await opsQueue.close();
      await validator.close();
      await parser.close();
      producer.disconnect();
      redis.disconnect();
      await testRedis.cleanup();
      await testDb.destroy();
      await readTestDb?.destroy();
    },
  };
}
