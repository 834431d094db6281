// Risk retired: calling a PPNS box's notification list more often than HMRC allows ("call the
// endpoint no more than once every 10 seconds"): the pages and statuses of one pull, pulls
// claimed half a tick early, a second worker replica and pulls queued twice must all wait for the
// box's turn, measured where HMRC counts, at the sandbox's door. Acknowledging is another
// endpoint and is not held to it.
import { loadWorkerConfig } from '@ctc-hub/config';
import { jobs } from '@ctc-hub/queue';
import { waitFor } from '@ctc-hub/testing';
import { startWorker, type WorkerHandle } from '@ctc-hub/worker';
import { sql } from 'kysely';
import { firstRunsDone, notificationRows, openQueues, reconcileEnv } from './reconcile-support.js';
import { hex16, startE2E, type E2E } from './support.js';

let e2e: E2E;
let queues: ReturnType<typeof openQueues>;
let second: WorkerHandle | undefined;
beforeAll(async () => {
  // HMRC's rule as deployed (the default), not the shortened gap of the other pull tests.
  e2e = await startE2E(
    reconcileEnv({ RECONCILE_INTERVAL_SECONDS: '600', PPNS_LIST_MIN_GAP_MS: '' }),
  );
  queues = openQueues(e2e);
  second = await startWorker(loadWorkerConfig({ ...e2e.stack.env, WORKER_PORT: '0' }));
  await firstRunsDone(e2e);
}, 60_000);
afterAll(async () => {
  await second?.stop();
  await queues?.close();
  await e2e?.stop();
});

const controls = () => e2e.stack.sandbox!.controls;
const boxPath = () =>
  `/misc/push-pull-notification/box/${e2e.stack.env.PPNS_BOX_IDS}/notifications`;
const arrivalsAt = (path: string) =>
  controls()
    .arrivals()
    .filter((arrival) => arrival.path === path)
    .map((arrival) => arrival.at);

it('lists a box at most once every 10 seconds, across pages, pulls and replicas', async () => {
  expect(loadWorkerConfig(e2e.stack.env).PPNS_LIST_MIN_GAP_MS).toBeGreaterThanOrEqual(10_000);
  // 150 notifications push never delivers: one pull needs two pages of the PENDING list.
  controls().setFaults({ push: { dropRate: 1 } });
  const movementId = hex16();
  const messageIds = Array.from(
    { length: 150 },
    () =>
      controls().injectMessage('departure', movementId, { generate: { messageType: 'IE928' } })
        .messageId,
  );
  // Pulls made due again and again, on both replicas, and queued under ids dedupe cannot know.
  for (let round = 0; round < 4; round += 1) {
    await sql`UPDATE reconcile_state SET last_run_at = NULL WHERE kind = 'ppns'`.execute(
      e2e.testDb.db,
    );
    await queues.hmrc.add(
      jobs.ppnsPull.name,
      { boxId: e2e.stack.env.PPNS_BOX_IDS },
      { jobId: `extra-pull-${round}` },
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  await waitFor(
    async () => {
      const stored = await e2e.testDb.db
        .selectFrom('messages')
        .select('message_id')
        .where('movement_id', '=', movementId)
        .execute();
      // 150 need two acknowledgements of at most 100; the second follows its list call through
      // the shared budget, so it may arrive after the messages are stored.
      return stored.length === messageIds.length &&
        arrivalsAt(boxPath()).length >= 4 &&
        arrivalsAt(`${boxPath()}/acknowledge`).length >= 2
        ? true
        : undefined;
    },
    {
      timeoutMs: 75_000,
      intervalMs: 250,
      what: 'all 150 pulled and acknowledged, and four list calls made',
    },
  );

  // Found by the pull (the sweep ran once, at start-up, before they existed).
  const pulled = await notificationRows(e2e);
  expect([...pulled.values()].filter((row) => row.source === 'pull').length).toBeGreaterThanOrEqual(
    messageIds.length,
  );

  const lists = arrivalsAt(boxPath()).sort((a, b) => a - b);
  const gaps = lists.slice(1).map((at, index) => Math.round(at - lists[index]!));
  expect(gaps.filter((gap) => gap < 10_000)).toEqual([]);
  // Acknowledgements follow their page at once: they are another endpoint.
  const acks = arrivalsAt(`${boxPath()}/acknowledge`);
  expect(acks.length).toBeGreaterThanOrEqual(2);
  expect(acks.some((ack) => lists.some((list) => ack > list && ack - list < 10_000))).toBe(true);
}, 120_000);
