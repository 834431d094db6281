import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type {
  Db,
  DeadLetterStatus,
  ErrorHistoryEntry,
  MessageSource,
  MovementType,
  NotificationSource,
  NotificationStatus,
} from '@ctc-hub/db';
import { movementPath } from '@ctc-hub/ppns';
import { fixturePath } from '@ctc-hub/testing';

/**
 * Rows for the read API's tests, inserted with plain Kysely as the worker would store them.
 * Message bodies are real NCTS examples (packages/testing/fixtures/ncts), so byte-for-byte checks
 * run on real XML.
 */

/** A real example message, e.g. example('cc029c-valid.xml'). */
export const example = (name: string): Buffer =>
  readFileSync(fixturePath(`ncts/examples/phase5/${name}`));

/** A fresh HMRC-style id: 16 lower-case hex characters. */
export const hexId = (): string => randomBytes(8).toString('hex');

/** First day of the month of `date` (UTC), as the `date` text Postgres returns. */
export const monthOf = (date: Date): string =>
  `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}-01`;

export interface SeededMovement {
  movementType: MovementType;
  movementId: string;
  retentionMonth: string;
  requestId: string;
  boxId: string | null;
}

export interface MovementSeed {
  movementType?: MovementType;
  movementId?: string;
  enrollmentEori?: string | null;
  movementEori?: string | null;
  mrn?: string | null;
  lrn?: string | null;
  boxId?: string | null;
  status?: string;
  createdAt?: Date;
  updatedAt?: Date;
  retentionMonth?: string;
}

export async function seedMovement(db: Db, seed: MovementSeed = {}): Promise<SeededMovement> {
  const movementType = seed.movementType ?? 'departure';
  const movementId = seed.movementId ?? hexId();
  const createdAt = seed.createdAt ?? new Date();
  const retentionMonth = seed.retentionMonth ?? monthOf(createdAt);
  const requestId = movementPath(movementType, movementId);
  const boxId = seed.boxId === undefined ? null : seed.boxId;
  await db
    .insertInto('movements')
    .values({
      movement_type: movementType,
      movement_id: movementId,
      enrollment_eori: seed.enrollmentEori === undefined ? 'GB000000000001' : seed.enrollmentEori,
      movement_eori: seed.movementEori ?? null,
      mrn: seed.mrn ?? null,
      lrn: seed.lrn ?? null,
      box_id: boxId,
      request_id: requestId,
      status: seed.status ?? 'submitted',
      retention_month: retentionMonth,
      created_at: createdAt,
      updated_at: seed.updatedAt ?? createdAt,
    })
    .execute();
  return { movementType, movementId, retentionMonth, requestId, boxId };
}

export interface MessageSeed {
  messageId?: string;
  messageType?: string | null;
  body: Buffer;
  receivedAt: Date;
  direction?: 'inbound' | 'outbound';
  hmrcStatus?: string;
  source?: MessageSource;
  boxId?: string | null;
  notificationId?: string | null;
  /** PhaseID of the body (NCTS5.0 unless given). */
  phase?: string | null;
}

export interface SeededMessage {
  messageId: string;
  sha256: Buffer;
}

export async function seedMessage(
  db: Db,
  movement: SeededMovement,
  seed: MessageSeed,
): Promise<SeededMessage> {
  const messageId = seed.messageId ?? hexId();
  const sha256 = createHash('sha256').update(seed.body).digest();
  const messageType = seed.messageType === undefined ? 'IE028' : seed.messageType;
  await db
    .insertInto('messages')
    .values({
      movement_month: movement.retentionMonth,
      movement_type: movement.movementType,
      movement_id: movement.movementId,
      message_id: messageId,
      message_type: messageType,
      root_element: messageType === null ? null : `CC${messageType.slice(2)}C`,
      phase: seed.phase === undefined ? 'NCTS5.0' : seed.phase,
      direction: seed.direction ?? 'inbound',
      known_type: messageType !== null,
      received_at: seed.receivedAt,
      prepared_at: '2024-05-14T15:26:40',
      message_identification: null,
      correlation_identifier: null,
      mrn: null,
      lrn: null,
      size_bytes: seed.body.length,
      sha256,
      summary: JSON.stringify({}),
      parse_error: null,
      source: seed.source ?? 'push',
      box_id: seed.boxId === undefined ? movement.boxId : seed.boxId,
      request_id: movement.requestId,
      notification_id: seed.notificationId ?? null,
      hmrc_status: seed.hmrcStatus ?? 'Received',
      body: seed.body,
    })
    .execute();
  return { messageId, sha256 };
}

export interface NotificationSeed {
  notificationId?: string;
  boxId?: string;
  createdAt: Date;
  receivedAt: Date;
  processedAt: Date;
  status: NotificationStatus;
  source?: NotificationSource;
  notificationType?: string | null;
  movementType?: MovementType | null;
  movementId?: string | null;
  messageId?: string | null;
  messageType?: string | null;
  enrollmentEori?: string | null;
  error?: string | null;
  errorHistory?: ErrorHistoryEntry[];
  envelope?: string;
}

export async function seedNotification(db: Db, seed: NotificationSeed): Promise<string> {
  const notificationId = seed.notificationId ?? randomUUID();
  await db
    .insertInto('notifications')
    .values({
      notification_id: notificationId,
      created_at: seed.createdAt,
      box_id: seed.boxId ?? randomUUID(),
      source: seed.source ?? 'push',
      status: seed.status,
      payload_version: 'v2',
      notification_type:
        seed.notificationType === undefined ? 'MESSAGE_RECEIVED' : seed.notificationType,
      movement_type: seed.movementType ?? null,
      movement_id: seed.movementId ?? null,
      message_id: seed.messageId ?? null,
      message_type: seed.messageType ?? null,
      enrollment_eori: seed.enrollmentEori === undefined ? 'GB000000000001' : seed.enrollmentEori,
      envelope: seed.envelope ?? '{}',
      error: seed.error ?? null,
      error_history: JSON.stringify(seed.errorHistory ?? []),
      received_at: seed.receivedAt,
      processed_at: seed.processedAt,
      trace_id: null,
    })
    .execute();
  return notificationId;
}

export interface DeadLetterSeed {
  kind: string;
  errorCode: string;
  errorMessage: string;
  payload: unknown;
  createdAt: Date;
  errorHistory?: ErrorHistoryEntry[];
  status?: DeadLetterStatus;
  notificationId?: string | null;
  boxId?: string | null;
  eori?: string | null;
  movementType?: MovementType | null;
  movementId?: string | null;
  messageId?: string | null;
  queue?: string | null;
  jobId?: string | null;
}

export async function seedDeadLetter(db: Db, seed: DeadLetterSeed): Promise<string> {
  const notificationId = seed.notificationId ?? null;
  const { id } = await db
    .insertInto('dead_letters')
    .values({
      dedupe_key: `${seed.kind}:${notificationId ?? randomUUID()}`,
      kind: seed.kind,
      queue: seed.queue ?? null,
      job_id: seed.jobId ?? null,
      error_code: seed.errorCode,
      error_message: seed.errorMessage,
      error_history: JSON.stringify(seed.errorHistory ?? []),
      payload: JSON.stringify(seed.payload),
      notification_id: notificationId,
      box_id: seed.boxId ?? null,
      eori: seed.eori === undefined ? 'GB000000000001' : seed.eori,
      movement_type: seed.movementType ?? null,
      movement_id: seed.movementId ?? null,
      message_id: seed.messageId ?? null,
      status: seed.status ?? 'open',
      created_at: seed.createdAt,
      updated_at: seed.createdAt,
      replayed_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

/**
 * A trader connected to HMRC as the token store leaves a verified connection (the ciphertexts are
 * placeholders: nothing here calls HMRC), so the api accepts work for the EORI.
 */
export async function seedConnection(db: Db, eori: string): Promise<void> {
  await db
    .insertInto('oauth_tokens')
    .values({
      subject: eori,
      kind: 'user',
      access_token: 'v1.k.access',
      refresh_token: 'v1.k.refresh',
      access_expires_at: new Date(Date.now() + 3600_000),
      consented_at: new Date(),
      connection_id: randomUUID(),
      verification: 'verified',
      verified_at: new Date(),
      observed_eori: null,
      mismatch_at: null,
      mismatch_detail: null,
      connected_by: null,
    })
    .onConflict((oc) => oc.column('subject').doNothing())
    .execute();
}
