import type { Database, Db, Submission, SubmissionStatus } from '@ctc-hub/db';
import { sql, type Transaction } from 'kysely';
import type { EoriScope } from '../http/scope.js';
import type { LinkedMessage, LinkedMovement } from './present.js';

export interface SubmissionFilter {
  status?: SubmissionStatus;
  eori?: string;
  lrn?: string;
  messageType?: string;
  scope: EoriScope;
}

/**
 * A submission with the MRN its movement has been given since: HMRC assigns it in the IE028 that
 * follows an IE015, and the submission row keeps only what was in the declaration. A quarantined
 * movement's MRN is not shown (its messages are someone else's until an operator resolves it).
 */
export type SubmissionView = Submission & { movement_mrn: string | null };

const movementMrn = sql<string | null>`(SELECT m.mrn FROM movements m
  WHERE m.movement_type = submissions.movement_type AND m.movement_id = submissions.movement_id
    AND m.quarantined_at IS NULL)`.as('movement_mrn');

export function findSubmission(db: Db, id: string): Promise<SubmissionView | undefined> {
  return db
    .selectFrom('submissions')
    .selectAll()
    .select(movementMrn)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function listSubmissions(
  db: Db,
  filter: SubmissionFilter,
  count: number,
  offset: number,
): Promise<{ totalCount: number; items: SubmissionView[] }> {
  let query = db.selectFrom('submissions');
  if (filter.status !== undefined) query = query.where('status', '=', filter.status);
  if (filter.eori !== undefined) query = query.where('eori', '=', filter.eori);
  if (filter.lrn !== undefined) query = query.where('lrn', '=', filter.lrn);
  if (filter.messageType !== undefined)
    query = query.where('message_type', '=', filter.messageType);
  if (filter.scope !== undefined)
    query = query.where('eori', 'in', filter.scope.length === 0 ? [''] : [...filter.scope]);
  const [total, items] = await Promise.all([
    query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    query
      .selectAll()
      .select(movementMrn)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(count)
      .offset(offset)
      .execute(),
  ]);
  return { totalCount: total.n, items };
}

/**
 * The submission's movement and the messages it has had since the submission was made, read in
 * one snapshot: a message and the status it produced are committed together, so they must be
 * seen together.
 */
export async function linkedActivity(
  db: Db,
  submission: Submission,
): Promise<{ movement: LinkedMovement | undefined; messages: LinkedMessage[] }> {
  if (submission.movement_id === null) return { movement: undefined, messages: [] };
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute((trx) => readActivity(trx, submission));
}

async function readActivity(
  db: Transaction<Database>,
  submission: Submission,
): Promise<{ movement: LinkedMovement | undefined; messages: LinkedMessage[] }> {
  if (submission.movement_id === null) return { movement: undefined, messages: [] };
  const movement = await db
    .selectFrom('movements')
    .select(['status', 'box_id', 'request_id', 'mrn', 'retention_month'])
    .where('movement_type', '=', submission.movement_type)
    .where('movement_id', '=', submission.movement_id)
    // A quarantined movement's messages belong to whoever HMRC says: not shown with the
    // submission until an operator resolves the connection that sent it.
    .where('quarantined_at', 'is', null)
    .executeTakeFirst();
  if (movement === undefined) return { movement: undefined, messages: [] };
  const messages = await db
    .selectFrom('messages')
    .select(['message_id', 'message_type', 'direction', 'received_at', 'hmrc_status'])
    .where('movement_month', '=', movement.retention_month)
    .where('movement_type', '=', submission.movement_type)
    .where('movement_id', '=', submission.movement_id)
    .where('received_at', '>=', new Date(submission.created_at.getTime() - 60_000))
    .orderBy('received_at')
    .execute();
  return { movement, messages };
}
