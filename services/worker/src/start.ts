import { redactUrl, type WorkerConfig } from '@ctc-hub/config';
import { createDb, ensurePartitions, pingDb } from '@ctc-hub/db';
import { createHmrcClients } from '@ctc-hub/hmrc-client';
import { NctsParser } from '@ctc-hub/ncts';
import {
  backoffType,
  createQueue,
  createRedis,
  jitteredBackoff,
  RedisDurabilityGuard,
  jobs,
  queueNames,
  spacingFor,
} from '@ctc-hub/queue';
import { createLogger, initTelemetry, listen, opsRoutes, type Logger } from '@ctc-hub/telemetry';
import { Worker } from 'bullmq';
import express from 'express';
import { isFinalFailure, recordFinalFailure } from './dead-letters/final-failures.js';
import { backgroundTasks } from './tasks.js';
import {
  createHmrcProcessor,
  createOpsProcessor,
  ingestHandlers,
  opsConcurrency,
  processorOf,
} from './handlers.js';
import type { OpsDeps } from './runtime/deps.js';
import { createHmrcPacing } from './runtime/pacing.js';
import { IngestStore } from './inbound/store.js';
import { startOutboxRelay } from './submissions/outbox-relay.js';
import { ingestMetrics, registerQueueMetrics } from './runtime/metrics.js';

/**
 * The shared HMRC budget is enforced twice, both globally through Redis:
 *  - every call books a slot from the RatePacer ((1000 + 50) / N ms apart, and no two actual
 *    departures closer than (1000 + 25) / N, a departure being the moment the request's bytes
 *    leave), so no sliding second ever holds more than N calls, even when a job makes two (a 401
 *    retry, the check before resending) or a call leaves late (runtime/pacing.ts);
 *  - BullMQ's limiter starts at most one hmrc job per 0.9 slot, so jobs do not pile up waiting
 *    for slots while holding their locks. A fixed window of N jobs per 1000 ms would not do: HMRC's
 *    gateway may count a sliding second, and two windows' worth could land in one.
 */
export function hmrcLimiter(perSecond: number): { max: number; duration: number } {
  // A little shorter than the pacer's spacing: the pacer sets the pace (and keeps the margin);
  // a limiter exactly as long as a slot adds its own few ms of lateness to every slot, which
  // measured cost about 2% of the budget (93% used instead of 95%).
  return { max: 1, duration: Math.floor(spacingFor(perSecond) * 0.9) };
}

export interface WorkerHandle {
  port: number;
  stop: () => Promise<void>;
}

/** Exponential backoff with jitter; submissions start from SUBMIT_BACKOFF_BASE_MS (minutes in all). */
const backoffStrategyFor =
  (config: WorkerConfig) =>
  (attemptsMade: number, type?: string, _error?: Error, job?: { name: string }) =>
    type === backoffType || type === undefined
      ? jitteredBackoff(attemptsMade, {
          baseMs: job?.name === jobs.submit.name ? config.SUBMIT_BACKOFF_BASE_MS : 1000,
          capMs: job?.name === jobs.submit.name ? 10 * 60_000 : 5 * 60_000,
        })
      : 1000;

/** Starts the ingest and hmrc processors and the worker's ops endpoints. */
export async function startWorker(
  config: WorkerConfig,
  options: { logger?: Logger } = {},
): Promise<WorkerHandle> {
  const logger = options.logger ?? createLogger({ service: 'worker', level: config.LOG_LEVEL });
  const telemetry = initTelemetry({
    serviceName: 'ctc-hub-worker',
    otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    sampleRatio: config.OTEL_TRACES_SAMPLER_ARG,
  });

  // The worker holds every queued job: refuse a Redis that could forget or evict them.
  const redisGuard = await RedisDurabilityGuard.open(config, logger);
  redisGuard.observeWith(telemetry.meter);
  const db = createDb({
    url: config.DATABASE_URL,
    poolMax: config.DATABASE_POOL_MAX,
    applicationName: 'ctc-hub-worker',
  });
  await ensurePartitions(db).catch((error: unknown) =>
    logger.warn(
      { err: error, database: redactUrl(config.DATABASE_URL) },
      'could not prepare partitions in the PostgreSQL of DATABASE_URL (will retry daily)',
    ),
  );
  const parser = new NctsParser({
    threadThresholdBytes: config.PARSE_IN_THREAD_BYTES,
    maxBytes: config.MAX_MESSAGE_BYTES + 1024,
  });
  const pacerConnection = createRedis(config, 'worker');
  const pacing = createHmrcPacing(pacerConnection, config);
  const hmrc = createHmrcClients(config, {
    db,
    logger,
    meter: telemetry.meter,
    beforeRequest: pacing.clear,
  });
  const metrics = ingestMetrics(telemetry.meter);
  const store = new IngestStore(db, logger, {
    maxBatch: config.INGEST_BATCH_SIZE,
    maxWaitMs: config.INGEST_BATCH_MAX_WAIT_MS,
    meter: telemetry.meter,
    connectionMismatches: metrics.connectionMismatches,
  });

  const producer = createRedis(config, 'worker');
  const ingestQueue = createQueue(queueNames.ingest, producer, config.QUEUE_PREFIX);
  const hmrcQueue = createQueue(queueNames.hmrc, producer, config.QUEUE_PREFIX);
  const opsQueue = createQueue(queueNames.ops, producer, config.QUEUE_PREFIX);
  registerQueueMetrics(telemetry.meter, [ingestQueue, hmrcQueue, opsQueue]);

  // A dead process's jobs come back after the lock expires and a stalled check sees it.
  const jobLocks = {
    lockDuration: config.WORKER_JOB_LOCK_MS,
    stalledInterval: config.WORKER_JOB_LOCK_MS,
  };
  const ingestConnection = createRedis(config, 'worker');
  const hmrcConnection = createRedis(config, 'worker');
  const opsConnection = createRedis(config, 'worker');
  const ingestWorker = new Worker(
    queueNames.ingest,
    processorOf(
      queueNames.ingest,
      ingestHandlers({
        parser,
        store,
        hmrcQueue,
        logger,
        metrics,
        apiVersion: config.CTC_API_VERSION,
        fetchAttempts: config.FETCH_MAX_ATTEMPTS,
      }),
    ),
    {
      connection: ingestConnection,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.INGEST_CONCURRENCY,
      settings: { backoffStrategy: backoffStrategyFor(config) },
      ...jobLocks,
    },
  );

  // Every HMRC call goes through this queue: BullMQ's limiter is global across worker replicas,
  // so HMRC_RATE_LIMIT_PER_SECOND is one budget for the whole deployment.
  const hmrcWorker: Worker = new Worker(
    queueNames.hmrc,
    createHmrcProcessor({
      config,
      db,
      hmrc,
      parser,
      store,
      hmrcQueue,
      ingestQueue,
      logger,
      metrics,
      rateLimit: async (ms) => {
        await Promise.all([hmrcWorker.rateLimit(ms), pacing.application.pause(ms)]);
      },
      boxPulls: pacing,
    }),
    {
      connection: hmrcConnection,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.HMRC_CONCURRENCY,
      limiter: hmrcLimiter(config.HMRC_RATE_LIMIT_PER_SECOND),
      settings: { backoffStrategy: backoffStrategyFor(config) },
      ...jobLocks,
    },
  );

  const opsDeps: OpsDeps = {
    config,
    db,
    hmrc,
    store,
    logger,
    meter: telemetry.meter,
    redis: producer,
    queues: { ingest: ingestQueue, hmrc: hmrcQueue, ops: opsQueue },
  };
  const opsWorker = new Worker(queueNames.ops, createOpsProcessor(opsDeps), {
    connection: opsConnection,
    prefix: config.QUEUE_PREFIX,
    concurrency: opsConcurrency,
    settings: { backoffStrategy: backoffStrategyFor(config) },
    ...jobLocks,
  });

  for (const worker of [ingestWorker, hmrcWorker, opsWorker]) {
    worker.on('error', (error) => logger.error({ err: error, queue: worker.name }, 'worker error'));
    worker.on('failed', (job, error) => {
      if (job === undefined || error.name === 'RateLimitError') return;
      if (isFinalFailure(job, error)) void recordFinalFailure(job, error, store, logger);
      else
        logger.warn(
          { jobId: job.id, queue: worker.name, attempt: job.attemptsMade, error: error.message },
          'job failed; will retry',
        );
    });
  }

  const app = express();
  app.disable('x-powered-by');
  app.use(
    opsRoutes(
      {
        postgres: () => pingDb(db),
        redis: () => producer.ping(),
        redisDurability: redisGuard.readiness,
      },
      {},
      telemetry,
    ),
  );
  const { server, port } = await listen(app, config.WORKER_PORT, config.HTTP_HOST);
  const relay = startOutboxRelay({
    db,
    hmrcQueue,
    logger,
    submitAttempts: config.SUBMIT_MAX_ATTEMPTS,
    intervalMs: config.OUTBOX_RELAY_SECONDS * 1000,
    minAgeSeconds: config.OUTBOX_RELAY_SECONDS * 2,
  });
  const partitionTimer = setInterval(
    () => {
      ensurePartitions(db).catch((error: unknown) =>
        logger.warn({ err: error }, 'could not prepare partitions'),
      );
    },
    24 * 3600 * 1000,
  );
  partitionTimer.unref();
  const tasks: { name: string; stop: () => Promise<void> }[] = [];
  for (const task of backgroundTasks) {
    tasks.push({ name: task.name, ...(await task.start(opsDeps)) });
  }
  logger.info(
    { port, ingestConcurrency: config.INGEST_CONCURRENCY, batch: config.INGEST_BATCH_SIZE },
    'worker started',
  );

  return {
    port,
    stop: async () => {
      clearInterval(partitionTimer);
      relay.stop();
      for (const task of tasks.reverse()) {
        await task
          .stop()
          .catch((error: unknown) =>
            logger.warn({ err: error, task: task.name }, 'task did not stop cleanly'),
          );
      }
      // Finish the jobs in hand (their batches commit), then release everything.
      await Promise.all([ingestWorker.close(), hmrcWorker.close(), opsWorker.close()]);
      await store.close();
      await Promise.all([ingestQueue.close(), hmrcQueue.close(), opsQueue.close()]);
      for (const connection of [
        producer,
        ingestConnection,
        hmrcConnection,
        opsConnection,
        pacerConnection,
      ]) {
        connection.disconnect();
      }
      redisGuard.close();
      await parser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await db.destroy();
    },
  };
}
