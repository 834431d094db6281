// Risk retired: RECONCILE_ENABLED=false really stops reconciliation — no PPNS pull and no CTC
// sweep reach HMRC, not even from a tick a replica with reconciliation on left in Redis.
import { jobs } from '@ctc-hub/queue';
import { waitFor } from '@ctc-hub/testing';
import { hmrcCalls, openQueues, reconcileEnv, total } from './reconcile-support.js';
import { hex16, startE2E, type E2E } from './support.js';

let e2e: E2E;
let queues: ReturnType<typeof openQueues>;
beforeAll(async () => {
  e2e = await startE2E(reconcileEnv({ RECONCILE_ENABLED: 'false' }));
  queues = openQueues(e2e);
}, 60_000);
afterAll(async () => {
  await queues?.close();
  await e2e?.stop();
});

const controls = () => e2e.stack.sandbox!.controls;

it('makes no reconciliation call to HMRC, and recovers nothing, when disabled', async () => {
  expect(await queues.ops.getJobSchedulers()).toEqual([]);
  // Connecting the trader checks the connection against HMRC: one movement list per movement
  // type (not reconciliation). Those are the only list calls allowed.
  const listCalls = () => total(hmrcCalls(controls(), 'GET /customs/transits/movements/'));
  await waitFor(async () => (listCalls() >= 2 ? true : undefined), {
    timeoutMs: 10_000,
    what: 'the new connection checked',
  });
  // A message whose push is dropped (only a pull would find it) and one never notified (only a
  // sweep would): with reconciliation off, both stay at HMRC only.
  controls().setFaults({ push: { dropRate: 1 } });
  const dropped = controls().injectMessage('departure', hex16(), {
    generate: { messageType: 'IE028' },
  });
  controls().setFaults({ push: { loseRate: 1 } });
  const lost = controls().injectMessage('arrival', hex16(), { generate: { messageType: 'IE043' } });
  controls().clearFaults();

  // As if a replica with RECONCILE_ENABLED=true had left its schedule behind: ticks run here.
  await queues.ops.upsertJobScheduler(
    'reconcile-tick',
    { every: 1000 },
    { name: jobs.reconcileTick.name, data: {} },
  );
  await waitFor(
    async () => ((await queues.ops.getJobCountByTypes('completed')) >= 3 ? true : undefined),
    { timeoutMs: 15_000, what: 'three ticks run' },
  );
  // Enabled, the first tick would have queued a pull and both sweeps at once; give anything
  // queued time to reach HMRC before looking.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  await queues.ops.removeJobScheduler('reconcile-tick');

  expect(total(hmrcCalls(controls(), 'GET /misc/push-pull-notification/'))).toBe(0);
  expect(total(hmrcCalls(controls(), '/notifications/acknowledge'))).toBe(0);
  expect(listCalls()).toBe(2);
  const ticks = await queues.ops.getJobs(['completed'], 0, 10);
  expect(ticks.length).toBeGreaterThan(0);
  for (const tick of ticks)
    expect(tick.returnvalue).toEqual({ skipped: 'RECONCILE_ENABLED is false' });
  const held = await e2e.testDb.db
    .selectFrom('messages')
    .select('message_id')
    .where('message_id', 'in', [dropped.messageId, lost.messageId])
    .execute();
  expect(held).toEqual([]);
  expect(await e2e.testDb.db.selectFrom('reconcile_state').selectAll().execute()).toEqual([]);
}, 40_000);
