import type { ApiConfig } from '@ctc-hub/config';
import { createDb, pingDb } from '@ctc-hub/db';
import { NctsParser, XsdValidator } from '@ctc-hub/ncts';
import { createQueue, createRedis, queueNames, RedisDurabilityGuard } from '@ctc-hub/queue';
import { createLogger, initTelemetry, type Logger, listen } from '@ctc-hub/telemetry';
import { createApiApp } from './app.js';

export interface ApiHandle {
  port: number;
  stop: () => Promise<void>;
}

export interface ApiOptions {
  logger?: Logger;
}

/** Starts the api: read API, submissions, OAuth connect flow, ops endpoints. */
export async function startApi(config: ApiConfig, options: ApiOptions = {}): Promise<ApiHandle> {
  const logger = options.logger ?? createLogger({ service: 'api', level: config.LOG_LEVEL });
  const telemetry = initTelemetry({
    serviceName: 'ctc-hub-api',
    otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    sampleRatio: config.OTEL_TRACES_SAMPLER_ARG,
  });
  // The api queues declarations and replays: refuse a Redis that could forget or evict them.
  const redisGuard = await RedisDurabilityGuard.open(config, logger);
  redisGuard.observeWith(telemetry.meter);
  const db = createDb({
    url: config.DATABASE_URL,
    poolMax: config.DATABASE_POOL_MAX,
    applicationName: 'ctc-hub-api',
  });
  // Read routes on a streaming replica when DATABASE_READ_URL is set (app.ts says which).
  const readDb =
    config.DATABASE_READ_URL === undefined
      ? undefined
      : createDb({
          url: config.DATABASE_READ_URL,
          poolMax: config.DATABASE_POOL_MAX,
          applicationName: 'ctc-hub-api-read',
        });
  const redis = createRedis(config, 'client');
  const producer = createRedis(config, 'producer');
  const ingestQueue = createQueue(queueNames.ingest, producer, config.QUEUE_PREFIX);
  const hmrcQueue = createQueue(queueNames.hmrc, producer, config.QUEUE_PREFIX);
  const opsQueue = createQueue(queueNames.ops, producer, config.QUEUE_PREFIX);
  const validator = new XsdValidator({ threads: config.VALIDATION_THREADS });
  const parser = new NctsParser({ maxBytes: config.SUBMISSION_MAX_BYTES + 1024 });

  const app = createApiApp(
    {
      config,
      db,
      ...(readDb ? { readDb } : {}),
      redis,
      ingestQueue,
      hmrcQueue,
      opsQueue,
      validator,
      parser,
      logger,
      telemetry,
    },
    {
      postgres: () => pingDb(db),
      redis: () => redis.ping(),
      redisDurability: redisGuard.readiness,
    },
    readDb ? { postgresReplica: () => pingDb(readDb) } : {},
  );
  const { server, port } = await listen(app, config.API_PORT, config.HTTP_HOST, {
    headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
  });
  logger.info({ port }, 'api listening');

  return {
    port,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // close() waits for every open response, and event streams (/v1/events/stream) never end
      // by themselves: give requests in flight a moment, then cut what is left. Stream clients
      // reconnect elsewhere with their Last-Event-ID.
      const cutOff = setTimeout(() => server.closeAllConnections(), 1000);
      await closed;
      clearTimeout(cutOff);
      await Promise.all([ingestQueue.close(), hmrcQueue.close(), opsQueue.close()]);
      await Promise.all([validator.close(), parser.close()]);
      // BullMQ does not close connections it was given.
      producer.disconnect();
      redis.disconnect();
      redisGuard.close();
      await db.destroy();
      await readDb?.destroy();
    },
  };
}
