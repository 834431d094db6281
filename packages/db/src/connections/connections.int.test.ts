// Risk retired: data is filed under the enrolment EORI HMRC reports, never under the label of the
// token that fetched it. When HMRC contradicts our claim (in either order), the movement is
// quarantined and the connection behind the claim is named; marking a connection mismatched
// quarantines everything that came through it, once, with an audit entry; an operator's
// resolution releases or discards exactly that.
import { randomUUID } from 'node:crypto';
import { createTestDatabase, hex16, type TestDatabase } from '@ctc-hub/testing';
import { sql } from 'kysely';
import {
  markConnectionMismatched,
  markConnectionVerified,
  resolveMismatchedConnection,
} from './connections.js';
import { messageRecord, notificationFacts } from '../inbound/ingest-fixtures.js';
import { storeIngestBatch } from '../inbound/store.js';
import type { IngestRecord } from '../inbound/types.js';

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase();
});
afterAll(async () => {
  await testDb.destroy();
});

const eoriB = 'GB200000000002';
const eoriV = 'GB900000000009';
const deriveStatus = () => 'unknown';

/** A message whose movement EORI is HMRC's word (a push) or our claim through a connection. */
function record(
  movementId: string,
  eori: string,
  via: { claimedBy: string } | 'hmrc',
): Extract<IngestRecord, { kind: 'message' }> {
  const message = messageRecord(movementId, 'IE028', notificationFacts({ enrollmentEori: eori }));
  if (via === 'hmrc') return message;
  return {
    ...message,
    notification: null,
    movement: { ...message.movement, enrollmentVerified: false, viaConnection: via.claimedBy },
  };
}

async function connection(eori: string): Promise<string> {
  const connectionId = randomUUID();
  await testDb.db
    .insertInto('oauth_tokens')
    .values({
      subject: eori,
      kind: 'user',
      access_token: 'x',
      refresh_token: 'y',
      access_expires_at: new Date(Date.now() + 3600_000),
      consented_at: new Date(),
      connection_id: connectionId,
      connected_by: null,
      verified_at: null,
      observed_eori: null,
      mismatch_at: null,
      mismatch_detail: null,
    })
    .onConflict((oc) => oc.column('subject').doUpdateSet({ connection_id: connectionId }))
    .execute();
  return connectionId;
}

const movement = (movementId: string) =>
  testDb.db
    .selectFrom('movements')
    .selectAll()
    .where('movement_id', '=', movementId)
    .executeTakeFirstOrThrow();

beforeEach(async () => {
  await sql`TRUNCATE oauth_tokens, audit_log`.execute(testDb.db);
});

it('quarantines a movement we claimed for B when HMRC reports it as V', async () => {
  const connectionId = await connection(eoriB);
  const movementId = hex16();
  const [claimed] = await storeIngestBatch(
    testDb.db,
    [record(movementId, eoriB, { claimedBy: connectionId })],
    deriveStatus,
  );
  expect(claimed!.enrollmentConflict).toBeUndefined();
  expect(await movement(movementId)).toMatchObject({
    enrollment_eori: eoriB,
    enrollment_verified: false,
    via_connection: connectionId,
    quarantined_at: null,
  });

  const [reported] = await storeIngestBatch(
    testDb.db,
    [record(movementId, eoriV, 'hmrc')],
    deriveStatus,
  );
  expect(reported!.enrollmentConflict).toEqual({
    movementType: 'departure',
    movementId,
    connectionId,
    hmrcEori: eoriV,
    detail: `HMRC reports enrolment EORI ${eoriV} for this movement; it had been filed under ${eoriB}`,
  });
  const row = await movement(movementId);
  expect(row).toMatchObject({ enrollment_eori: eoriV, enrollment_verified: true });
  expect(row.quarantined_at).not.toBeNull();
  // Its new events name no EORI: no scoped key's feed shows them.
  const events = await testDb.db
    .selectFrom('events')
    .select(['kind', 'eori'])
    .where('movement_id', '=', movementId)
    .where('kind', '=', 'message.received')
    .orderBy('id')
    .execute();
  expect(events.map((event) => event.eori)).toEqual([eoriB, null]);
});

it('names the claiming connection when HMRC reported first and our claim came second', async () => {
  const connectionId = await connection(eoriB);
  const movementId = hex16();
  await storeIngestBatch(testDb.db, [record(movementId, eoriV, 'hmrc')], deriveStatus);
  const [claimed] = await storeIngestBatch(
    testDb.db,
    [record(movementId, eoriB, { claimedBy: connectionId })],
    deriveStatus,
  );
  expect(claimed!.enrollmentConflict).toMatchObject({ connectionId, hmrcEori: eoriV });
  expect(await movement(movementId)).toMatchObject({
    enrollment_eori: eoriV,
    via_connection: connectionId,
  });
});

it('agreement is no conflict: the claim becomes HMRC-verified', async () => {
  const connectionId = await connection(eoriB);
  const movementId = hex16();
  await storeIngestBatch(
    testDb.db,
    [record(movementId, eoriB, { claimedBy: connectionId })],
    deriveStatus,
  );
  const [reported] = await storeIngestBatch(
    testDb.db,
    [record(movementId, eoriB, 'hmrc')],
    deriveStatus,
  );
  expect(reported!.enrollmentConflict).toBeUndefined();
  expect(await movement(movementId)).toMatchObject({
    enrollment_eori: eoriB,
    enrollment_verified: true,
    quarantined_at: null,
  });
});

it('HMRC beats our claim within one batch too', async () => {
  const connectionId = await connection(eoriB);
  const movementId = hex16();
  await storeIngestBatch(
    testDb.db,
    [record(movementId, eoriB, { claimedBy: connectionId }), record(movementId, eoriV, 'hmrc')],
    deriveStatus,
  );
  expect(await movement(movementId)).toMatchObject({
    enrollment_eori: eoriV,
    enrollment_verified: true,
  });
});

it('marking a connection mismatched quarantines what came through it, once, and audits it', async () => {
  const connectionId = await connection(eoriB);
  const other = await connection('GB300000000003');
  const through = [hex16(), hex16()];
  const untouched = hex16();
  await storeIngestBatch(
    testDb.db,
    [
      ...through.map((id) => record(id, eoriB, { claimedBy: connectionId })),
      record(untouched, 'GB300000000003', { claimedBy: other }),
    ],
    deriveStatus,
  );
  const input = { connectionId, observedEori: eoriV, detail: 'HMRC listed departure X' };
  expect(await markConnectionMismatched(testDb.db, input)).toEqual({
    marked: true,
    eori: eoriB,
    quarantined: 2,
  });
  expect(await markConnectionMismatched(testDb.db, input)).toEqual({
    marked: false,
    eori: eoriB,
    quarantined: 0,
  });
  // A mismatched connection is never verified afterwards.
  expect(await markConnectionVerified(testDb.db, connectionId)).toBe(false);
  for (const id of through) expect((await movement(id)).quarantined_at).not.toBeNull();
  expect((await movement(untouched)).quarantined_at).toBeNull();
  const token = await testDb.db
    .selectFrom('oauth_tokens')
    .selectAll()
    .where('subject', '=', eoriB)
    .executeTakeFirstOrThrow();
  expect(token).toMatchObject({
    verification: 'mismatched',
    observed_eori: eoriV,
    mismatch_detail: 'HMRC listed departure X',
  });
  const audit = await testDb.db.selectFrom('audit_log').selectAll().execute();
  expect(audit).toMatchObject([
    {
      actor: 'system',
      action: 'connection.mismatched',
      outcome: 'quarantined',
      target: { eori: eoriB, connectionId },
      details: { observedEori: eoriV, quarantinedMovements: 2 },
    },
  ]);
});

it.each(['release', 'discard'] as const)(
  'an operator %ss the quarantined movements and the token is deleted',
  async (resolution) => {
    const connectionId = await connection(eoriB);
    const movementId = hex16();
    await storeIngestBatch(
      testDb.db,
      [record(movementId, eoriB, { claimedBy: connectionId })],
      deriveStatus,
    );
    // Not mismatched: nothing to resolve.
    expect(await resolveMismatchedConnection(testDb.db, eoriB, resolution)).toBeUndefined();
    await markConnectionMismatched(testDb.db, { connectionId, observedEori: eoriV, detail: 'x' });

    const result = await resolveMismatchedConnection(testDb.db, eoriB, resolution);
    expect(result).toEqual({
      disconnected: true,
      released: resolution === 'release' ? 1 : 0,
      discarded: resolution === 'discard' ? 1 : 0,
    });
    expect(
      await testDb.db.selectFrom('oauth_tokens').where('subject', '=', eoriB).selectAll().execute(),
    ).toEqual([]);
    const rows = await testDb.db
      .selectFrom('movements')
      .selectAll()
      .where('movement_id', '=', movementId)
      .execute();
    const messages = await testDb.db
      .selectFrom('messages')
      .select('message_id')
      .where('movement_id', '=', movementId)
      .execute();
    if (resolution === 'release') {
      // Filed under the trader HMRC named, visible again.
      expect(rows).toMatchObject([
        { enrollment_eori: eoriV, enrollment_verified: true, quarantined_at: null },
      ]);
      expect(messages).toHaveLength(1);
    } else {
      expect(rows).toEqual([]);
      expect(messages).toEqual([]);
    }
  },
);
