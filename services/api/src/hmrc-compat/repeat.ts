import { implicitDedupeHours, type Db, type MovementType } from '@ctc-hub/db';
import { sql } from 'kysely';
import type { ValidSubmission } from '../submissions/validate.js';

/**
 * A repeat whose bytes differ from the first request's. Software that got a 504 (or lost the
 * connection) often builds the message again before resending it: same LRN, same message
 * identification, but a new preparation time, so the body hash that recognises an identical
 * repeat (submissions/record.ts) misses it. NCTS requires a sender's messageIdentification to be
 * unique, so the same trader, message type and messageIdentification (and the same LRN / MRN for
 * a new movement, the same movement for a follow-up) within the outbox's 24 h is the same message:
 * its outcome is the answer, and nothing is sent again. Unless HMRC refused the first (or it
 * could not be sent): a corrected message under the same identification is then sent.
 *
 * Not under the outbox's lock: two such differing requests at the same moment may both be
 * recorded, as two identical requests cannot. (For a declaration HMRC then refuses the second
 * for its LRN, 409.)
 */
export async function earlierSameMessage(
  db: Db,
  eori: string,
  target: { movementType: MovementType; movementId: string | null },
  message: ValidSubmission,
): Promise<string | undefined> {
  if (message.messageIdentification === null) return undefined;
  let query = db
    .selectFrom('submissions')
    .select('id')
    .where('eori', '=', eori)
    .where('movement_type', '=', target.movementType)
    .where('message_type', '=', message.messageType)
    .where('message_identification', '=', message.messageIdentification)
    // A message HMRC refused, or that could not be sent, may be corrected and sent again under
    // the same identification: that is a new attempt, not a repeat.
    .where('status', 'in', ['queued', 'sending', 'accepted'])
    .where('created_at', '>', sql<Date>`now() - make_interval(hours => ${implicitDedupeHours})`);
  query =
    target.movementId !== null
      ? query.where('movement_id', '=', target.movementId)
      : message.messageType === 'IE015'
        ? query.where('lrn', '=', message.lrn ?? '')
        : query.where('mrn', '=', message.mrn ?? '');
  const row = await query.orderBy('created_at', 'desc').limit(1).executeTakeFirst();
  return row?.id;
}
