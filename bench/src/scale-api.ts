/**
 * The api app in the bench's own process, over a given Kysely (scale benches pass a recording
 * one, so the statements each request ran can be replayed as bare SQL): one set of shared
 * resources (Redis connections, queues, the XSD validator and parser threads) serves any number
 * of app variants, each with its own settings.
 */
import { randomBytes } from 'node:crypto';
import { createApiApp } from '@ctc-hub/api';
import { loadApiConfig } from '@ctc-hub/config';
import type { Database } from '@ctc-hub/db';
import { NctsParser, XsdValidator } from '@ctc-hub/ncts';
import { createQueue, createRedis, queueNames } from '@ctc-hub/queue';
import { createLogger, initTelemetry } from '@ctc-hub/telemetry';
import { deleteKeysWithPrefix } from '@ctc-hub/testing';
import type { Kysely } from 'kysely';

export interface BenchApiResources {
  readonly prefix: string;
  /** A new app over `db`; `settings` override the bench's (HMRC unreachable, logs silent). */
  app(db: Kysely<Database>, settings: Record<string, string>): ReturnType<typeof createApiApp>;
  /** Closes what the apps share and deletes the prefix's Redis keys. */
  close(): Promise<void>;
}

export function benchApiResources(options: {
  databaseUrl: string;
  redisUrl: string;
  prefix?: string;
}): BenchApiResources {
  const { databaseUrl, redisUrl } = options;
  const prefix = options.prefix ?? `{benchapi${randomBytes(3).toString('hex')}}`;
  const redis = createRedis(redisUrl, 'client');
  const producer = createRedis(redisUrl, 'producer');
  const queues = [queueNames.ingest, queueNames.hmrc, queueNames.ops].map((name) =>
    createQueue(name, producer, prefix),
  );
  const validator = new XsdValidator();
  const parser = new NctsParser();
  const telemetry = initTelemetry({ serviceName: 'ctc-hub-api', sampleRatio: 0 });
  return {
    prefix,
    app(db, settings) {
      const config = loadApiConfig({
        DATABASE_URL: databaseUrl,
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: prefix,
        REDIS_DURABILITY: 'allow-volatile',
        HMRC_API_BASE_URL: 'http://127.0.0.1:9',
        HMRC_CLIENT_ID: 'bench',
        HMRC_CLIENT_SECRET: 'bench',
        TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
        LOG_LEVEL: 'silent',
        ...settings,
      });
      return createApiApp(
        {
          config,
          db,
          redis,
          ingestQueue: queues[0]!,
          hmrcQueue: queues[1]!,
          opsQueue: queues[2]!,
          validator,
          parser,
          logger: createLogger({ service: 'api', level: 'silent' }),
          telemetry,
        },
        {},
      );
    },
    async close() {
      await Promise.all(queues.map((queue) => queue.close()));
      await Promise.all([validator.close(), parser.close()]);
      await deleteKeysWithPrefix(redisUrl, prefix).catch(() => undefined);
      producer.disconnect();
      redis.disconnect();
    },
  };
}

/** The api's own default pool size (DATABASE_POOL_MAX), which the bare-SQL side shares. */
export const apiPoolMax = 10;
