import type { Movement, StoredMessage } from '../core/store.js';
import { messageHref, movementHref } from '../movements/hateoas.js';

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

/** v1 inlined a body only when strictly smaller than this (DEST4 `eightyKilobytes = 80000`). */
export const v1InlineBodyLimit = 80_000;

/** v1 times: a zone-less LocalDateTime (UTC here), e.g. 2021-03-01T10:15:30.123. */
export const v1Time = (epochMs: number): string => new Date(epochMs).toISOString().slice(0, -1);

/**
 * The phase-4 (CTC API 1.0) notification, reference §2.1, fields in the producer's order:
 * messageUri, requestId (the movement path the POST answered with), customerId (the enrolment
 * EORI), arrivalId | departureId, messageId, received, messageType, messageBody (< 80000 bytes).
 * The departure variant mirrors the arrival one (the reference marks that as unverified).
 */
export function v1MessagePayload(
  movement: Movement,
  message: StoredMessage,
): Record<string, unknown> {
  const size = message.body?.length ?? 0;
  return {
    messageUri: messageHref(movement.type, movement.id, message.id),
    requestId: movementHref(movement.type, movement.id),
    customerId: movement.enrollmentEori,
    [idField(movement)]: movement.id,
    messageId: message.id,
    received: v1Time(message.received),
    ...(message.messageType === undefined ? {} : { messageType: message.messageType }),
    ...(size > 0 && size < v1InlineBodyLimit
      ? { messageBody: message.body!.toString('utf8') }
      : {}),
  };
}
