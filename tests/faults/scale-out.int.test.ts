// Scale-out on one machine: two receivers, two workers and two api processes share one Redis
// and one PostgreSQL. Load goes through both receivers and both apis. Nothing is lost or stored
// twice, HMRC's rate budget (3/s here, HMRC's default) holds across both workers, reconciliation
// runs once per schedule, and every Redis key carries the QUEUE_PREFIX hash tag `{ctc}` (one
// Redis Cluster slot per deployment).
import { expectHealthy, Harness } from './harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start({
    name: 'scale-out',
    receivers: 2,
    workers: 2,
    apis: 2,
    queuePrefix: '{ctc}',
    rateLimitPerSecond: 3,
    load: { submissionsPerSecond: 0.6, largeEveryMovements: 6 },
  });
}, 60_000);
afterAll(async () => {
  await harness?.stop();
}, 60_000);

/** Redis Cluster's hash tag: the text between the first `{` and the next `}`, if not empty. */
function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

it('shares the work without duplicates, losses, 429s or doubled reconciliation', async () => {
  harness.load.start();
  await harness.run(20_000);
  await harness.settle();
  const report = await harness.check();
  expectHealthy(report);

  // Both receivers and both apis took their share.
  const byReceiver = Object.values(harness.gateway.acceptedBy);
  expect(byReceiver).toHaveLength(2);
  for (const count of byReceiver) expect(count).toBeGreaterThan(50);
  const byApi = new Map<string, number>();
  for (const submission of harness.load.submissions)
    if (submission.acceptedBy)
      byApi.set(submission.acceptedBy, (byApi.get(submission.acceptedBy) ?? 0) + 1);
  expect(byApi.size).toBe(2);

  // One budget for both workers: never more than 3 calls in a sampled second, and the sandbox's
  // sliding-second limit refused (next to) nothing. The pacer's window margin is 50 ms; on a
  // loaded 2-core machine scheduling jitter sometimes exceeds it and one call lands 429 (it is
  // paused for and retried, as the totals above show). FAULTS_STRICT_RATE=1 demands zero; see
  // docs/RELIABILITY.md.
  expect(report.hmrc.peakCallsPerSecond).toBeLessThanOrEqual(3);
  const refused = report.hmrc.throttledByRateLimit - report.hmrc.throttledAfterSandboxStall;
  if (process.env.FAULTS_STRICT_RATE === '1') expect(refused).toBe(0);
  else
    expect(refused).toBeLessThanOrEqual(
      Math.max(2, Math.floor(report.hmrc.callsLetThrough * 0.03)),
    );

  // Reconciliation ran once per schedule, not once per worker.
  const elapsedSeconds = (Date.now() - harness.startedAt) / 1000;
  const states = await harness.db
    .selectFrom('reconcile_state')
    .select(['scope', 'kind', 'runs'])
    .execute();
  const ppns = states.filter((state) => state.kind === 'ppns');
  const ctc = states.filter((state) => state.kind === 'ctc');
  expect(ppns).toHaveLength(1);
  expect(ctc).toHaveLength(2);
  const ppnsRuns = ppns[0]!.runs;
  expect(ppnsRuns).toBeGreaterThanOrEqual(1);
  expect(ppnsRuns).toBeLessThanOrEqual(Math.floor(elapsedSeconds / 10) + 2);
  for (const state of ctc)
    expect(state.runs).toBeLessThanOrEqual(Math.floor(elapsedSeconds / 30) + 2);
  let pullLists = 0;
  for (const [endpoint, byStatus] of Object.entries(harness.sandbox.controls.stats().api))
    if (endpoint.startsWith('GET ') && endpoint.includes('push-pull-notification/box'))
      pullLists += Object.values(byStatus).reduce((sum, count) => sum + count, 0);
  // PENDING then FAILED, one page each, per pull (+1 pull that may still be in progress).
  expect(pullLists).toBeLessThanOrEqual(2 * (ppnsRuns + 1));

  // Every key in Redis hashes by the prefix's tag.
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await harness.checkRedis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  const untagged = keys.filter((key) => hashTag(key) !== 'ctc');
  expect(keys.length).toBeGreaterThan(100);
  expect(untagged).toEqual([]);
  harness.extra.redisKeys = keys.length;
  harness.extra.redisKeyFamilies = [
    ...new Set(
      keys.map((key) =>
        key
          .split(':')
          .slice(0, 3)
          .join(':')
          .replace(/[0-9a-f-]{16,}.*/, '*'),
      ),
    ),
  ].sort();
  harness.extra.reconcileRuns = Object.fromEntries(
    states.map((state) => [state.scope, state.runs]),
  );
  harness.extra.pullListCalls = pullLists;
  harness.extra.acceptedByReceiver = byReceiver;
  harness.extra.acceptedByApi = [...byApi.values()];
  await harness.check();
}, 120_000);
