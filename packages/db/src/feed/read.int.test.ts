// Risk retired: a change-feed reader that resumes from its cursor misses or repeats an event
// because transactions commit in a different order from the one their events were numbered in
// (concurrent writers, a long-running transaction, a rollback), or because its key sees only
// some traders.
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, type TestDatabase } from '@ctc-hub/testing';
import { sql } from 'kysely';
import { createDb, type Db } from '../connection.js';
import { comparePositions, decodeCursor, encodeCursor, feedStart } from './cursor.js';
import {
  latestFeedPosition,
  nextEventTime,
  readEventFeed,
  type FeedEvent,
  type ReadFeedOptions,
} from './read.js';

let testDb: TestDatabase;
let db: Db;
beforeAll(async () => {
  testDb = await createTestDatabase();
  // Writers and readers at once need more connections than the test database's pool.
  db = createDb({ url: testDb.url, poolMax: 12 });
});
afterAll(async () => {
  await db.destroy();
  await testDb.destroy();
});
beforeEach(async () => {
  await sql`TRUNCATE events`.execute(db);
});

let labels = 0;
type Executor = Parameters<typeof readEventFeed>[0];

async function insertEvent(executor: Executor, eori: string | null = 'GB000000000001') {
  labels += 1;
  const label = `e${labels}`;
  await executor
    .insertInto('events')
    .values({
      kind: 'message.received',
      movement_type: 'departure',
      movement_id: '0123456789abcdef',
      message_id: null,
      submission_id: null,
      eori,
      data: JSON.stringify({ label }),
    })
    .execute();
  return label;
}

const labelOf = (event: FeedEvent) => event.data.label as string;

/** Reads from `after` until caught up, in pages of `limit`; returns labels and the last cursor. */
async function drain(after = feedStart, limit = 3, extra: Partial<ReadFeedOptions> = {}) {
  const seen: string[] = [];
  let cursor = after;
  for (let pages = 0; pages < 1000; pages += 1) {
    const page = await readEventFeed(db, { after: cursor, limit, ...extra });
    seen.push(...page.events.map(labelOf));
    expect(comparePositions(page.next, cursor)).toBeGreaterThanOrEqual(0);
    cursor = page.next;
    if (page.caughtUp) return { seen, cursor };
  }
  throw new Error('feed never caught up');
}

it('pages through every event once, in order, and resumes from any cursor', async () => {
  const inserted: string[] = [];
  for (let index = 0; index < 10; index += 1) inserted.push(await insertEvent(db));

  const first = await readEventFeed(db, { after: feedStart, limit: 4 });
  expect(first.events.map(labelOf)).toEqual(inserted.slice(0, 4));
  expect(first.caughtUp).toBe(false);
  expect(first.next).toEqual(first.events[3]!.position);
  expect(decodeCursor(first.events[3]!.cursor)).toEqual(first.events[3]!.position);

  // From the cursor of any event: exactly the events after it.
  const all = (await readEventFeed(db, { after: feedStart, limit: 100 })).events;
  for (const [index, event] of all.entries()) {
    const rest = await readEventFeed(db, { after: event.position, limit: 100 });
    expect(rest.events.map(labelOf)).toEqual(inserted.slice(index + 1));
  }

  const { seen, cursor } = await drain(feedStart, 3);
  expect(seen).toEqual(inserted);
  // At the end: empty, caught up, and the cursor holds still until something new commits.
  const atEnd = await readEventFeed(db, { after: cursor, limit: 5 });
  expect(atEnd).toMatchObject({ events: [], caughtUp: true });
  expect(encodeCursor(atEnd.next)).toBe(encodeCursor(cursor));
  const later = await insertEvent(db);
  expect((await drain(cursor)).seen).toEqual([later]);
});

it('does not pass an open transaction, and returns its event once it commits', async () => {
  const before = await insertEvent(db);
  const open = await db.startTransaction().execute();
  let whileOpen: Awaited<ReturnType<typeof drain>>;
  let held: string;
  let committedAfter: string[];
  try {
    held = await insertEvent(open);
    committedAfter = [await insertEvent(db), await insertEvent(db)];

    // The later events are committed, but the feed stops before the open transaction.
    whileOpen = await drain(feedStart, 2);
    expect(whileOpen.seen).toEqual([before]);
    expect(await latestFeedPosition(db)).toEqual(
      (await readEventFeed(db, { after: feedStart, limit: 1 })).events[0]!.position,
    );
    // The consumer is waiting for the held event: it is the age that matters.
    expect(await nextEventTime(db, whileOpen.cursor)).toBeInstanceOf(Date);
  } catch (error) {
    // A transaction left open would block the next test's TRUNCATE for ever.
    await open.rollback().execute();
    throw error;
  }
  await open.commit().execute();
  const afterCommit = await drain(whileOpen.cursor, 2);
  expect(afterCommit.seen).toEqual([held, ...committedAfter]);
  expect((await drain(feedStart, 100)).seen).toEqual([before, held, ...committedAfter]);
});

it('orders by the transaction that wrote first, and skips rolled-back events without waiting', async () => {
  // The documented order: a transaction that wrote first comes first even if it commits last.
  const first = await db.startTransaction().execute();
  const aborted = await db.startTransaction().execute();
  let second: string;
  let late: string;
  try {
    await sql`INSERT INTO webhook_cursors (url) VALUES ('http://xid.test/first')`.execute(first);
    second = await insertEvent(db);
    late = await insertEvent(first);
    await insertEvent(aborted);
  } finally {
    await first.commit().execute();
    await aborted.rollback().execute();
  }
  expect((await drain()).seen).toEqual([late, second]);
});

it('never repeats or skips under concurrent writers whose commits interleave', async () => {
  const writers = 6;
  const transactionsPerWriter = 15;
  const inserted: string[] = [];
  let writing = true;

  const write = async () => {
    for (let index = 0; index < transactionsPerWriter; index += 1) {
      const labelsOfTransaction = await db.transaction().execute(async (trx) => {
        const mine: string[] = [];
        for (let count = 1 + Math.floor(Math.random() * 3); count > 0; count -= 1) {
          mine.push(await insertEvent(trx));
          // Hold the transaction open a little so later transactions commit first.
          await sleep(Math.random() * 8);
        }
        return mine;
      });
      inserted.push(...labelsOfTransaction);
    }
  };

  const seen: string[] = [];
  let cursor = feedStart;
  const read = async () => {
    while (writing) {
      const page = await readEventFeed(db, {
        after: cursor,
        limit: 1 + Math.floor(Math.random() * 5),
      });
      seen.push(...page.events.map(labelOf));
      cursor = page.next;
      if (page.caughtUp) await sleep(2);
    }
  };

  const reader = read();
  await Promise.all(Array.from({ length: writers }, write));
  writing = false;
  await reader;
  seen.push(...(await drain(cursor, 4)).seen);

  expect(new Set(seen).size).toBe(seen.length);
  expect([...seen].sort()).toEqual([...inserted].sort());
  // And in the one order every reader sees.
  expect(seen).toEqual((await drain(feedStart, 1000)).seen);
});

it('shows a scoped reader only its EORIs, moving the cursor past the rest', async () => {
  const mine = 'GB000000000001';
  const expected: string[] = [];
  await insertEvent(db, null);
  expected.push(await insertEvent(db, mine));
  for (let index = 0; index < 12; index += 1) await insertEvent(db, 'GB000000000002');
  expected.push(await insertEvent(db, mine));
  await insertEvent(db, null);

  const scoped = { eoris: [mine], scanLimit: 5 };
  // Each read examines at most 5 events: the first page holds one of ours and stops short of
  // the end, later ones may be empty, but the cursor always moves on.
  const first = await readEventFeed(db, { after: feedStart, limit: 2, ...scoped });
  expect(first.events.map(labelOf)).toEqual([expected[0]]);
  expect(first.caughtUp).toBe(false);
  const second = await readEventFeed(db, { after: first.next, limit: 2, ...scoped });
  expect(second.events).toEqual([]);
  expect(comparePositions(second.next, first.next)).toBeGreaterThan(0);

  expect((await drain(feedStart, 10, scoped)).seen).toEqual(expected);
  expect((await drain(feedStart, 1, { eoris: [mine] })).seen).toEqual(expected);
  expect((await drain(feedStart, 10, { eoris: [] })).seen).toEqual([]);
  // Unscoped readers see everything, events without an EORI included.
  expect((await drain(feedStart, 100)).seen).toHaveLength(16);

  // What a scoped reader may not see is not even read.
  const page = await readEventFeed(db, { after: feedStart, limit: 100, eoris: ['GB9'] });
  expect(page.events).toEqual([]);
});

it('starts at the end with `now`, and never moves a cursor back', async () => {
  const old = await insertEvent(db);
  const now = await readEventFeed(db, { after: 'now', limit: 10 });
  expect(now).toMatchObject({ events: [], caughtUp: true });
  const fresh = await insertEvent(db);
  expect((await drain(now.next)).seen).toEqual([fresh]);
  expect((await drain()).seen).toEqual([old, fresh]);

  const farAhead = { xid: 1n << 62n, id: 5n };
  const page = await readEventFeed(db, { after: farAhead, limit: 10 });
  expect(page.events).toEqual([]);
  expect(page.next).toEqual(farAhead);
});

it('is not held back by a transaction in another database, but is by one in its own', async () => {
  const other = await createTestDatabase();
  const foreign = await other.db.startTransaction().execute();
  try {
    await sql`INSERT INTO events (kind) VALUES ('elsewhere')`.execute(foreign);
    const mine = await insertEvent(db);
    expect((await drain()).seen).toEqual([mine]);

    // Read inside a transaction the feed falls back to the cluster-wide horizon: still correct,
    // only later.
    const insideTransaction = await db
      .transaction()
      .execute((trx) => readEventFeed(trx, { after: feedStart, limit: 10 }));
    expect(insideTransaction.events).toEqual([]);
    expect(insideTransaction.caughtUp).toBe(true);
  } finally {
    await foreign.rollback().execute();
    await other.destroy();
  }
});
