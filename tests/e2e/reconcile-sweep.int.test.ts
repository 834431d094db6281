// Risk retired: a message whose notification never reached PPNS (lost between HMRC's router and
// PPNS: nothing to pull) is found by sweeping the CTC API — movements updated since the mark, then
// their messages — fetched and stored exactly once; an archived movement is not an error, and
// sweeps running side by side store nothing twice.
import { jobIds, jobs } from '@ctc-hub/queue';
import { waitFor } from '@ctc-hub/testing';
import {
  boxNotifications,
  firstRunsDone,
  injectDemoFlow,
  messagesAtHmrc,
  metricValue,
  openQueues,
  reconcileEnv,
  reconcileState,
  waitUntilAllStored,
} from './reconcile-support.js';
import { hex16, startE2E, traderEori, type E2E } from './support.js';

let e2e: E2E;
let queues: ReturnType<typeof openQueues>;
beforeAll(async () => {
  // A sweep every 4 s re-lists each movement updated in the last 2 minutes (the overlap): with
  // the 3/s budget, shorter would keep the hmrc queue permanently busy.
  e2e = await startE2E(reconcileEnv({ RECONCILE_INTERVAL_SECONDS: '4' }));
  queues = openQueues(e2e);
  await firstRunsDone(e2e);
}, 60_000);
afterAll(async () => {
  await queues?.close();
  await e2e?.stop();
});
afterEach(() => controls().clearFaults());

const controls = () => e2e.stack.sandbox!.controls;
const scopes = [`ctc:${traderEori}:departure`, `ctc:${traderEori}:arrival`];

async function recoveredBySweeps(): Promise<number> {
  let recovered = 0;
  for (const scope of scopes) recovered += (await reconcileState(e2e, scope))?.recovered ?? 0;
  return recovered;
}

it('recovers messages whose notification PPNS never had, by sweeping the CTC API', async () => {
  // Seed 6 loses 5 of the 20 notifications, one of them for a message over 80,000 bytes.
  controls().setFaults({ seed: 6, push: { loseRate: 0.3 } });
  const injected = injectDemoFlow(controls());
  await controls().settle();
  const notified = new Set(boxNotifications(controls()).map((n) => n.messageId));
  const lost = injected.filter((message) => !notified.has(message.messageId));
  expect(lost.length).toBeGreaterThan(0);
  expect(lost.some((message) => message.large)).toBe(true);
  const recoveredBefore = await recoveredBySweeps();
  const metricBefore = await metricValue(e2e, 'ctc_reconcile_recovered_messages_total', {
    via: 'sweep',
  });

  const stored = await waitUntilAllStored(e2e);

  expect(messagesAtHmrc(controls())).toHaveLength(injected.length);
  for (const message of injected) expect(stored.get(message.messageId)).toBe(1);
  const rows = await e2e.testDb.db
    .selectFrom('messages')
    .select(['message_id', 'source', 'body', 'movement_id', 'message_type'])
    .where(
      'message_id',
      'in',
      lost.map((message) => message.messageId),
    )
    .execute();
  expect(rows).toHaveLength(lost.length);
  for (const row of rows) {
    expect(row.source).toBe('reconcile');
    const atHmrc = controls()
      .movement(row.movement_id)!
      .messages.find((message) => message.id === row.message_id)!;
    expect(row.message_type).toBe(atHmrc.messageType);
    expect(Buffer.compare(row.body, atHmrc.body!)).toBe(0);
  }
  expect((await recoveredBySweeps()) - recoveredBefore).toBe(lost.length);
  expect(
    (await metricValue(e2e, 'ctc_reconcile_recovered_messages_total', { via: 'sweep' })) -
      metricBefore,
  ).toBe(lost.length);
  expect(
    await metricValue(e2e, 'ctc_reconcile_runs_total', { kind: 'ctc', outcome: 'ok' }),
  ).toBeGreaterThan(0);
  for (const scope of scopes) {
    const state = await reconcileState(e2e, scope);
    expect(state).toMatchObject({ kind: 'ctc', last_error: null });
    // The mark trails the sweep's start by the overlap, never ahead of now.
    expect(state!.high_water_mark!.getTime()).toBeLessThan(Date.now() - 100_000);
  }
}, 60_000);

it('takes a movement HMRC no longer has (archived after 60 days) as nothing to do', async () => {
  const movementId = hex16();
  const data = {
    eori: traderEori,
    movementType: 'departure' as const,
    movementId,
    receivedSince: new Date(Date.now() - 3_600_000).toISOString(),
  };
  const job = await queues.hmrc.add(jobs.reconcileMessages.name, data, {
    jobId: jobIds.reconcileMessages('departure', movementId, data.receivedSince),
  });
  const finished = await waitFor(
    async () => ((await job.isCompleted()) || (await job.isFailed()) ? true : undefined),
    { what: 'the reconcile-messages job to finish' },
  );
  expect(finished).toBe(true);
  const done = (await queues.hmrc.getJob(job.id!))!;
  expect(done.failedReason).toBeUndefined();
  expect(done.returnvalue).toEqual({ archived: true });
  for (const scope of scopes) expect((await reconcileState(e2e, scope))!.last_error).toBeNull();
});

it('stores each message once when the same movements are swept by several jobs at once', async () => {
  // Nothing is pushed: every message is only at HMRC.
  controls().setFaults({ push: { loseRate: 1 } });
  const movementId = hex16();
  const messageIds = ['IE928', 'IE028', 'IE029'].map(
    (messageType) =>
      controls().injectMessage('departure', movementId, {
        generate: { messageType: messageType as never },
      }).messageId,
  );
  await new Promise((resolve) => setTimeout(resolve, 1_100)); // older than the grace
  const receivedSince = new Date(Date.now() - 60_000).toISOString();
  // Six sweeps of the same movement at once (as from overlapping sweeps on several replicas).
  const sweeps = await Promise.all(
    Array.from({ length: 6 }, (_, index) =>
      queues.hmrc.add(
        jobs.reconcileMessages.name,
        { eori: traderEori, movementType: 'departure', movementId, receivedSince },
        { jobId: `concurrent-sweep-${movementId}-${index}` },
      ),
    ),
  );
  await waitFor(
    async () => {
      const rows = await e2e.testDb.db
        .selectFrom('messages')
        .select('message_id')
        .where('movement_id', '=', movementId)
        .execute();
      return rows.length === messageIds.length ? rows : undefined;
    },
    { timeoutMs: 30_000, what: 'the three messages stored' },
  );
  await waitFor(
    async () => {
      const states = await Promise.all(sweeps.map((job) => job.getState()));
      return states.every((state) => state === 'completed') ? true : undefined;
    },
    { timeoutMs: 30_000, what: 'all six sweeps of the movement done' },
  );
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // fetches they may have queued
  const stored = await waitUntilAllStored(e2e);
  for (const messageId of messageIds) expect(stored.get(messageId)).toBe(1);
  for (const [, count] of stored) expect(count).toBe(1);
}, 60_000);
