import { sql } from 'kysely';
import type { MovementType } from '../schema/movements.table.js';
import type { DeriveStatus, IngestRecord, MessageStatusFact, MovementFacts } from './types.js';
import {
  messageKey,
  movementKey,
  unknownStatus,
  unnestRows,
  type BatchOnlyState,
  type MovementRow,
  type Trx,
  type UnnestColumn,
} from './batch.js';

interface MovementInsert {
  movement_type: MovementType;
  movement_id: string;
  request_id: string;
  box_id: string | null;
  enrollment_eori: string | null;
  enrollment_verified: boolean;
  via_connection: string | null;
  movement_eori: string | null;
  mrn: string | null;
  lrn: string | null;
  api_version: string | null;
  status: string;
  message_count: number;
  last_message_at: Date | null;
}

const movementColumns: UnnestColumn<MovementInsert>[] = [
  { name: 'movement_type', type: 'text' },
  { name: 'movement_id', type: 'text' },
  { name: 'request_id', type: 'text' },
  { name: 'box_id', type: 'uuid' },
  { name: 'enrollment_eori', type: 'text' },
  { name: 'enrollment_verified', type: 'boolean' },
  { name: 'via_connection', type: 'uuid' },
  { name: 'movement_eori', type: 'text' },
  { name: 'mrn', type: 'text' },
  { name: 'lrn', type: 'text' },
  { name: 'api_version', type: 'text' },
  { name: 'status', type: 'text' },
  { name: 'message_count', type: 'int' },
  { name: 'last_message_at', type: 'timestamptz' },
];

export function firstIndexForMovement(records: readonly IngestRecord[], key: string): number {
  return records.findIndex(
    (record) =>
      record.kind !== 'quarantine' &&
      movementKey(record.movement.movementType, record.movement.movementId) === key,
  );
}

export function batchOnlyStates(
  records: readonly IngestRecord[],
  deriveStatus: DeriveStatus,
): Map<string, BatchOnlyState> {
  const byMovement = new Map<
    string,
    { type: MovementType; facts: MessageStatusFact[]; keys: Set<string>; last: Date }
  >();
  for (const record of records) {
    if (record.kind !== 'message') continue;
    const { movement, message } = record;
    const key = movementKey(movement.movementType, movement.movementId);
    const messageKeyOf = messageKey(movement.movementType, movement.movementId, message.messageId);
    const entry = byMovement.get(key) ?? {
      type: movement.movementType,
      facts: [],
      keys: new Set<string>(),
      last: message.receivedAt,
    };
    if (entry.keys.has(messageKeyOf)) continue;
    entry.keys.add(messageKeyOf);
    entry.facts.push(record.statusFact);
    if (message.receivedAt > entry.last) entry.last = message.receivedAt;
    byMovement.set(key, entry);
  }
  const states = new Map<string, BatchOnlyState>();
  for (const [key, entry] of byMovement)
    states.set(key, {
      status: deriveStatus(entry.type, entry.facts),
      messageCount: entry.facts.length,
      lastMessageAt: entry.last,
      messageKeys: [...entry.keys],
    });
  return states;
}

export async function upsertMovements(
  trx: Trx,
  records: readonly IngestRecord[],
  deriveStatus: DeriveStatus,
): Promise<Map<string, MovementRow>> {
  // Merge what the batch knows per movement: the first non-null value of each field wins.
  const merged = new Map<string, MovementFacts>();
  for (const record of records) {
    if (record.kind === 'quarantine') continue;
    const facts = record.movement;
    const key = movementKey(facts.movementType, facts.movementId);
    const known = merged.get(key);
    if (known === undefined) {
      merged.set(key, { ...facts });
      continue;
    }
    // What HMRC reported beats what we claimed, within the batch as in the table.
    if (!known.enrollmentVerified && facts.enrollmentVerified && facts.enrollmentEori !== null) {
      known.enrollmentEori = facts.enrollmentEori;
      known.enrollmentVerified = true;
    }
    for (const field of [
      'boxId',
      'enrollmentEori',
      'viaConnection',
      'movementEori',
      'mrn',
      'lrn',
      'apiVersion',
    ] as const) {
      known[field] ??= facts[field];
    }
  }
  const result = new Map<string, MovementRow>();
  if (merged.size === 0) return result;
  const states = batchOnlyStates(records, deriveStatus);
  // Status, count and last message time only take effect when the row is new: the conflict
  // branch below does not set them, and refreshMovementStatus recomputes existing movements.
  const rows = [...merged.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, facts]): MovementInsert => {
      const state = states.get(key);
      return {
        movement_type: facts.movementType,
        movement_id: facts.movementId,
        request_id: facts.requestId,
        box_id: facts.boxId,
        enrollment_eori: facts.enrollmentEori,
        enrollment_verified: facts.enrollmentVerified && facts.enrollmentEori !== null,
        via_connection: facts.viaConnection,
        movement_eori: facts.movementEori,
        mrn: facts.mrn,
        lrn: facts.lrn,
        api_version: facts.apiVersion,
        status: state?.status ?? unknownStatus,
        message_count: state?.messageCount ?? 0,
        last_message_at: state?.lastMessageAt ?? null,
      };
    });
  const returned = await trx
    .insertInto('movements')
    .columns(movementColumns.map((column) => column.name))
    .expression(unnestRows(rows, movementColumns))
    .onConflict((oc) =>
      oc.columns(['movement_type', 'movement_id']).doUpdateSet({
        box_id: sql`COALESCE(movements.box_id, EXCLUDED.box_id)`,
        // HMRC's word is kept once given; before that, HMRC's word replaces our claim.
        enrollment_eori: sql`CASE WHEN movements.enrollment_verified THEN movements.enrollment_eori
          WHEN EXCLUDED.enrollment_verified THEN EXCLUDED.enrollment_eori
          ELSE COALESCE(movements.enrollment_eori, EXCLUDED.enrollment_eori) END`,
        enrollment_verified: sql`movements.enrollment_verified OR EXCLUDED.enrollment_verified`,
        // On a conflict the connection kept is the one whose claim HMRC contradicted.
        via_connection: sql`CASE WHEN ${enrollmentConflict} AND NOT EXCLUDED.enrollment_verified
          THEN EXCLUDED.via_connection ELSE COALESCE(movements.via_connection, EXCLUDED.via_connection) END`,
        quarantined_at: sql`CASE WHEN ${enrollmentConflict}
          THEN COALESCE(movements.quarantined_at, now()) ELSE movements.quarantined_at END`,
        quarantine_reason: sql`CASE WHEN ${enrollmentConflict} AND movements.quarantined_at IS NULL
          THEN format('HMRC reports enrolment EORI %s for this movement; it had been filed under %s',
            CASE WHEN EXCLUDED.enrollment_verified THEN EXCLUDED.enrollment_eori ELSE movements.enrollment_eori END,
            CASE WHEN EXCLUDED.enrollment_verified THEN movements.enrollment_eori ELSE EXCLUDED.enrollment_eori END)
          ELSE movements.quarantine_reason END`,
        movement_eori: sql`COALESCE(movements.movement_eori, EXCLUDED.movement_eori)`,
        mrn: sql`COALESCE(movements.mrn, EXCLUDED.mrn)`,
        lrn: sql`COALESCE(movements.lrn, EXCLUDED.lrn)`,
        api_version: sql`COALESCE(movements.api_version, EXCLUDED.api_version)`,
        updated_at: sql`now()`,
      }),
    )
    .returning([
      'movement_type',
      'movement_id',
      'retention_month',
      'status',
      'enrollment_eori',
      'via_connection',
      'quarantine_reason',
      sql<boolean>`(quarantined_at IS NOT NULL)`.as('quarantined'),
      // now() is the transaction's start: equal only for rows this transaction quarantined.
      sql<boolean>`(quarantined_at IS NOT DISTINCT FROM now())`.as('newly_quarantined'),
      sql<boolean>`(xmax = 0)`.as('inserted'),
    ])
    .execute();
  for (const row of returned) {
    const key = movementKey(row.movement_type, row.movement_id);
    const state = row.inserted ? states.get(key) : undefined;
    // A new row's status is the one we just wrote; "from" is what a new movement starts as.
    result.set(key, {
      movement_type: row.movement_type,
      movement_id: row.movement_id,
      retention_month: row.retention_month,
      status: row.status,
      inserted: row.inserted,
      // Events of a quarantined movement name no EORI: only operators' keys see them.
      event_eori: row.quarantined ? null : row.enrollment_eori,
      ...(state !== undefined ? { status: unknownStatus, batchOnly: state } : {}),
      ...(row.newly_quarantined && !row.inserted && row.enrollment_eori !== null
        ? {
            conflict: {
              movementType: row.movement_type,
              movementId: row.movement_id,
              connectionId: row.via_connection,
              hmrcEori: row.enrollment_eori,
              detail: row.quarantine_reason ?? 'enrolment EORI conflict',
            },
          }
        : {}),
    });
  }
  return result;
}

/**
 * The stored and the incoming enrolment EORI of a movement disagree, and at least one of them is
 * HMRC's word: someone's token was filed under the wrong EORI (SQL over the existing row
 * `movements` and the proposed one `EXCLUDED`, for ON CONFLICT DO UPDATE).
 */
const enrollmentConflict = sql`(movements.enrollment_eori IS NOT NULL
  AND EXCLUDED.enrollment_eori IS NOT NULL
  AND movements.enrollment_eori <> EXCLUDED.enrollment_eori
  AND (movements.enrollment_verified OR EXCLUDED.enrollment_verified)
  AND NOT (movements.enrollment_verified AND EXCLUDED.enrollment_verified))`;

export interface StatusChange {
  from: string;
  to: string;
  eori: string | null;
}

/**
 * Recomputes the status of every movement that gained a message, from ALL its messages' types:
 * the result does not depend on the order notifications arrived in.
 */
export async function refreshMovementStatus(
  trx: Trx,
  records: readonly IngestRecord[],
  movements: Map<string, MovementRow>,
  insertedMessages: Set<string>,
  deriveStatus: DeriveStatus,
): Promise<Map<string, StatusChange>> {
  const touched = new Map<string, MovementRow>();
  for (const record of records) {
    if (record.kind !== 'message') continue;
    const { movement, message } = record;
    if (
      !insertedMessages.has(
        messageKey(movement.movementType, movement.movementId, message.messageId),
      )
    )
      continue;
    const key = movementKey(movement.movementType, movement.movementId);
    touched.set(key, movements.get(key)!);
  }
  const changes = new Map<string, StatusChange>();
  // Movements this batch created were written with their state by upsertMovements, as long as
  // every message the batch had for them was indeed inserted (always, for a new movement).
  for (const [key, row] of touched) {
    const state = row.batchOnly;
    if (state === undefined || !state.messageKeys.every((k) => insertedMessages.has(k))) continue;
    touched.delete(key);
    if (state.status !== row.status)
      changes.set(key, { from: row.status, to: state.status, eori: row.event_eori });
  }
  if (touched.size === 0) return changes;

  const ids = [...new Set([...touched.values()].map((row) => row.movement_id))];
  const months = [...new Set([...touched.values()].map((row) => row.retention_month))];
  const types = [...new Set([...touched.values()].map((row) => row.movement_type))];
  const facts = await trx
    .selectFrom('messages')
    .select([
      'movement_type',
      'movement_id',
      'message_type',
      'received_at',
      sql<string | null>`summary #>> '{rejection,businessRejectionType}'`.as('rejected_type'),
      sql<string | null>`summary ->> 'invalidationDecision'`.as('decision'),
    ])
    .where('movement_month', 'in', months)
    // With the type, the (movement_type, movement_id) index serves this; without it, each
    // batch scanned the whole month's partition (12 ms at 100,000 messages, growing).
    .where('movement_type', 'in', types)
    .where('movement_id', 'in', ids)
    .execute();

  const grouped = new Map<string, { facts: MessageStatusFact[]; last: Date }>();
  for (const row of facts) {
    const key = movementKey(row.movement_type, row.movement_id);
    if (!touched.has(key)) continue;
    const entry = grouped.get(key) ?? { facts: [], last: row.received_at };
    entry.facts.push({
      messageType: row.message_type,
      rejectedMessageType: row.rejected_type,
      invalidationDecision: row.decision === null ? null : row.decision === 'true',
    });
    if (row.received_at > entry.last) entry.last = row.received_at;
    grouped.set(key, entry);
  }

  const updates = [...grouped.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  for (const [key, { facts: messageFacts }] of updates) {
    const row = touched.get(key)!;
    const status = deriveStatus(row.movement_type, messageFacts);
    if (status !== row.status)
      changes.set(key, { from: row.status, to: status, eori: row.event_eori });
  }
  if (updates.length > 0) {
    const values = sql.join(
      updates.map(([key, { facts: messageFacts, last }]) => {
        const row = touched.get(key)!;
        const status = changes.get(key)?.to ?? row.status;
        return sql`(${row.movement_type}, ${row.movement_id}, ${status}, ${messageFacts.length}::int, ${last}::timestamptz)`;
      }),
    );
    await sql`
      UPDATE movements AS m
         SET status = v.status, message_count = v.message_count, last_message_at = v.last_message_at
        FROM (VALUES ${values}) AS v(movement_type, movement_id, status, message_count, last_message_at)
       WHERE m.movement_type = v.movement_type AND m.movement_id = v.movement_id`.execute(trx);
  }
  return changes;
}
