import { sql, type Transaction } from 'kysely';
import type { Db } from '../connection.js';
import { queueForRelay, relayableNotifications } from '../relay/outbox.js';
import type { Database } from '../schema/database.js';
import type { MovementType } from '../schema/movements.table.js';
import type { NotificationStatus } from '../schema/notifications.table.js';
import type { DeadLetterSubject } from '../dead-letters/keys.js';
import { recordDeadLetters, resolveReplayedDeadLetters } from '../dead-letters/letters.js';
import { settleLargeSubmission } from '../submissions/transitions.js';
import type {
  DeriveStatus,
  EnrollmentConflict,
  IngestOutcome,
  IngestRecord,
  MessageStatusFact,
  MovementFacts,
  NotificationFacts,
} from './types.js';

type Trx = Transaction<Database>;

const movementKey = (type: string, id: string) => `${type}/${id}`;
const messageKey = (type: string, id: string, messageId: string) => `${type}/${id}/${messageId}`;

/**
 * Stores a micro-batch of ingest records in ONE transaction: movement upserts, messages (raw
 * bytes), notifications, dead letters, movement status, change-feed events. Either all of it is
 * committed or none, so a job is acknowledged only for rows that exist.
 *
 * Idempotency comes from unique keys with ON CONFLICT (notification id; movement + message id;
 * dead-letter key), so replays, PPNS duplicates and concurrent batches leave one row each. Rows
 * are written in key order so concurrent batches lock in the same order; a deadlock or
 * serialization failure that slips through is retried with the whole batch.
 */
export async function storeIngestBatch(
  db: Db,
  records: readonly IngestRecord[],
  deriveStatus: DeriveStatus,
): Promise<IngestOutcome[]> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await db
        .transaction()
        .execute((trx) => storeInTransaction(trx, records, deriveStatus));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt < 4 && (code === '40P01' || code === '40001')) continue;
      throw error;
    }
  }
}

interface MovementRow {
  movement_type: MovementType;
  movement_id: string;
  retention_month: string;
  status: string;
  inserted: boolean;
  /** The EORI this batch's events are filed under: null while the movement is quarantined. */
  event_eori: string | null;
  /** Set when this batch quarantined the movement (see enrollmentConflict). */
  conflict?: EnrollmentConflict;
  /** Set when this batch created the movement: its row already holds this state. */
  batchOnly?: BatchOnlyState;
}

/** The status column's default: what a movement is before any message says otherwise. */
const unknownStatus = 'unknown';

/**
 * The body of storeIngestBatch for callers that already hold a transaction (accepting a
 * submission stores its outbound message atomically with the submission's new status).
 */
export async function storeInTransaction(
  trx: Trx,
  records: readonly IngestRecord[],
  deriveStatus: DeriveStatus,
): Promise<IngestOutcome[]> {
  const outcomes: IngestOutcome[] = records.map(() => ({
    notification: null,
    messageStored: false,
    movementCreated: false,
    movementStatus: null,
  }));

  const movements = await upsertMovements(trx, records, deriveStatus);
  const insertedMessages = await insertMessages(trx, records, movements);

  // The first record carrying a given message "owns" its insert; later ones in the batch (and
  // every record whose message existed before) are duplicates.
  const owners = new Map<string, number>();
  records.forEach((record, index) => {
    if (record.kind !== 'message') return;
    const key = messageKey(
      record.movement.movementType,
      record.movement.movementId,
      record.message.messageId,
    );
    if (insertedMessages.has(key) && !owners.has(key)) owners.set(key, index);
  });
  const ownerIndexes = new Set(owners.values());
  const ownsInsert = (index: number) => ownerIndexes.has(index);
  records.forEach((record, index) => {
    if (record.kind === 'message') outcomes[index]!.messageStored = ownsInsert(index);
  });

  await insertNotifications(trx, records, outcomes, ownsInsert);
  await completeQueuedNotifications(trx, records, outcomes);
  await queueForRelay(trx, relayableNotifications(records, outcomes));
  await settleLargeSubmissions(trx, records, outcomes, movements);
  await upsertDeadLetters(trx, records);
  await resolveReplayedDeadLetters(trx, deadLettersSettledBy(records));
  const statusChanges = await refreshMovementStatus(
    trx,
    records,
    movements,
    insertedMessages,
    deriveStatus,
  );

  records.forEach((record, index) => {
    if (record.kind === 'quarantine') return;
    const key = movementKey(record.movement.movementType, record.movement.movementId);
    const movement = movements.get(key);
    outcomes[index]!.movementCreated =
      movement?.inserted === true && firstIndexForMovement(records, key) === index;
    outcomes[index]!.movementStatus = statusChanges.get(key)?.to ?? movement?.status ?? null;
    if (movement?.conflict !== undefined && firstIndexForMovement(records, key) === index)
      outcomes[index]!.enrollmentConflict = movement.conflict;
  });

  await insertEvents(trx, records, outcomes, movements, statusChanges);
  return outcomes;
}

function firstIndexForMovement(records: readonly IngestRecord[], key: string): number {
  return records.findIndex(
    (record) =>
      record.kind !== 'quarantine' &&
      movementKey(record.movement.movementType, record.movement.movementId) === key,
  );
}

/**
 * What a movement's row says when the batch's messages are all it has: the case for a movement
 * this batch creates (nobody else can add a message to it before we commit: a concurrent batch
 * blocks on the new row's key). Computed up front so that such a movement is written once, by
 * its INSERT, instead of inserted and then updated again by refreshMovementStatus.
 */
interface BatchOnlyState {
  status: string;
  messageCount: number;
  lastMessageAt: Date;
  messageKeys: string[];
}

function batchOnlyStates(
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

async function upsertMovements(
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
    .map(([key, facts]) => {
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
    .values(rows)
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

async function insertMessages(
  trx: Trx,
  records: readonly IngestRecord[],
  movements: Map<string, MovementRow>,
): Promise<Set<string>> {
  const rows = new Map<string, Parameters<ReturnType<Trx['insertInto']>['values']>[0] & object>();
  for (const record of records) {
    if (record.kind !== 'message') continue;
    const { movement, message } = record;
    const key = messageKey(movement.movementType, movement.movementId, message.messageId);
    if (rows.has(key)) continue;
    const month = movements.get(
      movementKey(movement.movementType, movement.movementId),
    )!.retention_month;
    rows.set(key, {
      movement_month: month,
      movement_type: movement.movementType,
      movement_id: movement.movementId,
      message_id: message.messageId,
      message_type: message.messageType,
      root_element: message.rootElement,
      phase: message.phase,
      direction: message.direction,
      known_type: message.knownType,
      received_at: message.receivedAt,
      prepared_at: message.preparedAt,
      message_identification: message.messageIdentification,
      correlation_identifier: message.correlationIdentifier,
      mrn: message.mrn,
      lrn: message.lrn,
      size_bytes: message.body.length,
      sha256: message.sha256,
      summary: JSON.stringify(message.summary),
      parse_error: message.parseError,
      source: message.source,
      box_id: movement.boxId,
      request_id: movement.requestId,
      notification_id:
        record.notification?.notificationId ?? record.notificationRef?.notificationId ?? null,
      body: message.body,
      ...(message.hmrcStatus !== undefined ? { hmrc_status: message.hmrcStatus } : {}),
    });
  }
  const inserted = new Set<string>();
  if (rows.size === 0) return inserted;
  const sorted = [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, row]) => row);
  const returned = await trx
    .insertInto('messages')
    .values(sorted as never)
    .onConflict((oc) => oc.doNothing())
    .returning(['movement_type', 'movement_id', 'message_id'])
    .execute();
  for (const row of returned)
    inserted.add(messageKey(row.movement_type, row.movement_id, row.message_id));
  return inserted;
}

function notificationRow(
  facts: NotificationFacts,
  record: IngestRecord,
  status: NotificationStatus,
  error: string | null,
) {
  const movement = record.kind === 'quarantine' ? null : record.movement;
  const messageId =
    record.kind === 'message'
      ? record.message.messageId
      : record.kind === 'quarantine'
        ? record.deadLetter.messageId
        : record.messageId;
  return {
    notification_id: facts.notificationId,
    created_at: facts.createdAt,
    box_id: facts.boxId,
    source: facts.source,
    status,
    payload_version: facts.payloadVersion,
    notification_type: facts.notificationType,
    movement_type:
      movement?.movementType ??
      ((record.kind === 'quarantine'
        ? record.deadLetter.movementType
        : null) as MovementType | null),
    movement_id:
      movement?.movementId ?? (record.kind === 'quarantine' ? record.deadLetter.movementId : null),
    message_id: messageId,
    message_type:
      record.kind === 'message'
        ? (record.message.messageType ?? facts.messageType)
        : facts.messageType,
    enrollment_eori: facts.enrollmentEori,
    envelope: facts.envelope,
    error,
    error_history: JSON.stringify(record.kind === 'quarantine' ? record.deadLetter.history : []),
    received_at: facts.receivedAt,
    trace_id: facts.traceId,
  };
}

async function insertNotifications(
  trx: Trx,
  records: readonly IngestRecord[],
  outcomes: IngestOutcome[],
  ownsInsert: (index: number) => boolean,
): Promise<void> {
  const plain: { index: number; row: ReturnType<typeof notificationRow> }[] = [];
  const quarantined: { index: number; row: ReturnType<typeof notificationRow> }[] = [];
  const seen = new Set<string>();
  records.forEach((record, index) => {
    const facts = record.notification;
    if (facts === null) return;
    if (seen.has(facts.notificationId)) {
      outcomes[index]!.notification = 'redelivered';
      return;
    }
    seen.add(facts.notificationId);
    if (record.kind === 'quarantine') {
      quarantined.push({
        index,
        row: notificationRow(facts, record, 'quarantined', record.deadLetter.errorMessage),
      });
      return;
    }
    const status: NotificationStatus =
      record.kind === 'awaiting-fetch'
        ? 'queued'
        : record.kind === 'message' && !ownsInsert(index)
          ? 'duplicate'
          : 'stored';
    plain.push({ index, row: notificationRow(facts, record, status, null) });
  });

  const byId = (entries: typeof plain) =>
    entries.sort((a, b) => (a.row.notification_id < b.row.notification_id ? -1 : 1));

  if (plain.length > 0) {
    // A notification quarantined before and now processed (a replay after its cause was fixed)
    // takes the new verdict; any other existing row is a redelivery and stays as it is.
    const returned = await trx
      .insertInto('notifications')
      .values(byId(plain).map((entry) => entry.row))
      .onConflict((oc) =>
        oc
          .columns(['notification_id', 'created_at'])
          .doUpdateSet({
            status: sql`EXCLUDED.status`,
            payload_version: sql`EXCLUDED.payload_version`,
            notification_type: sql`EXCLUDED.notification_type`,
            movement_type: sql`EXCLUDED.movement_type`,
            movement_id: sql`EXCLUDED.movement_id`,
            message_id: sql`EXCLUDED.message_id`,
            message_type: sql`EXCLUDED.message_type`,
            enrollment_eori: sql`EXCLUDED.enrollment_eori`,
            error: null,
            processed_at: sql`now()`,
            trace_id: sql`EXCLUDED.trace_id`,
          })
          .where('notifications.status', '=', 'quarantined'),
      )
      .returning(['notification_id'])
      .execute();
    const insertedIds = new Set(returned.map((row) => row.notification_id));
    for (const { index, row } of plain) {
      outcomes[index]!.notification = insertedIds.has(row.notification_id)
        ? row.status
        : 'redelivered';
    }
  }
  if (quarantined.length > 0) {
    // A notification that was queued for a fetch (or quarantined before) takes the new verdict;
    // one that was stored stays stored.
    const returned = await trx
      .insertInto('notifications')
      .values(byId(quarantined).map((entry) => entry.row))
      .onConflict((oc) =>
        oc
          .columns(['notification_id', 'created_at'])
          .doUpdateSet({
            status: 'quarantined',
            error: sql`EXCLUDED.error`,
            error_history: sql`notifications.error_history || EXCLUDED.error_history`,
            processed_at: sql`now()`,
          })
          .where('notifications.status', 'in', ['queued', 'quarantined']),
      )
      .returning(['notification_id'])
      .execute();
    const updatedIds = new Set(returned.map((row) => row.notification_id));
    for (const { index, row } of quarantined) {
      outcomes[index]!.notification = updatedIds.has(row.notification_id)
        ? 'quarantined'
        : 'redelivered';
    }
  }
}

/**
 * A fetch (or a failed fetch) settles a notification that was recorded as queued, or one that a
 * failed fetch quarantined and a replayed fetch now completes (or fails again: history grows).
 */
async function completeQueuedNotifications(
  trx: Trx,
  records: readonly IngestRecord[],
  outcomes: IngestOutcome[],
): Promise<void> {
  for (const [index, record] of records.entries()) {
    if (
      (record.kind !== 'message' && record.kind !== 'quarantine') ||
      record.notificationRef === null
    )
      continue;
    const { notificationId, createdAt } = record.notificationRef;
    const update =
      record.kind === 'message'
        ? {
            status: (outcomes[index]!.messageStored ? 'stored' : 'duplicate') as NotificationStatus,
            message_type: record.message.messageType,
            error: null,
            processed_at: sql<Date>`now()`,
          }
        : {
            status: 'quarantined' as NotificationStatus,
            error: record.deadLetter.errorMessage,
            error_history: sql<string>`error_history || ${JSON.stringify(record.deadLetter.history)}::jsonb`,
            processed_at: sql<Date>`now()`,
          };
    const result = await trx
      .updateTable('notifications')
      .set(update)
      .where('notification_id', '=', notificationId)
      .where('created_at', '=', createdAt)
      .where('status', 'in', ['queued', 'quarantined'])
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) > 0) outcomes[index]!.notification = update.status;
  }
}

/**
 * A SUBMISSION_NOTIFICATION reports the outcome of a large-message upload: it settles our
 * submission (accepted on SUCCESS, rejected otherwise, with HMRC's response) and the HMRC status
 * of the outbound message we recorded when uploading. Only a submission still `sending` moves.
 */
async function settleLargeSubmissions(
  trx: Trx,
  records: readonly IngestRecord[],
  outcomes: IngestOutcome[],
  movements: Map<string, MovementRow>,
): Promise<void> {
  for (const [index, record] of records.entries()) {
    if (record.kind !== 'submission-result' || outcomes[index]!.notification !== 'stored') continue;
    const success = record.response.code === 'SUCCESS';
    const { movementType, movementId } = record.movement;
    const month = movements.get(movementKey(movementType, movementId))?.retention_month;
    if (month !== undefined) {
      await trx
        .updateTable('messages')
        .set({ hmrc_status: success ? 'Success' : 'Failed' })
        .where('movement_month', '=', month)
        .where('movement_type', '=', movementType)
        .where('movement_id', '=', movementId)
        .where('message_id', '=', record.messageId)
        .execute();
    }
    await settleLargeSubmission(trx, {
      movementType,
      movementId,
      messageId: record.messageId,
      response: record.response,
    });
  }
}

async function upsertDeadLetters(trx: Trx, records: readonly IngestRecord[]): Promise<void> {
  await recordDeadLetters(
    trx,
    records.flatMap((record) =>
      record.kind === 'quarantine'
        ? [
            {
              ...record.deadLetter,
              notificationId:
                record.notification?.notificationId ??
                record.notificationRef?.notificationId ??
                null,
              boxId: record.notification?.boxId ?? null,
            },
          ]
        : [],
    ),
  );
}

/**
 * The dead letters an ingest batch settles when it commits: a stored (or duplicate) message
 * completes its notification and its fetch; a SUBMISSION_NOTIFICATION completes its
 * notification. A notification that is merely waiting for a fetch settles nothing yet.
 */
function deadLettersSettledBy(records: readonly IngestRecord[]): DeadLetterSubject[] {
  const subjects: DeadLetterSubject[] = [];
  for (const record of records) {
    if (record.kind !== 'message' && record.kind !== 'submission-result') continue;
    const notificationId =
      record.notification?.notificationId ??
      (record.kind === 'message' ? record.notificationRef?.notificationId : undefined);
    if (notificationId !== undefined) subjects.push({ kind: 'notification', notificationId });
    if (record.kind === 'message') {
      const { movementType, movementId } = record.movement;
      subjects.push({
        kind: 'fetch-message',
        movementType,
        movementId,
        messageId: record.message.messageId,
      });
    }
  }
  return subjects;
}

interface StatusChange {
  from: string;
  to: string;
  eori: string | null;
}

/**
 * Recomputes the status of every movement that gained a message, from ALL its messages' types:
 * the result does not depend on the order notifications arrived in.
 */
async function refreshMovementStatus(
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

async function insertEvents(
  trx: Trx,
  records: readonly IngestRecord[],
  outcomes: IngestOutcome[],
  movements: Map<string, MovementRow>,
  statusChanges: Map<string, StatusChange>,
): Promise<void> {
  const events: Database['events'][] = [];
  const push = (
    event: Omit<Database['events'], 'id' | 'xid' | 'created_at' | 'data'> & { data: object },
  ) => events.push({ ...event, data: JSON.stringify(event.data) } as unknown as Database['events']);

  records.forEach((record, index) => {
    const outcome = outcomes[index]!;
    if (record.kind === 'quarantine') {
      if (outcome.notification === 'quarantined' || record.notification === null) {
        push({
          kind: 'notification.quarantined',
          movement_type: record.deadLetter.movementType,
          movement_id: record.deadLetter.movementId,
          message_id: record.deadLetter.messageId,
          submission_id: null,
          eori: record.deadLetter.eori,
          data: {
            notificationId:
              record.notification?.notificationId ?? record.notificationRef?.notificationId ?? null,
            errorCode: record.deadLetter.errorCode,
            error: record.deadLetter.errorMessage,
          },
        });
      }
      return;
    }
    const { movement } = record;
    const movementRow = movements.get(movementKey(movement.movementType, movement.movementId));
    const eori = movementRow === undefined ? movement.enrollmentEori : movementRow.event_eori;
    const base = {
      movement_type: movement.movementType,
      movement_id: movement.movementId,
      submission_id: null,
      eori,
    };
    if (outcome.movementCreated) {
      push({
        ...base,
        kind: 'movement.created',
        message_id: null,
        data: { requestId: movement.requestId, boxId: movement.boxId },
      });
    }
    if (record.kind === 'message' && outcome.messageStored) {
      push({
        ...base,
        kind: 'message.received',
        message_id: record.message.messageId,
        data: {
          messageType: record.message.messageType,
          source: record.message.source,
          sizeBytes: record.message.body.length,
        },
      });
    }
    if (record.kind === 'submission-result' && outcome.notification === 'stored') {
      push({
        ...base,
        kind: 'submission.notification',
        message_id: record.messageId,
        data: { response: record.response },
      });
    }
  });
  for (const [key, change] of statusChanges) {
    const [movementType, movementId] = key.split('/') as [string, string];
    push({
      kind: 'movement.status_changed',
      movement_type: movementType,
      movement_id: movementId,
      message_id: null,
      submission_id: null,
      eori: change.eori,
      data: { from: change.from, to: change.to },
    });
  }
  if (events.length > 0)
    await trx
      .insertInto('events')
      .values(events as never)
      .execute();
}
