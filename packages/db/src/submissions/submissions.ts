import { sql, type Transaction } from 'kysely';
import type { Db } from '../connection.js';
import type { Database } from '../schema/database.js';
import { insertSubmissionEvent } from './events.js';
import type { Submission, SubmissionStatus } from '../schema/submissions.table.js';

type Executor = Db | Transaction<Database>;

export interface NewSubmissionInput {
  eori: string;
  apiKeyId: string;
  idempotencyKey: string | null;
  bodySha256: Buffer;
  movementType: 'departure' | 'arrival';
  messageType: string;
  movementId: string | null;
  lrn: string | null;
  mrn: string | null;
  messageIdentification: string | null;
  apiVersion: string;
  route: 'small' | 'large';
  body: Buffer;
  /**
   * false: only find the submission this request repeats, never create one (the api passes it
   * when the EORI cannot reach HMRC, so a client's retry still gets its submission back).
   */
  mayCreate?: boolean;
  /**
   * Refuse a new submission while this API key already has this many waiting for HMRC (queued
   * or sending); 0 or absent: no limit. Repeats of an existing submission are never refused.
   */
  maxInFlightForKey?: number;
}

export type CreateSubmissionResult =
  /** A new submission: queue it. */
  | { kind: 'created'; submission: Submission }
  /** The same submission was made before (same key and body, or same body within 24 h). */
  | { kind: 'existing'; submission: Submission }
  /** The Idempotency-Key was used before with a different body. */
  | { kind: 'key-conflict'; submission: Submission }
  /** Nothing to repeat, and `mayCreate` was false. */
  | { kind: 'not-created' }
  /** New, but the API key already has `maxInFlightForKey` waiting for HMRC: nothing stored. */
  | { kind: 'key-limit'; inFlight: number };

/** How long an identical body from the same trader counts as a repeat without Idempotency-Key. */
export const implicitDedupeHours = 24;

/**
 * Records a submission exactly once. With an Idempotency-Key, the unique (eori, key) index
 * decides; without one, an identical body for the same EORI within 24 h is the same submission.
 * Both paths serialise concurrent duplicates on an advisory lock keyed by the body (or key), so
 * two simultaneous identical POSTs create one row.
 */
export async function createSubmission(
  db: Db,
  input: NewSubmissionInput,
): Promise<CreateSubmissionResult> {
  return db.transaction().execute(async (trx) => {
    const lockKey =
      input.idempotencyKey !== null
        ? `key:${input.eori}:${input.idempotencyKey}`
        : `body:${input.eori}:${input.bodySha256.toString('hex')}`;
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${lockKey}, 0))`.execute(trx);

    if (input.idempotencyKey !== null) {
      const existing = await trx
        .selectFrom('submissions')
        .selectAll()
        .where('eori', '=', input.eori)
        .where('idempotency_key', '=', input.idempotencyKey)
        .executeTakeFirst();
      if (existing !== undefined) {
        return existing.body_sha256.equals(input.bodySha256)
          ? { kind: 'existing', submission: existing }
          : { kind: 'key-conflict', submission: existing };
      }
    } else {
      const existing = await trx
        .selectFrom('submissions')
        .selectAll()
        .where('eori', '=', input.eori)
        .where('body_sha256', '=', input.bodySha256)
        .where('created_at', '>', sql<Date>`now() - make_interval(hours => ${implicitDedupeHours})`)
        .orderBy('created_at', 'desc')
        .executeTakeFirst();
      if (existing !== undefined) return { kind: 'existing', submission: existing };
    }
    if (input.mayCreate === false) return { kind: 'not-created' };

    const maxInFlight = input.maxInFlightForKey ?? 0;
    if (maxInFlight > 0) {
      // Not under a lock of its own: concurrent requests of one key may pass it together, by at
      // most the requests that key may have in progress; a share, not an exact quota.
      const { count } = await trx
        .selectFrom('submissions')
        .select(sql<number>`count(*)::int`.as('count'))
        .where('api_key_id', '=', input.apiKeyId)
        .where('status', 'in', ['queued', 'sending'])
        .executeTakeFirstOrThrow();
      if (Number(count) >= maxInFlight) return { kind: 'key-limit', inFlight: Number(count) };
    }

    const submission = await trx
      .insertInto('submissions')
      .values({
        eori: input.eori,
        api_key_id: input.apiKeyId,
        idempotency_key: input.idempotencyKey,
        body_sha256: input.bodySha256,
        movement_type: input.movementType,
        message_type: input.messageType,
        movement_id: input.movementId,
        lrn: input.lrn,
        mrn: input.mrn,
        message_identification: input.messageIdentification,
        api_version: input.apiVersion,
        route: input.route,
        size_bytes: input.body.length,
        body: input.body,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await insertSubmissionEvent(trx, submission, 'submission.queued', {});
    return { kind: 'created', submission };
  });
}

export async function getSubmission(db: Executor, id: string): Promise<Submission | undefined> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return undefined;
  return db.selectFrom('submissions').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Submissions whose job may have been lost (Redis outage, crash between commit and enqueue). */
export async function submissionsToRelay(
  db: Db,
  olderThanSeconds: number,
  limit = 500,
): Promise<{ id: string; status: SubmissionStatus }[]> {
  return db
    .selectFrom('submissions')
    .select(['id', 'status'])
    .where('status', 'in', ['queued', 'sending'])
    .where('updated_at', '<', sql<Date>`now() - make_interval(secs => ${olderThanSeconds})`)
    .orderBy('updated_at')
    .limit(limit)
    .execute();
}
