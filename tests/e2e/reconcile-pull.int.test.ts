// Risk retired: a push PPNS never delivered (dropped: the notification sits PENDING in the box) is
// found by pulling the box and stored exactly once through the normal ingest path, including
// bodies over 80,000 bytes, more than 100 notifications sharing one timestamp, acknowledgements
// that fail, a second worker replica and ticks repeated on purpose.
import { loadWorkerConfig } from '@ctc-hub/config';
import { jobs } from '@ctc-hub/queue';
import { waitFor } from '@ctc-hub/testing';
import { startWorker, type WorkerHandle } from '@ctc-hub/worker';
import { sql } from 'kysely';
import {
  boxNotifications,
  firstRunsDone,
  hmrcCalls,
  injectDemoFlow,
  messagesAtHmrc,
  metricValue,
  notificationRows,
  openQueues,
  reconcileEnv,
  reconcileState,
  total,
  waitUntilAllStored,
} from './reconcile-support.js';
import { hex16, startE2E, type E2E } from './support.js';

let e2e: E2E;
let queues: ReturnType<typeof openQueues>;
beforeAll(async () => {
  // The CTC sweep runs once at start-up and then not for 10 minutes: what is recovered here is
  // recovered by the pull.
  e2e = await startE2E(reconcileEnv({ RECONCILE_INTERVAL_SECONDS: '600' }));
  queues = openQueues(e2e);
  await firstRunsDone(e2e);
}, 60_000);
afterAll(async () => {
  await queues?.close();
  await e2e?.stop();
});
afterEach(() => {
  controls().clearFaults();
  controls().configure({ pinnedCreatedAt: null });
});

const controls = () => e2e.stack.sandbox!.controls;
const boxId = () => e2e.stack.env.PPNS_BOX_IDS!;
const ppnsScope = () => `ppns:${boxId()}`;
const listCalls = () => hmrcCalls(controls(), 'GET /misc/push-pull-notification/');
const ackCalls = () => hmrcCalls(controls(), '/notifications/acknowledge');

it('recovers pushes PPNS dropped by pulling the box, every message stored exactly once', async () => {
  // Seed 6 drops 6 of the 20 pushes, one of them a message over 80,000 bytes.
  controls().setFaults({ seed: 6, push: { dropRate: 0.3 } });
  const injected = injectDemoFlow(controls());
  await controls().settle();
  const box = boxNotifications(controls());
  const dropped = box.filter((notification) => notification.attempts === 0);
  expect(dropped.length).toBeGreaterThan(0);
  expect(dropped.some((notification) => !notification.inline)).toBe(true);
  const recoveredBefore = await metricValue(e2e, 'ctc_reconcile_recovered_messages_total', {
    via: 'pull',
  });

  const stored = await waitUntilAllStored(e2e);

  expect(messagesAtHmrc(controls())).toHaveLength(injected.length);
  for (const message of injected) expect(stored.get(message.messageId)).toBe(1);
  const notifications = await notificationRows(e2e);
  for (const notification of box) {
    expect(notifications.get(notification.notificationId)?.rows).toBe(1);
  }
  for (const notification of dropped) {
    expect(notifications.get(notification.notificationId)?.source).toBe('pull');
  }
  // The large dropped message was fetched after its pulled notification: byte for byte.
  const large = dropped.find((notification) => !notification.inline)!;
  const row = await e2e.testDb.db
    .selectFrom('messages')
    .select(['body', 'source'])
    .where('message_id', '=', large.messageId)
    .executeTakeFirstOrThrow();
  const atHmrc = controls()
    .movement(large.movementId)!
    .messages.find((message) => message.id === large.messageId)!;
  expect(Buffer.compare(row.body, atHmrc.body!)).toBe(0);

  // Each dropped message counted once as recovered via pull, and PPNS told we have them all.
  const state = await reconcileState(e2e, ppnsScope());
  expect(state).toMatchObject({ kind: 'ppns', recovered: dropped.length, last_error: null });
  expect(state!.last_success_at).not.toBeNull();
  expect(
    (await metricValue(e2e, 'ctc_reconcile_recovered_messages_total', { via: 'pull' })) -
      recoveredBefore,
  ).toBe(dropped.length);
  expect(
    await metricValue(e2e, 'ctc_reconcile_runs_total', { kind: 'ppns', outcome: 'ok' }),
  ).toBeGreaterThan(0);
  await waitFor(
    () => boxNotifications(controls()).every((notification) => notification.status !== 'PENDING'),
    { what: 'every notification acknowledged' },
  );
}, 60_000);

it('pages through 150 notifications with one timestamp, even while acknowledging fails', async () => {
  // At HMRC many notifications share a millisecond under load; fromDate is inclusive, so the
  // paging must step past a full page of them without looping and without losing the rest.
  controls().configure({ pinnedCreatedAt: Date.now() - 5_000 });
  controls().setFaults({
    push: { dropRate: 1 },
    api: { paths: '/notifications/acknowledge$', errorRate: 1, errorStatuses: [500] },
  });
  const runsBefore = (await reconcileState(e2e, ppnsScope()))!.runs;
  const listsBefore = total(listCalls());
  const acksBefore = ackCalls()['204'] ?? 0;
  const movementId = hex16();
  const messageIds = Array.from(
    { length: 150 },
    () =>
      controls().injectMessage('departure', movementId, { generate: { messageType: 'IE928' } })
        .messageId,
  );
  const ours = () =>
    e2e.testDb.db
      .selectFrom('messages')
      .select('message_id')
      .where('movement_id', '=', movementId)
      .execute();

  // Unacknowledged, the first 100 come back on every page: the pull takes them once, steps a
  // millisecond on, and ends — the other 50 wait for acknowledgements to work again.
  const failedRun = await waitFor(
    async () => {
      const state = await reconcileState(e2e, ppnsScope());
      return state!.runs >= runsBefore + 2 && (await ours()).length >= 100 ? state : undefined;
    },
    { timeoutMs: 40_000, intervalMs: 250, what: 'two pulls while acknowledging fails' },
  );
  expect(failedRun!.last_error).toMatch(/acknowledge failed/);
  expect(await ours()).toHaveLength(100);
  const runs = (await reconcileState(e2e, ppnsScope()))!.runs - runsBefore;
  // A run: PENDING page 1 (100 new), page 2 (the same 100), a millisecond on (none), FAILED (none).
  expect(total(listCalls()) - listsBefore).toBeLessThanOrEqual(4 * (runs + 1));
  expect(
    await metricValue(e2e, 'ctc_reconcile_runs_total', { kind: 'ppns', outcome: 'error' }),
  ).toBeGreaterThan(0);

  controls().setFaults({ push: { dropRate: 1 } });
  await waitFor(async () => ((await ours()).length === 150 ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 250,
    what: 'all 150 stored',
  });
  expect(new Set((await ours()).map((row) => row.message_id))).toEqual(new Set(messageIds));
  await waitFor(
    () => boxNotifications(controls()).every((notification) => notification.status !== 'PENDING'),
    { what: 'every notification acknowledged' },
  );
  // Acknowledged in PUTs of at most 100 ids: PPNS (the sandbox) answers 400 to more.
  const acks = ackCalls();
  expect(acks['400']).toBeUndefined();
  expect((acks['204'] ?? 0) - acksBefore).toBeGreaterThanOrEqual(2);
  // The pull that acknowledged them records a clean run.
  await waitFor(
    async () => ((await reconcileState(e2e, ppnsScope()))!.last_error === null ? true : undefined),
    { what: 'a pull without errors' },
  );
}, 90_000);

it('stores nothing twice with a second worker replica and ticks repeated on purpose', async () => {
  let second: WorkerHandle | undefined;
  try {
    second = await startWorker(loadWorkerConfig({ ...e2e.stack.env, WORKER_PORT: '0' }));
    // Both replicas upserted the schedule: there is still one, so each tick runs once.
    const schedulers = await queues.ops.getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]).toMatchObject({ key: 'reconcile-tick', every: 1000 });
    // Pushes dropped (pull finds them) and notifications lost (only the sweep finds them).
    controls().setFaults({ seed: 8, push: { dropRate: 0.5, loseRate: 0.3 } });
    const injected = injectDemoFlow(controls());
    await controls().settle();

    // Every scope made due again and again, with ticks queued by hand on top of the schedule,
    // and pulls of the box queued under ids the dedupe does not know.
    for (let round = 0; round < 4; round += 1) {
      await sql`UPDATE reconcile_state SET last_run_at = NULL`.execute(e2e.testDb.db);
      await Promise.all([
        ...Array.from({ length: 3 }, () => queues.ops.add(jobs.reconcileTick.name, {})),
        queues.hmrc.add(jobs.ppnsPull.name, { boxId: boxId() }, { jobId: `extra-pull-${round}` }),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    }
    const stored = await waitUntilAllStored(e2e);
    await queues.drained();

    for (const message of injected) expect(stored.get(message.messageId)).toBe(1);
    for (const [, count] of stored) expect(count).toBe(1);
    const notifications = await notificationRows(e2e);
    for (const notification of boxNotifications(controls())) {
      expect(notifications.get(notification.notificationId)?.rows).toBe(1);
    }
    // The change feed tells internal systems about each message once.
    const feed = await e2e.testDb.db
      .selectFrom('events')
      .select(['message_id', sql<number>`count(*)::int`.as('events')])
      .where('kind', '=', 'message.received')
      .groupBy('message_id')
      .execute();
    expect(feed.length).toBe(stored.size);
    for (const { events } of feed) expect(events).toBe(1);
  } finally {
    await second?.stop();
  }
}, 90_000);
