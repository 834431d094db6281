import type { OpsData } from './ops-data.js';
import { verdictOf } from './ops-verdict.js';

const counts = { waiting: 0, prioritized: 0, active: 0, delayed: 0, failed: 0, completed: 0 };
const queue = (name: string, oldestWaitingAgeSeconds = 0, active = 0) => ({
  name,
  counts: { ...counts, active },
  oldestWaitingAgeSeconds,
  delayed: { oldestAgeSeconds: 0, retrying: 0, nextDueInSeconds: null },
});

const quiet = (): Omit<OpsData, 'verdict'> => ({
  generatedAt: new Date().toISOString(),
  queues: [queue('ingest'), queue('hmrc'), queue('ops')],
  queueError: null,
  submissions: {
    counts: { queued: 0, retrying: 0, sending: 0, failedLastHour: 0 },
    oldestInFlightAgeSeconds: 0,
    stuck: [],
    failed: [],
  },
  ingestLatency: { count: 0, p50Seconds: null, p99Seconds: null },
  traders: { total: 0, connected: 0, listed: [] },
  throughput: { minutes: [], total: 0 },
  deadLetters: { byKind: [], open: 0, byCode: [] },
  reconciliation: { scopes: [], total: 0, recovered: 0 },
  hmrcBudget: {
    limitPerSecond: 3,
    budgetPerMinute: 180,
    pacedPerMinute: 171,
    minutes: [],
    peakUse: 0,
  },
  connections: { attention: [], total: 0 },
});

describe('the /ops verdict', () => {
  it('is healthy when nothing waits, fails or needs anyone', () => {
    expect(verdictOf(quiet())).toEqual({ level: 'healthy', reasons: [] });
  });

  it('is down when Redis cannot be read, or ingest waits with nobody working on it', () => {
    expect(verdictOf({ ...quiet(), queues: [], queueError: 'connect ECONNREFUSED' })).toMatchObject(
      {
        level: 'down',
        reasons: [{ level: 'down', text: expect.stringContaining('ECONNREFUSED') }],
      },
    );
    const stalled = { ...quiet(), queues: [queue('ingest', 900, 0), queue('hmrc'), queue('ops')] };
    expect(verdictOf(stalled).level).toBe('down');
    // The same backlog with workers on it is behind, not down.
    const busy = { ...quiet(), queues: [queue('ingest', 900, 4), queue('hmrc'), queue('ops')] };
    expect(verdictOf(busy)).toMatchObject({
      level: 'degraded',
      reasons: [{ text: 'Ingest is behind: the oldest notification has waited 15 min.' }],
    });
  });

  it('is degraded by slow ingest and old open dead letters do not count', () => {
    const slow = { ...quiet(), ingestLatency: { count: 100, p50Seconds: 1, p99Seconds: 45 } };
    expect(verdictOf(slow).reasons).toEqual([
      {
        level: 'degraded',
        text: 'Ingest is slow: p99 45.0 s over the last hour.',
        anchor: 'latency-heading',
      },
    ]);
    const old = quiet();
    old.deadLetters = {
      byKind: [],
      open: 3,
      byCode: [
        { kind: 'notification', errorCode: 'X', count: 3, newestAgeSeconds: 7200, example: '' },
      ],
    };
    expect(verdictOf(old).level).toBe('healthy');
  });
});
