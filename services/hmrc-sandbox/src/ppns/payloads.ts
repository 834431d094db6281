import type { Movement, StoredMessage } from '../store.js';
import { messageHref } from '../hateoas.js';

/**
 * The CTC notification carried in PPNS's `message` (reference §2.2), with the fields in the
 * order HMRC's transit-movements-push-notifications writes them.
 */

/** Bodies larger than this are not inlined; the client fetches them by messageUri. */
export const inlineBodyLimit = 80_000;

const idField = (movement: Movement) =>
  movement.type === 'departure' ? 'departureId' : 'arrivalId';

export function messageReceivedPayload(
  movement: Movement,
  message: StoredMessage,
): Record<string, unknown> {
  const size = message.body?.length ?? 0;
  return {
    messageUri: messageHref(movement.type, movement.id, message.id),
    notificationType: 'MESSAGE_RECEIVED',
    messageId: message.id,
    enrollmentEORINumber: movement.enrollmentEori,
    [idField(movement)]: movement.id,
    ...(message.messageType === undefined ? {} : { messageType: message.messageType }),
    ...(size > 0 && size <= inlineBodyLimit ? { messageBody: message.body!.toString('utf8') } : {}),
  };
}

export interface SubmissionResponse {
  code: string;
  message: string;
  validationErrors?: unknown[];
}

export function submissionPayload(
  movement: Movement,
  message: StoredMessage,
  response: SubmissionResponse,
): Record<string, unknown> {
  return {
    messageUri: messageHref(movement.type, movement.id, message.id),
    notificationType: 'SUBMISSION_NOTIFICATION',
    messageId: message.id,
    enrollmentEORINumber: movement.enrollmentEori,
    [idField(movement)]: movement.id,
    response,
  };
}
