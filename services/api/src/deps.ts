import type { ApiConfig } from '@ctc-hub/config';
import type { Db } from '@ctc-hub/db';
import type { NctsParser, XsdValidator } from '@ctc-hub/ncts';
import type { Logger, ServiceMetrics } from '@ctc-hub/telemetry';
import type { Queue } from 'bullmq';
import type { RedisConnection } from '@ctc-hub/queue';

/** Collaborators of the api's routes, built once in start(). */
export interface ApiDeps {
  config: ApiConfig;
  db: Db;
  /**
   * The read-only replica (DATABASE_READ_URL) for the read routes: movements, messages and the
   * change feed (app.ts mounts them with it as their `db`). Absent: they read `db`.
   */
  readDb?: Db;
  redis: RedisConnection;
  /** The ingest queue, to report notifications that are accepted but not yet stored. */
  ingestQueue: Queue;
  /** The hmrc queue: submissions and Guarantee Balance checks are queued here. */
  hmrcQueue: Queue;
  /** The ops queue: bulk dead-letter replays are queued here. */
  opsQueue: Queue;
  /** NCTS schema validation of submissions, in worker threads (compiled once). */
  validator: XsdValidator;
  /** Parses submissions; large ones in a worker thread so the event loop stays free. */
  parser: NctsParser;
  logger: Logger;
  /** The api's own metrics (HMRC calls of the OAuth flow, /metrics); absent in route tests. */
  telemetry?: ServiceMetrics;
}
