import type { WorkerConfig } from '@ctc-hub/config';
import type { Db } from '@ctc-hub/db';
import type { HmrcClients } from '@ctc-hub/hmrc-client';
import type { Logger, Meter } from '@ctc-hub/telemetry';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { IngestStore } from '../ingest/store.js';

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
  redis: Redis;
  queues: { ingest: Queue; hmrc: Queue; ops: Queue };
}
