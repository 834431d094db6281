/**
 * Seeds a database as a large forwarder's year would leave it, for bench/src/scale.ts.
 *
 * Everything is generated inside PostgreSQL (INSERT … SELECT over generate_series), so the seed
 * costs no client round trips: a pool of real NCTS bodies (built by @ctc-hub/ncts-testkit, sent
 * once with unnest) is copied into each message row, where PostgreSQL compresses it (lz4) and
 * TOASTs it as it would a pushed body.
 *
 *  - movements: 80 % departures (IE015, IE928, IE028, IE060, IE029, IE045, IE182, and an IE013
 *    amendment for half of them: 7.5 messages), 20 % arrivals (IE007, IE043, IE044, IE025);
 *    6.8 messages per movement on average;
 *  - 10 % of departures carry a large consignment (IE015 and IE029 of 90-600 KB), as do 10 % of
 *    arrivals' IE043: about 2.6 % of messages are over 80 KB;
 *  - `eoris` enrolment EORIs with a skewed share (a few big traders, a long tail), 4 PPNS boxes;
 *  - movements created evenly over 12 months (one messages partition each), messages over the
 *    following days; one notification per inbound message, one event per movement and message;
 *  - a few thousand dead letters, most of them resolved.
 * Finally VACUUM ANALYZE, as autovacuum would have left a year-old database.
 */
import { createHash } from 'node:crypto';
import type { Db } from '@ctc-hub/db';
import { buildMessage, buildMessageOfSize, type GeneratedMessageType } from '@ctc-hub/ncts-testkit';
import { sql } from 'kysely';

export interface SeedPlan {
  movements: number;
  eoris: number;
  deadLetters: number;
}

export interface SeedResult {
  seconds: number;
  movements: number;
  messages: number;
  largeMessages: number;
  notifications: number;
  events: number;
  deadLetters: number;
  /** Bytes on disk of messages (heap + TOAST + indexes). */
  messagesBytes: number;
  databaseBytes: number;
  steps: Record<string, number>;
}

export const boxIds = [
  '5e1d9b2c-6a0e-4a57-9d63-3f0c2f8a1b7e',
  '0c6a3f1e-2b7d-4e59-8a41-6d2f9e3c7b10',
  '9a4e7c21-5f3b-4d86-b0e2-1c7d8f6a3e94',
  'd2f83b6a-71c4-49e5-a0b8-3e6c9d1f2a57',
] as const;

/** Enrolment EORI number n (0-based). */
export const eoriOf = (n: number) => `GB${String(100000000000 + n)}`;

const departureTypes: GeneratedMessageType[] = [
  'IE015',
  'IE928',
  'IE028',
  'IE060',
  'IE029',
  'IE045',
  'IE182',
  'IE013',
];
const arrivalTypes: GeneratedMessageType[] = ['IE007', 'IE043', 'IE044', 'IE025'];
const outbound = new Set(['IE015', 'IE013', 'IE007', 'IE044']);
/** Bytes of the ordinary bodies of sizable types; others are as the builder makes them. */
const smallSizes = [3_000, 6_000, 12_000, 24_000];
const largeSizes = [90_000, 150_000, 300_000, 600_000];
const sizable = new Set(['IE015', 'IE013', 'IE029', 'IE043']);

interface PoolBody {
  type: string;
  large: boolean;
  variant: number;
  body: Buffer;
}

function bodyPool(): PoolBody[] {
  const pool: PoolBody[] = [];
  for (const type of [...departureTypes, ...arrivalTypes]) {
    if (sizable.has(type)) {
      smallSizes.forEach((size, variant) =>
        pool.push({
          type,
          large: false,
          variant,
          body: Buffer.from(buildMessageOfSize(type as 'IE015', size)),
        }),
      );
      largeSizes.forEach((size, variant) =>
        pool.push({
          type,
          large: true,
          variant,
          body: Buffer.from(buildMessageOfSize(type as 'IE015', size)),
        }),
      );
    } else {
      for (let variant = 0; variant < 4; variant += 1) {
        const body = Buffer.from(buildMessage(type));
        pool.push({ type, large: false, variant, body });
        pool.push({ type, large: true, variant, body });
      }
    }
  }
  return pool;
}

async function timed(steps: Record<string, number>, name: string, step: () => Promise<unknown>) {
  const started = performance.now();
  await step();
  steps[name] = Math.round(performance.now() - started) / 1000;
  process.stderr.write(`  seed ${name}: ${steps[name]} s\n`);
}

const monthStart = (now: Date, monthsBack: number) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - monthsBack, 1));

/** Seeds `db` (migrated, empty). Movements of month m are created in [start of m, start of m+1). */
export async function seedYear(db: Db, plan: SeedPlan, now = new Date()): Promise<SeedResult> {
  const started = performance.now();
  const steps: Record<string, number> = {};
  const first = monthStart(now, 11);
  const iso = (date: Date) => date.toISOString().slice(0, 10);
  await timed(steps, 'partitions', () =>
    Promise.all(
      ['messages', 'notifications', 'events'].map((table) =>
        sql`SELECT ctc_ensure_monthly_partitions(${table}, ${iso(first)}::date, ${iso(monthStart(now, -1))}::date)`.execute(
          db,
        ),
      ),
    ),
  );

  await timed(steps, 'body pool', async () => {
    const pool = bodyPool();
    await sql`CREATE UNLOGGED TABLE IF NOT EXISTS scale_bodies (
      message_type text, large boolean, variant int, body bytea, sha256 bytea, size_bytes int,
      PRIMARY KEY (message_type, large, variant))`.execute(db);
    await sql`INSERT INTO scale_bodies
      SELECT * FROM unnest(${pool.map((p) => p.type)}::text[], ${pool.map((p) => p.large)}::boolean[],
        ${pool.map((p) => p.variant)}::int[], ${pool.map((p) => p.body)}::bytea[],
        ${pool.map((p) => createHash('sha256').update(p.body).digest())}::bytea[],
        ${pool.map((p) => p.body.length)}::int[])`.execute(db);
  });

  // Movement i (1..N) is created at first + (i - 1)/N of the 12 months: insertion order is time
  // order, as in production. EORI share is skewed: n = floor(eoris · u²) with u uniform in [0, 1).
  const spanSeconds = (monthStart(now, -1).getTime() - first.getTime()) / 1000 - 30 * 86400;
  await timed(steps, 'movements', () =>
    sql`
      INSERT INTO movements (movement_type, movement_id, enrollment_eori, movement_eori, mrn, lrn,
        box_id, request_id, status, api_version, message_count, retention_month, created_at,
        updated_at, last_message_at, enrollment_verified)
      SELECT g.movement_type, g.movement_id, g.eori, g.eori,
             '26GB' || lpad(g.i::text, 14, '0'),
             CASE WHEN g.movement_type = 'departure' THEN 'LRN' || lpad(g.i::text, 10, '0') END,
             (${boxIds} :: uuid[])[1 + g.i % 4],
             '/customs/transits/movements/' || g.movement_type || 's/' || g.movement_id,
             CASE WHEN g.movement_type = 'departure' THEN 'WriteOffNotification' ELSE 'GoodsReleaseNotification' END,
             '2.1', g.messages, date_trunc('month', g.created_at)::date, g.created_at,
             g.created_at + (g.messages - 1) * interval '7 hours',
             g.created_at + (g.messages - 1) * interval '7 hours', true
        FROM (
          SELECT i,
                 CASE WHEN i % 5 = 0 THEN 'arrival' ELSE 'departure' END AS movement_type,
                 substr(md5(i::text), 1, 16) AS movement_id,
                 'GB' || (100000000000 + floor(${plan.eoris} * power(((i::bigint * 7919) % 10007) / 10007.0, 2)))::bigint::text AS eori,
                 CASE WHEN i % 5 = 0 THEN 4 WHEN i % 2 = 0 THEN 8 ELSE 7 END AS messages,
                 ${first.toISOString()}::timestamptz + ((i - 1)::float8 / ${plan.movements}) * ${spanSeconds} * interval '1 second' AS created_at
            FROM generate_series(1, ${plan.movements}) AS i
        ) g`.execute(db),
  );

  // Message k (0-based) of a movement: type k of its sequence, received 7 h after the previous.
  await timed(steps, 'message plan', async () => {
    await sql`DROP TABLE IF EXISTS scale_plan`.execute(db);
    await sql`
      CREATE UNLOGGED TABLE scale_plan AS
      SELECT m.retention_month AS movement_month, m.movement_type, m.movement_id, m.box_id,
             m.request_id, m.mrn, m.lrn, m.enrollment_eori,
             substr(md5(m.movement_id || ':' || k), 1, 16) AS message_id,
             t.message_type, m.created_at + k * interval '7 hours' AS received_at,
             (hashtext(m.movement_id) & 1023) < 102 AS large,
             abs(hashtext(m.movement_id || k)) % 4 AS variant
        FROM movements m
        CROSS JOIN LATERAL unnest(CASE WHEN m.movement_type = 'departure'
             THEN ${departureTypes}::text[] ELSE ${arrivalTypes}::text[] END)
             WITH ORDINALITY AS t(message_type, n)
        CROSS JOIN LATERAL (SELECT (t.n - 1)::int AS k) kk
       WHERE t.n <= m.message_count`.execute(db);
  });

  const months = await sql<{
    month: string;
  }>`SELECT DISTINCT movement_month::text AS month FROM scale_plan ORDER BY 1`.execute(db);
  // One transaction per month: the change feed then has several transactions to page through.
  await timed(steps, 'messages', async () => {
    for (const { month } of months.rows) {
      await sql`
        INSERT INTO messages (movement_month, movement_type, movement_id, message_id, message_type,
          root_element, phase, direction, known_type, received_at, prepared_at,
          message_identification, mrn, lrn, size_bytes, sha256, summary, source, box_id,
          request_id, notification_id, hmrc_status, stored_at, body)
        SELECT p.movement_month, p.movement_type, p.movement_id, p.message_id, p.message_type,
               'CC' || substr(p.message_type, 3) || 'C', 'NCTS5.1',
               CASE WHEN p.message_type = ANY(${[...outbound]}::text[]) THEN 'outbound' ELSE 'inbound' END,
               true, p.received_at, p.received_at::timestamp, p.message_id, p.mrn, p.lrn,
               b.size_bytes, b.sha256, '{}'::jsonb,
               CASE WHEN p.message_type = ANY(${[...outbound]}::text[]) THEN 'submission' ELSE 'push' END,
               p.box_id, p.request_id,
               CASE WHEN p.message_type = ANY(${[...outbound]}::text[]) THEN NULL
                    ELSE md5(p.message_id)::uuid END,
               'Success', p.received_at, b.body
          FROM scale_plan p
          JOIN scale_bodies b ON b.message_type = p.message_type AND b.large = p.large
                             AND b.variant = p.variant
         WHERE p.movement_month = ${month}::date`.execute(db);
    }
  });

  await timed(steps, 'notifications', () =>
    sql`
      INSERT INTO notifications (notification_id, created_at, box_id, source, status,
        payload_version, notification_type, movement_type, movement_id, message_id, message_type,
        enrollment_eori, envelope, received_at, processed_at)
      SELECT md5(p.message_id)::uuid, p.received_at, p.box_id, 'push', 'stored', '2.1',
             'MESSAGE_RECEIVED', p.movement_type, p.movement_id, p.message_id, p.message_type,
             p.enrollment_eori,
             json_build_object('notificationId', md5(p.message_id)::uuid, 'boxId', p.box_id,
               'messageContentType', 'application/json', 'status', 'PENDING',
               'message', json_build_object('messageUri', p.request_id || '/messages/' || p.message_id,
                 'notificationType', 'MESSAGE_RECEIVED', 'messageId', p.message_id,
                 'enrollmentEORINumber', p.enrollment_eori, 'messageType', p.message_type)::text)::text,
             p.received_at, p.received_at + interval '40 milliseconds'
        FROM scale_plan p
       WHERE NOT (p.message_type = ANY(${[...outbound]}::text[]))`.execute(db),
  );

  await timed(steps, 'events', async () => {
    for (const { month } of months.rows) {
      await sql`
        INSERT INTO events (created_at, kind, movement_type, movement_id, message_id, eori, data)
        SELECT p.received_at, 'message.received', p.movement_type, p.movement_id, p.message_id,
               p.enrollment_eori,
               jsonb_build_object('messageType', p.message_type, 'source', 'push')
          FROM scale_plan p
         WHERE p.movement_month = ${month}::date
         ORDER BY p.received_at`.execute(db);
    }
  });

  await timed(steps, 'dead letters', () =>
    sql`
      INSERT INTO dead_letters (dedupe_key, kind, queue, job_id, error_code, error_message,
        payload, notification_id, box_id, eori, movement_type, movement_id, message_id, status,
        created_at, updated_at)
      SELECT 'scale:' || i, CASE WHEN i % 3 = 0 THEN 'submission' ELSE 'notification' END,
             'ingest', 'job-' || i,
             (ARRAY['HMRC_UNAVAILABLE', 'INVALID_ENVELOPE', 'BODY_FETCH_FAILED', 'SCHEMA_INVALID'])[1 + i % 4],
             'seeded failure ' || i, jsonb_build_object('seeded', i), md5('dl' || i)::uuid,
             (${boxIds} :: uuid[])[1 + i % 4],
             'GB' || (100000000000 + i % ${plan.eoris})::text, 'departure',
             substr(md5(i::text), 1, 16), NULL,
             CASE WHEN i % 10 = 0 THEN 'open' WHEN i % 10 = 1 THEN 'purged' ELSE 'resolved' END,
             ${first.toISOString()}::timestamptz + (i::float8 / ${plan.deadLetters}) * ${spanSeconds} * interval '1 second',
             ${first.toISOString()}::timestamptz + (i::float8 / ${plan.deadLetters}) * ${spanSeconds} * interval '1 second'
        FROM generate_series(1, ${plan.deadLetters}) AS i`.execute(db),
  );

  await timed(steps, 'vacuum analyze', async () => {
    await sql`DROP TABLE scale_plan`.execute(db);
    for (const table of ['movements', 'messages', 'notifications', 'events', 'dead_letters'])
      await sql`VACUUM (ANALYZE) ${sql.table(table)}`.execute(db);
  });

  const counts = await sql<Record<string, string>>`
    SELECT (SELECT count(*) FROM movements) AS movements,
           (SELECT count(*) FROM messages) AS messages,
           (SELECT count(*) FROM messages WHERE size_bytes > 80000) AS large,
           (SELECT count(*) FROM notifications) AS notifications,
           (SELECT count(*) FROM events) AS events,
           (SELECT count(*) FROM dead_letters) AS dead_letters,
           (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits
             WHERE inhparent = 'messages'::regclass) AS messages_bytes,
           pg_database_size(current_database()) AS database_bytes`.execute(db);
  const row = counts.rows[0]!;
  return {
    seconds: Math.round(performance.now() - started) / 1000,
    movements: Number(row.movements),
    messages: Number(row.messages),
    largeMessages: Number(row.large),
    notifications: Number(row.notifications),
    events: Number(row.events),
    deadLetters: Number(row.dead_letters),
    messagesBytes: Number(row.messages_bytes),
    databaseBytes: Number(row.database_bytes),
    steps,
  };
}
