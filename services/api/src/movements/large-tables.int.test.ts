// Risk retired: the read API's list queries stay index scans (and the message list stays in one
// partition) on a realistically filled database, so list latency does not grow with the table.
// Plans are checked on the exact SQL the endpoints run. PRINT_PLANS=1 prints them.
import { sql, type Compilable, type Explainable } from 'kysely';
import { createTestDatabase, type TestDatabase } from '@ctc-hub/testing';
import { linkedMessagesPageQuery, movementMessagesPageQuery } from './message-queries.js';
import { listMovements, movementListQuery, movementPageQuery } from './queries.js';
import { monthOf } from '../test-support/seed.js';

let testDb: TestDatabase;
const now = new Date();
const thisMonth = monthOf(now);
const lastMonth = monthOf(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15)));
const boxId = '00000000-0000-4000-8000-000000000003';

beforeAll(async () => {
  testDb = await createTestDatabase();
  const db = testDb.db;
  // 2,500 movements (2,000 departures, 500 arrivals) across two months, 50 traders, 10 boxes…
  await sql`
    INSERT INTO movements (movement_type, movement_id, enrollment_eori, movement_eori, mrn, lrn, box_id,
                           request_id, status, retention_month, created_at, updated_at)
    SELECT CASE WHEN i <= 2000 THEN 'departure' ELSE 'arrival' END,
           lpad(to_hex(i), 16, '0'),
           'GB' || lpad((i % 50)::text, 12, '0'),
           CASE WHEN i % 3 = 0 THEN 'GB' || lpad(((i + 7) % 50)::text, 12, '0') END,
           CASE WHEN i % 2 = 0 THEN '26GB' || lpad(i::text, 14, '0') END,
           'LRN' || i,
           ('00000000-0000-4000-8000-' || lpad((i % 10)::text, 12, '0'))::uuid,
           '/customs/transits/movements/' || CASE WHEN i <= 2000 THEN 'departures/' ELSE 'arrivals/' END
             || lpad(to_hex(i), 16, '0'),
           'submitted',
           CASE WHEN i % 2 = 0 THEN ${thisMonth}::date ELSE ${lastMonth}::date END,
           now() - make_interval(mins => i * 10),
           now() - make_interval(mins => i * 5)
    FROM generate_series(1, 2500) AS i`.execute(db);
  // …and 20,000 messages, 8 per movement, each in its movement's partition.
  await sql`
    INSERT INTO messages (movement_month, movement_type, movement_id, message_id, message_type, direction,
                          known_type, received_at, size_bytes, sha256, summary, source, box_id, request_id, body)
    SELECT m.retention_month, m.movement_type, m.movement_id, lpad(to_hex(m.i * 16 + n), 16, '0'),
           'IE0' || (10 + n * 3), 'inbound', true, m.created_at + make_interval(mins => n),
           64, sha256(convert_to(repeat('x', 64), 'UTF8')), '{}', 'push', m.box_id, m.request_id,
           convert_to('<ncts:CC028C xmlns:ncts="http://ncts.dgtaxud.ec">' || m.i || '</ncts:CC028C>', 'UTF8')
    FROM (SELECT *, ('x' || movement_id)::bit(64)::bigint AS i FROM movements) AS m
    CROSS JOIN generate_series(1, 8) AS n`.execute(db);
  await sql`ANALYZE movements`.execute(db);
  await sql`ANALYZE messages`.execute(db);
}, 120_000);

afterAll(async () => {
  await testDb.destroy();
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Scan Direction'?: string;
  Filter?: string;
  Plans?: PlanNode[];
}

/** Every node of the plan Postgres chooses for `query`, flattened. */
async function plan(query: Compilable & Explainable): Promise<PlanNode[]> {
  const compiled = query.compile();
  const rows = await (query.explain('json') as Promise<{ 'QUERY PLAN': { Plan: PlanNode }[] }[]>);
  const root = rows[0]!['QUERY PLAN'][0]!.Plan;
  if (process.env.PRINT_PLANS === '1') {
    const lines = await testDb.db.executeQuery<{ 'QUERY PLAN': string }>({
      ...compiled,
      sql: `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${compiled.sql}`,
    });
    console.log(`${compiled.sql}\n${lines.rows.map((row) => row['QUERY PLAN']).join('\n')}`);
  }
  const nodes: PlanNode[] = [];
  const walk = (node: PlanNode) => {
    nodes.push(node);
    node.Plans?.forEach(walk);
  };
  walk(root);
  return nodes;
}

/** The nodes that read a table or an index, as "<node type> [table] [index]". */
const scans = (nodes: PlanNode[]) =>
  nodes
    .filter((node) => node['Relation Name'] !== undefined || node['Index Name'] !== undefined)
    .map((node) =>
      [node['Node Type'], node['Relation Name'], node['Index Name']].filter(Boolean).join(' '),
    );

it('seeded 20,000 messages', async () => {
  const { count } = await testDb.db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow();
  expect(Number(count)).toBe(20_000);
});

it('lists departures newest first with a backward scan of movements_updated_idx', async () => {
  const nodes = await plan(
    movementPageQuery(testDb.db, { movementType: 'departure', eoris: undefined }, 25, 0),
  );
  expect(scans(nodes)).toEqual(['Index Scan movements movements_updated_idx']);
  expect(
    nodes.find((node) => node['Index Name'] === 'movements_updated_idx')?.['Scan Direction'],
  ).toBe('Backward');
  expect(nodes.some((node) => node['Node Type'] === 'Sort')).toBe(false);

  // With a selective filter the planner reads the same index as a bitmap and sorts the few rows.
  const since = new Date(Date.now() - 3600_000);
  const filtered = await plan(
    movementPageQuery(
      testDb.db,
      { movementType: 'departure', eoris: undefined, updatedSince: since },
      25,
      0,
    ),
  );
  expect(scans(filtered).join()).toMatch(/movements_updated_idx/);
  expect(scans(filtered).join()).not.toMatch(/Seq Scan/);
});

it('finds a movement by MRN or LRN through their indexes', async () => {
  const byMrn = await plan(
    movementPageQuery(
      testDb.db,
      { movementType: 'departure', eoris: undefined, mrn: '26GB00000000000100' },
      25,
      0,
    ),
  );
  expect(scans(byMrn).join()).toMatch(/movements_mrn_idx/);
  const byLrn = await plan(
    movementPageQuery(
      testDb.db,
      { movementType: 'departure', eoris: undefined, lrn: 'LRN100' },
      25,
      0,
    ),
  );
  expect(scans(byLrn).join()).toMatch(/movements_lrn_idx/);
});

it("reads one movement's messages from its own partition with messages_movement_idx", async () => {
  const movement = {
    movement_type: 'departure' as const,
    movement_id: lpadHex(100),
    retention_month: thisMonth,
  };
  const nodes = await plan(movementMessagesPageQuery(testDb.db, movement, {}, 25, 0));
  const partition = `messages_${thisMonth.slice(0, 7).replace('-', '_')}`;
  // One partition only (pruned by movement_month), through an index that leads with the
  // movement's key: messages_movement_idx, or the primary key when the planner prefers it.
  expect(scans(nodes)).toEqual([
    expect.stringMatching(
      new RegExp(
        `^Index Scan ${partition} ${partition}_(pkey|movement_type_movement_id_received_at_idx)$`,
      ),
    ),
  ]);
  // The count for totalCount uses the same index and partition.
  const count = await plan(
    movementMessagesPageQuery(testDb.db, movement, {}, 25, 0)
      .clearSelect()
      .clearOrderBy()
      .clearLimit()
      .clearOffset()
      .select((eb) => eb.fn.countAll().as('n')),
  );
  expect(
    scans(count).every((scan) => scan.includes(partition) && !scan.startsWith('Seq Scan')),
  ).toBe(true);
});

it('never reads message bodies in lists', () => {
  const movement = {
    movement_type: 'departure' as const,
    movement_id: lpadHex(1),
    retention_month: thisMonth,
  };
  for (const query of [
    movementMessagesPageQuery(testDb.db, movement, {}, 25, 0),
    linkedMessagesPageQuery(testDb.db, { eoris: ['GB000000000001'], boxId }, 25, 0),
  ]) {
    expect(query.compile().sql).not.toMatch(/"body"/);
  }
});

it('lists the messages of a box with index scans on every partition, merged by time', async () => {
  const nodes = await plan(linkedMessagesPageQuery(testDb.db, { eoris: undefined, boxId }, 25, 0));
  expect(scans(nodes).length).toBeGreaterThan(0);
  expect(
    scans(nodes).every((scan) =>
      /^Index Scan messages_\S+ messages_\S+_box_id_received_at_idx$/.test(scan),
    ),
  ).toBe(true);
});

it('counts and pages a large list correctly, clamped pages included', async () => {
  const page = await listMovements(
    testDb.db,
    { movementType: 'departure', eoris: undefined },
    500,
    0,
  );
  expect(page.totalCount).toBe(2000);
  expect(page.items).toHaveLength(500);
  const count = await plan(
    movementListQuery(testDb.db, { movementType: 'departure', eoris: undefined }).select((eb) =>
      eb.fn.countAll().as('n'),
    ),
  );
  expect(scans(count)).toHaveLength(1);
});

it('answers scoped lists from the EORI indexes, without a table scan', async () => {
  const scoped = await plan(
    movementPageQuery(testDb.db, { movementType: 'departure', eoris: ['GB000000000007'] }, 25, 0),
  );
  const found = scans(scoped);
  expect(found.some((scan) => scan.startsWith('Seq Scan'))).toBe(false);
  expect(found).toEqual(
    expect.arrayContaining([
      'Bitmap Index Scan movements_eori_idx',
      'Bitmap Index Scan movements_movement_eori_idx',
    ]),
  );
});

// Last: the VACUUM (as autovacuum leaves a month that no longer changes) can change the plans
// the tests above expect.
it('reads a deep page by its keys first, then only its own rows, in the same order', async () => {
  await sql`VACUUM movements`.execute(testDb.db);
  const filter = { movementType: 'departure' as const, eoris: undefined, hexIdsOnly: true };
  const found = scans(await plan(movementPageQuery(testDb.db, filter, 25, 1000)));
  // The skipped 1,000 are walked in the index alone. (How the 25 rows are then fetched is the
  // planner's choice: at 2,500 movements it hashes the whole small table, at a year's size it
  // probes the primary key.)
  // HMRC's lists show only hex ids: their partial index holds just those, so the id regex is not
  // run on every entry walked.
  expect(found).toContain('Index Only Scan movements movements_updated_hex_idx');
  // The count of a recent window (what a polling client pages through) walks it the same way.
  const recent = { ...filter, updatedSince: new Date(Date.now() - 3600_000) };
  const count = await plan(
    movementListQuery(testDb.db, recent).select((eb) => eb.fn.countAll().as('count')),
  );
  const counted = count.find((node) => node['Index Name'] === 'movements_updated_hex_idx');
  expect(counted?.['Node Type']).toBe('Index Only Scan');
  expect(counted?.Filter).toBeUndefined();
  const deep = await movementPageQuery(testDb.db, filter, 25, 1000).execute();
  const plain = await movementListQuery(testDb.db, filter)
    .select(['movement_id', 'updated_at'])
    .orderBy('updated_at', 'desc')
    .orderBy('movement_id', 'desc')
    .limit(25)
    .offset(1000)
    .execute();
  expect(deep).toHaveLength(25);
  expect(deep.map((row) => row.movement_id)).toEqual(plain.map((row) => row.movement_id));
});

function lpadHex(value: number): string {
  return value.toString(16).padStart(16, '0');
}
