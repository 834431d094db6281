import type { Db, HmrcReply, Submission } from '@ctc-hub/db';
import { movementPath } from '@ctc-hub/ppns';
import { messagePath, messagesPath, movementIdField } from '../http/hateoas.js';
import { hmrcError, hmrcTexts } from '../http/hmrc-errors.js';
import { ApiError } from '../http/errors.js';

/**
 * Waiting for HMRC's answer to a declaration the worker sends, and handing it on.
 *
 * The worker keeps HMRC's answer with the submission (submissions.hmrc_reply: status, content
 * type, body, as HMRC sent them). The request polls the row, every 5 ms in the first second and
 * less often after, until HMRC has answered or the bound (HMRC_COMPAT_WAIT_MS) has passed. Polling
 * a row by its key costs a fraction of a millisecond; a notification channel (LISTEN/NOTIFY, the
 * queue's events) would need every writer of the row to announce it.
 */

export type Answer =
  | { kind: 'reply'; reply: HmrcReply }
  | { kind: 'error'; error: ApiError }
  /** Large-message route: HMRC opened the movement; its 202 carries HMRC's upload form. */
  | { kind: 'initiated'; reply: HmrcReply }
  /** Not settled within the bound. */
  | { kind: 'pending' };

/**
 * Poll interval by time waited: HMRC usually answers within a few hundred milliseconds, when a
 * short interval costs little and saves the client most; past that the request is waiting for
 * pacing or retries, and a slower poll is enough.
 */
const pollIntervalMs = (waitedMs: number) => (waitedMs < 1_000 ? 5 : waitedMs < 5_000 ? 25 : 100);

/** What an answer is made of (not the body: a poll must not read megabytes of XML). */
const outcomeColumns = [
  'status',
  'hmrc_reply',
  'hmrc_response',
  'movement_type',
  'movement_id',
  'hmrc_message_id',
  'box_id',
  'message_type',
  'route',
  'upload_state',
] as const;
export type OutcomeRow = Pick<Submission, (typeof outcomeColumns)[number]>;

/** The submission once its outcome is known, or the latest row at the deadline. */
export async function waitForOutcome(
  db: Db,
  id: string,
  waitMs: number,
  cancelled: () => boolean,
): Promise<OutcomeRow | undefined> {
  const started = Date.now();
  for (;;) {
    const row = await db
      .selectFrom('submissions')
      .select(outcomeColumns)
      .where('id', '=', id)
      .executeTakeFirst();
    if (row === undefined || settled(row)) return row;
    const waited = Date.now() - started;
    const left = waitMs - waited;
    if (left <= 0 || cancelled()) return row;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollIntervalMs(waited), left)));
  }
}

const settled = (row: OutcomeRow) =>
  row.status === 'accepted' ||
  row.status === 'rejected' ||
  row.status === 'failed' ||
  initiated(row);

/** A large-message route opened at HMRC: the 202 to hand on is in, the file is still to come. */
const initiated = (row: OutcomeRow) =>
  row.route === 'large' &&
  row.status === 'sending' &&
  row.upload_state !== null &&
  row.hmrc_reply?.status === 202;

/** What the trader's software gets for a submission in its current state. */
export function answerOf(row: OutcomeRow): Answer {
  switch (row.status) {
    case 'accepted':
      // HMRC's own 202; when the accepting answer never reached us (the worker found the
      // declaration at HMRC after a lost or failed attempt, whose answer may be what is kept),
      // HMRC's 202 rebuilt from the ids.
      return {
        kind: 'reply',
        reply:
          row.hmrc_reply !== null && row.hmrc_reply.status >= 200 && row.hmrc_reply.status < 300
            ? row.hmrc_reply
            : acceptedReply(row),
      };
    case 'rejected':
      if (row.hmrc_reply !== null) return { kind: 'reply', reply: row.hmrc_reply };
      return { kind: 'error', error: rejectedError(row) };
    case 'failed':
      // HMRC's last refusal (a 5xx after every retry) when it answered; otherwise the hub could
      // not send it at all (no usable connection, upload host refused): HMRC's 500.
      if (row.hmrc_reply !== null && row.hmrc_reply.status >= 400)
        return { kind: 'reply', reply: row.hmrc_reply };
      return { kind: 'error', error: hmrcError('INTERNAL_SERVER_ERROR', hmrcTexts.internal) };
    default:
      return initiated(row) ? { kind: 'initiated', reply: row.hmrc_reply! } : { kind: 'pending' };
  }
}

/** HMRC's gateway on a backend that does not answer in time, plus what to do about it. */
export const gatewayTimeout = (): ApiError =>
  hmrcError(
    'GATEWAY_TIMEOUT',
    'Gateway timeout: HMRC has not answered yet. The declaration is queued and will be sent ' +
      'once; send the same request again to get HMRC’s answer.',
  );

/**
 * HMRC's 202, rebuilt from the ids when we hold none of its own bytes: the worker found the
 * declaration already at HMRC (an earlier attempt's answer was lost), so HMRC's answer to it
 * never reached us. Same fields, links and order as HMRC's HateoasNewMovementResponse /
 * HateoasMovementUpdateResponse.
 */
function acceptedReply(row: OutcomeRow): HmrcReply {
  const type = row.movement_type;
  const movementId = row.movement_id ?? '';
  const messageId = row.hmrc_message_id ?? '';
  const created = row.message_type === 'IE015' || row.message_type === 'IE007';
  const body = created
    ? {
        _links: {
          self: { href: movementPath(type, movementId) },
          messages: { href: messagesPath(type, movementId) },
          message: { href: messagePath(type, movementId, messageId) },
        },
        [movementIdField(type)]: movementId,
        messageId,
        ...(row.box_id === null ? {} : { boxId: row.box_id }),
      }
    : {
        _links: {
          self: { href: messagePath(type, movementId, messageId) },
          [type]: { href: movementPath(type, movementId) },
        },
        [movementIdField(type)]: movementId,
        messageId,
      };
  return {
    status: 202,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
}

/** A rejection recorded before replies were kept: HMRC's code and message from hmrc_response. */
function rejectedError(row: OutcomeRow): ApiError {
  const response = row.hmrc_response ?? {};
  const status = typeof response.status === 'number' ? response.status : 400;
  const code = typeof response.code === 'string' ? response.code : 'BAD_REQUEST';
  const message = typeof response.message === 'string' ? response.message : 'Bad request';
  const extra =
    response.validationErrors === undefined ? {} : { validationErrors: response.validationErrors };
  return new ApiError(status, code, message, extra);
}
