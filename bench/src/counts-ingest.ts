/**
 * What the list-count triggers (migration 2026_12_06_1520) cost the ingest store: the same
 * batches stored with the triggers enabled and disabled, alternating rounds, on one database.
 * Reports wall time and the database backend's CPU per batch (from /proc).
 *
 *   pnpm exec tsx bench/src/counts-ingest.ts [rounds] [batches per round] [records per batch]
 */
import { readFileSync } from 'node:fs';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { createDb, prepareDatabase, storeIngestBatch, type IngestRecord } from '@ctc-hub/db';
import { dropDatabase } from '@ctc-hub/testing';
import { sql } from 'kysely';

const [rounds, batches, perBatch] = process.argv.slice(2).map(Number) as [number, number, number];
const serverUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const dbName = `ctc_bench_counts_${Date.now()}_${randomBytes(2).toString('hex')}`;
const db = createDb({ url: `${serverUrl}/${dbName}`, poolMax: 2 });
await prepareDatabase(db, `${serverUrl}/${dbName}`);
const triggers = [
  'movements_count_insert ON movements',
  'movements_count_delete ON movements',
  'movements_count_update ON movements',
  'messages_count_insert ON messages',
  'messages_count_delete ON messages',
  'messages_count_update ON messages',
];
const setTriggers = async (on: boolean) => {
  for (const trigger of triggers) {
    const [name, table] = trigger.split(' ON ');
    await sql.raw(`ALTER TABLE ${table} ${on ? 'ENABLE' : 'DISABLE'} TRIGGER ${name}`).execute(db);
  }
};
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

function record(movementId: string, type: string, box: string): IngestRecord {
  const body = Buffer.from(
    `<ncts:CC${type.slice(2)}C xmlns:ncts="http://ncts.dgtaxud.ec">${'x'.repeat(3000)}</ncts:CC${type.slice(2)}C>`,
  );
  const now = new Date();
  return {
    kind: 'message',
    notification: {
      notificationId: randomUUID(),
      createdAt: now,
      boxId: box,
      source: 'push',
      receivedAt: now,
      envelope: '{}',
      payloadVersion: 'v2',
      notificationType: 'MESSAGE_RECEIVED',
      messageType: type,
      enrollmentEori: `GB00000000000${movementId.charCodeAt(0) % 10}`,
      traceId: null,
    },
    notificationRef: null,
    movement: {
      movementType: 'departure',
      movementId,
      requestId: `/customs/transits/movements/departures/${movementId}`,
      boxId: box,
      enrollmentEori: `GB00000000000${movementId.charCodeAt(0) % 10}`,
      enrollmentVerified: true,
      viaConnection: null,
      movementEori: null,
      mrn: null,
      lrn: null,
      apiVersion: '2.1',
    },
    message: {
      messageId: randomBytes(8).toString('hex'),
      messageType: type,
      rootElement: `CC${type.slice(2)}C`,
      phase: 'NCTS5.1',
      direction: 'inbound',
      knownType: true,
      receivedAt: now,
      preparedAt: null,
      messageIdentification: 'M',
      correlationIdentifier: null,
      mrn: null,
      lrn: null,
      body,
      sha256: createHash('sha256').update(body).digest(),
      summary: {},
      parseError: null,
      source: 'push',
    },
    statusFact: { messageType: type, rejectedMessageType: null, invalidationDecision: null },
  } as IngestRecord;
}

const boxes = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
// Half the records start a movement, half add a message to one of the previous batch.
let previous: string[] = [];
const batchOf = () => {
  const fresh = Array.from({ length: perBatch / 2 }, () => randomBytes(8).toString('hex'));
  const again = previous.length > 0 ? previous : fresh;
  const records = [
    ...fresh.map((id, n) => record(id, 'IE015', boxes[n % 4]!)),
    ...fresh.map((_, n) => record(again[n % again.length]!, 'IE028', boxes[n % 4]!)),
  ];
  previous = fresh;
  return records;
};

const totals = { on: { ms: 0, pgMs: 0, batches: 0 }, off: { ms: 0, pgMs: 0, batches: 0 } };
for (let round = 0; round < rounds * 2; round += 1) {
  const on = (round % 2 === 0) !== (process.env.OFF_FIRST === '1');
  await setTriggers(on);
  const prepared = Array.from({ length: batches }, batchOf);
  // The pool's backends (whichever connection the store takes).
  const backends = await sql<{ pid: number }>`
    SELECT pid FROM pg_stat_activity WHERE datname = current_database()`.execute(db);
  const before = backends.rows.map((row) => cpuMs(row.pid));
  const started = performance.now();
  for (const records of prepared) await storeIngestBatch(db, records, () => 'unknown');
  const ms = performance.now() - started;
  const after = backends.rows.map((row) => cpuMs(row.pid));
  const side = totals[on ? 'on' : 'off'];
  side.ms += ms;
  side.pgMs += after.reduce((sum, value, index) => sum + value - before[index]!, 0);
  side.batches += batches;
}
const per = (side: { ms: number; pgMs: number; batches: number }) => ({
  msPerBatch: Math.round((side.ms / side.batches) * 100) / 100,
  pgCpuMsPerBatch: Math.round((side.pgMs / side.batches) * 100) / 100,
});
console.log(
  JSON.stringify({
    load: loadavg(),
    perBatch,
    triggersOn: per(totals.on),
    triggersOff: per(totals.off),
  }),
);
await db.destroy();
await dropDatabase(serverUrl, dbName);
