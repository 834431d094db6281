import type { Transaction } from 'kysely';
import type { Db } from '../connection.js';
import type { Database } from '../schema/database.js';
import type { Submission } from '../schema/submissions.table.js';

type Executor = Db | Transaction<Database>;

/** A `submission.*` event of the change feed, in the caller's transaction. */
export async function insertSubmissionEvent(
  db: Executor,
  submission: Pick<
    Submission,
    'id' | 'eori' | 'movement_type' | 'movement_id' | 'message_type' | 'hmrc_message_id'
  >,
  kind: string,
  data: Record<string, unknown>,
): Promise<void> {
  await db
    .insertInto('events')
    .values({
      kind,
      submission_id: submission.id,
      eori: submission.eori,
      movement_type: submission.movement_type,
      movement_id: submission.movement_id,
      message_id: submission.hmrc_message_id,
      data: JSON.stringify({ messageType: submission.message_type, ...data }),
    })
    .execute();
}
