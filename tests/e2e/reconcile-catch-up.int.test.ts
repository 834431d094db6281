// Risk retired: after an outage the CTC sweep spending HMRC's budget listing movements whose
// messages the PPNS box still holds (the pull hands them over at 100 a call), and listing the
// same unchanged movement again on every overlapping sweep — while a notification PPNS never had
// must still be found, also when a later message of the same movement did reach the box.
import { waitFor } from '@ctc-hub/testing';
import {
  firstRunsDone,
  openQueues,
  reconcileEnv,
  reconcileState,
  waitUntilAllStored,
} from './reconcile-support.js';
import { hex16, startE2E, traderEori, type E2E } from './support.js';

let e2e: E2E;
let queues: ReturnType<typeof openQueues>;
beforeAll(async () => {
  // A sweep every 2 s: before the change, each one listed every movement updated in the
  // overlap (2 minutes) again.
  e2e = await startE2E(reconcileEnv({ RECONCILE_INTERVAL_SECONDS: '2' }));
  queues = openQueues(e2e);
  await firstRunsDone(e2e);
}, 60_000);
afterAll(async () => {
  await queues?.close();
  await e2e?.stop();
});

const controls = () => e2e.stack.sandbox!.controls;
const sweepScope = `ctc:${traderEori}:departure`;

type Fate = 'box' | 'lost';

it('leaves what the box holds to the pull, lists each movement once, and still finds what PPNS lost', async () => {
  const recoveredBefore = (await reconcileState(e2e, sweepScope))?.recovered ?? 0;
  const sent: { movementId: string; messageId: string; fate: Fate }[] = [];
  const send = (movementId: string, messageType: string, fate: Fate, size?: number) => {
    // box: PPNS has the notification but never pushes it (as during an outage); lost: PPNS
    // never had it.
    controls().setFaults({ push: fate === 'box' ? { dropRate: 1 } : { loseRate: 1 } });
    const { messageId } = controls().injectMessage('departure', movementId, {
      generate: { messageType: messageType as never, ...(size ? { size } : {}) },
    });
    sent.push({ movementId, messageId, fate });
  };
  // A: its second message lost between two the box holds (only a list of A's messages shows it).
  const a = hex16();
  send(a, 'IE928', 'box');
  send(a, 'IE028', 'lost');
  send(a, 'IE029', 'box');
  // B: everything in the box, one message over 80,000 bytes (its body must be fetched).
  const b = hex16();
  send(b, 'IE928', 'box');
  send(b, 'IE028', 'box');
  send(b, 'IE029', 'box', 100_000);
  // C: its only message lost.
  const c = hex16();
  send(c, 'IE928', 'lost');
  controls().clearFaults();
  const listsBefore = messageListCalls();

  const stored = await waitUntilAllStored(e2e);
  for (const message of sent) expect(stored.get(message.messageId)).toBe(1);

  // Let several more sweeps run (each lists A, B and C again: updated within the overlap).
  const sweepsBefore = (await reconcileState(e2e, sweepScope))!.last_success_at!.getTime();
  await waitFor(
    async () => {
      const state = await reconcileState(e2e, sweepScope);
      return (state?.last_success_at?.getTime() ?? 0) > sweepsBefore + 4_000 ? true : undefined;
    },
    { timeoutMs: 30_000, what: 'three more sweeps' },
  );
  await queues.drained();

  const rows = await e2e.testDb.db
    .selectFrom('messages')
    .select(['message_id', 'source'])
    .where(
      'message_id',
      'in',
      sent.map((message) => message.messageId),
    )
    .execute();
  const sourceOf = new Map(rows.map((row) => [row.message_id, row.source]));
  for (const message of sent)
    if (message.fate === 'lost') expect(sourceOf.get(message.messageId)).toBe('reconcile');
    // Handed over by the pull (the large one fetched after it), not found by the sweep.
    else expect(['pull', 'fetch']).toContain(sourceOf.get(message.messageId));
  const lost = sent.filter((message) => message.fate === 'lost').length;
  expect(((await reconcileState(e2e, sweepScope))?.recovered ?? 0) - recoveredBefore).toBe(lost);

  // One list of each movement's messages, however many sweeps saw it unchanged.
  const lists = messageListCalls();
  for (const movementId of [a, b, c])
    expect({
      movementId,
      lists: (lists.get(movementId) ?? 0) - (listsBefore.get(movementId) ?? 0),
    }).toEqual({ movementId, lists: 1 });
}, 120_000);

/** GETs of a movement's message list that reached the sandbox, by movement. */
function messageListCalls(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const arrival of controls().arrivals()) {
    const match = /^\/customs\/transits\/movements\/departures\/([^/?]+)\/messages(\?|$)/.exec(
      arrival.path,
    );
    if (arrival.method !== 'GET' || match === null) continue;
    counts.set(match[1]!, (counts.get(match[1]!) ?? 0) + 1);
  }
  return counts;
}
