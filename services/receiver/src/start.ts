import type { ReceiverConfig } from '@ctc-hub/config';
import { createDb, pingDb } from '@ctc-hub/db';
import { createQueue, createRedis, queueNames, RedisDurabilityGuard } from '@ctc-hub/queue';
import { createLogger, initTelemetry, type Logger, listen } from '@ctc-hub/telemetry';
import { createReceiverApp } from './app.js';
import { IngestEnqueuer } from './enqueuer.js';

export interface ReceiverHandle {
  port: number;
  stop: () => Promise<void>;
}

export async function startReceiver(
  config: ReceiverConfig,
  options: { logger?: Logger } = {},
): Promise<ReceiverHandle> {
  const logger = options.logger ?? createLogger({ service: 'receiver', level: config.LOG_LEVEL });
  const telemetry = initTelemetry({
    serviceName: 'ctc-hub-receiver',
    otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    sampleRatio: config.OTEL_TRACES_SAMPLER_ARG,
  });
  if (!config.PPNS_SIGNATURE_REQUIRED) {
    logger.warn(
      'PPNS_SIGNATURE_REQUIRED=false: notifications are accepted WITHOUT signature checks; never run like this in production',
    );
  }

  // A 200 promises PPNS the notification is kept: refuse a Redis that could forget it (and one
  // that does not answer at all) before taking a single request.
  const redisGuard = await RedisDurabilityGuard.open(config, logger);
  redisGuard.observeWith(telemetry.meter);

  // A hung Redis must not hold requests past the receiver's deadline.
  const producer = createRedis(config, 'producer', {
    commandTimeout: config.RECEIVER_ENQUEUE_TIMEOUT_MS,
  });
  const queue = createQueue(queueNames.ingest, producer, config.QUEUE_PREFIX);
  const enqueuer = new IngestEnqueuer(queue, config.RECEIVER_ENQUEUE_TIMEOUT_MS);
  // Postgres is not needed to accept a push; it is only reported by /readyz.
  const db = createDb({
    url: config.DATABASE_URL,
    poolMax: 1,
    applicationName: 'ctc-hub-receiver',
  });

  const app = createReceiverApp({
    config,
    enqueuer,
    logger,
    readiness: { redis: () => producer.ping(), redisDurability: redisGuard.readiness },
    informational: { postgres: () => pingDb(db) },
    telemetry,
  });
  const { server, port } = await listen(app, config.RECEIVER_PORT, config.HTTP_HOST, {
    headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.RECEIVER_REQUEST_TIMEOUT_MS,
  });
  logger.info(
    { port, signatureRequired: config.PPNS_SIGNATURE_REQUIRED, boxes: config.PPNS_BOX_IDS.length },
    'receiver listening',
  );

  return {
    port,
    stop: async () => {
      // Stop taking requests, let in-flight ones finish (their jobs get queued), then close.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
      clearTimeout(timer);
      server.closeAllConnections();
      await enqueuer.close();
      await queue.close();
      producer.disconnect();
      redisGuard.close();
      await db.destroy();
    },
  };
}
