import type {
  DeadLetterCode,
  IngestLatency,
  SubmissionsOverview,
  TraderAttention,
} from './ops-work.js';

/** The states the worker's ctc_queue_jobs gauge reports, in the same order. */
export const queueStates = [
  'waiting',
  'prioritized',
  'active',
  'delayed',
  'failed',
  'completed',
] as const;
export type QueueState = (typeof queueStates)[number];

export interface QueueOverview {
  name: string;
  counts: Record<QueueState, number>;
  /** Age of the oldest job waiting to run; 0 when none waits. */
  oldestWaitingAgeSeconds: number;
  /**
   * Delayed jobs (retries waiting out their backoff, work scheduled for later): how long the
   * oldest has existed, how many of them have failed at least once, and when the next is due.
   * Read from the first 100 delayed jobs.
   */
  delayed: { oldestAgeSeconds: number; retrying: number; nextDueInSeconds: number | null };
}

export interface MinuteCount {
  /** Start of the minute, ISO 8601 UTC. */
  minute: string;
  count: number;
}

export interface ReconcileScope {
  scope: string;
  kind: string;
  lastRunAt: string | null;
  lastSuccessAt: string | null;
  /** Seconds since the last success; null when the scope never succeeded. */
  lastSuccessAgeSeconds: number | null;
  lastError: string | null;
  runs: number;
  recovered: number;
}

/** What /ops shows and /ops/data returns. */
export interface OpsData {
  generatedAt: string;
  /** healthy / degraded / down, with its reasons. */
  verdict: Verdict;
  queues: QueueOverview[];
  /** Why the queues could not be read (Redis unreachable), or null. */
  queueError: string | null;
  submissions: SubmissionsOverview;
  ingestLatency: IngestLatency;
  /** Traders someone must act for (broken or expiring connections, failing reconciliation). */
  traders: { total: number; connected: number; listed: TraderAttention[] };
  /** Messages stored per minute over the last hour (events `message.received`), oldest first. */
  throughput: { minutes: MinuteCount[]; total: number };
  deadLetters: {
    byKind: { kind: string; status: string; count: number }[];
    open: number;
    /** Open dead letters by kind and error code, most first. */
    byCode: DeadLetterCode[];
  };
  reconciliation: { scopes: ReconcileScope[]; total: number; recovered: number };
  hmrcBudget: {
    limitPerSecond: number;
    /** HMRC's allowance: limitPerSecond × 60. */
    budgetPerMinute: number;
    /** What the pacer hands out at most (its spacing keeps a 5% margin under the allowance). */
    pacedPerMinute: number;
    /** HMRC calls per minute over the last hour (the last minute is still running). */
    minutes: MinuteCount[];
    /** The busiest minute of the hour, as a share of budgetPerMinute (0..1+). */
    peakUse: number;
  };
  /** Trader connections an operator must act on: mismatched, or unverified with nobody vouching. */
  connections: {
    attention: {
      eori: string;
      verification: string;
      observedEori: string | null;
      since: string;
      quarantinedMovements: number;
    }[];
    total: number;
  };
}

export type VerdictLevel = 'healthy' | 'degraded' | 'down';

export interface VerdictReason {
  level: Exclude<VerdictLevel, 'healthy'>;
  text: string;
  /** The section of the page that shows it. */
  anchor: string;
}

export interface Verdict {
  level: VerdictLevel;
  reasons: VerdictReason[];
}
