// Fault 1: a worker is killed with SIGKILL while it holds ingest jobs (a micro-batch in flight),
// under steady load, then started again. Its jobs must be taken over, nothing lost or doubled.
import { queueNames } from '@ctc-hub/queue';
import { waitFor } from '@ctc-hub/testing';
import { expectHealthy, Harness } from './harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start({ name: 'worker-kill', workers: 2 });
}, 60_000);
afterAll(async () => {
  await harness?.stop();
}, 60_000);

it('loses and doubles nothing when a worker is killed mid-batch and restarted', async () => {
  harness.load.start();
  await harness.run(4000);
  const victim = harness.workers[0]!;
  const activeKey = `${harness.queuePrefix}:${queueNames.ingest}:active`;
  const fault = await harness.fault('SIGKILL worker-1 mid-batch, restart', async () => {
    const active = await waitFor(
      async () => {
        const count = await harness.checkRedis.llen(activeKey);
        return count > 0 ? count : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 5, what: 'ingest jobs in hand' },
    );
    await victim.signal('SIGKILL');
    await victim.start();
    return { activeIngestJobsAtKill: active };
  });
  await harness.recovered(fault);
  await harness.run(2000);
  await harness.settle();
  const report = await harness.check();
  expectHealthy(report);
  expect(victim.exits).toEqual([expect.objectContaining({ signal: 'SIGKILL', expected: true })]);
}, 120_000);
