import type { WorkerConfig } from '@ctc-hub/config';
import type { Db } from '@ctc-hub/db';
import type { HmrcClients } from '@ctc-hub/hmrc-client';
import type { NctsParser } from '@ctc-hub/ncts';
import type { Logger, Meter } from '@ctc-hub/telemetry';
import type { Queue } from 'bullmq';
import type { RedisConnection } from '@ctc-hub/queue';
import type { IngestStore } from '../inbound/store.js';
import type { IngestMetrics } from './metrics.js';
import type { HmrcPacing } from './pacing.js';

/** What background work (the ops queue and the long-running tasks) may use. */
export interface OpsDeps {
  config: WorkerConfig;
  db: Db;
  hmrc: HmrcClients;
  store: IngestStore;
  logger: Logger;
  /** The worker's meter: gauges and counters of background work are made from it. */
  meter: Meter;
  /** A general-purpose Redis connection (no blocking commands). */
  redis: RedisConnection;
  queues: { ingest: Queue; hmrc: Queue; ops: Queue };
}

/** Collaborators of every processor on the `hmrc` queue. */
export interface HmrcDeps {
  config: WorkerConfig;
  db: Db;
  hmrc: HmrcClients;
  parser: NctsParser;
  store: IngestStore;
  hmrcQueue: Queue;
  /** Pulled notifications go through the same ingest path as pushed ones. */
  ingestQueue: Queue;
  logger: Logger;
  metrics: IngestMetrics;
  /** Pauses the whole hmrc queue (BullMQ's shared limiter) after HMRC answered 429. */
  rateLimit: (ms: number) => Promise<void>;
  /** A PPNS box's next list call and its pull lock (runtime/pacing.ts). */
  boxPulls: Pick<HmrcPacing, 'boxReadyIn' | 'lockBoxPull'>;
}

/** Transient failure: the job fails and BullMQ retries it with backoff. */
export class RetryLater extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RetryLater';
  }
}

/** A long-running part of the worker, started with it and stopped (in reverse order) with it. */
export interface BackgroundTask {
  name: string;
  start: (deps: OpsDeps) => Promise<{ stop: () => Promise<void> }>;
}
