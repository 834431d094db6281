import {
  collectionOf,
  isoTime,
  type Movement,
  type MovementType,
  type StoredMessage,
} from '../core/store.js';

/**
 * Response bodies of the CTC Traders API v2.x, field for field and in HMRC's order
 * (reference §3.3; HMRC's models/responses/hateoas/*).
 */

const base = '/customs/transits/movements';
export const movementHref = (type: MovementType, id: string) =>
  `${base}/${collectionOf(type)}/${id}`;
export const messagesHref = (type: MovementType, id: string) =>
  `${movementHref(type, id)}/messages`;
export const messageHref = (type: MovementType, movementId: string, messageId: string) =>
  `${messagesHref(type, movementId)}/${messageId}`;
const idField = (type: MovementType) => (type === 'departure' ? 'departureId' : 'arrivalId');

export function movementSummary(movement: Movement): Record<string, unknown> {
  return {
    _links: {
      self: { href: movementHref(movement.type, movement.id) },
      messages: { href: messagesHref(movement.type, movement.id) },
    },
    id: movement.id,
    ...(movement.mrn === undefined ? {} : { movementReferenceNumber: movement.mrn }),
    ...(movement.type === 'departure' && movement.lrn !== undefined
      ? { localReferenceNumber: movement.lrn }
      : {}),
    created: isoTime(movement.created),
    updated: isoTime(movement.updated),
    enrollmentEORINumber: movement.enrollmentEori,
    movementEORINumber: movement.movementEori,
  };
}

export function movementList(
  type: MovementType,
  totalCount: number,
  movements: Movement[],
): Record<string, unknown> {
  return {
    _links: { self: { href: `${base}/${collectionOf(type)}` } },
    totalCount,
    [collectionOf(type)]: movements.map(movementSummary),
  };
}

export function messageSummary(
  movement: Movement,
  message: StoredMessage,
): Record<string, unknown> {
  return {
    _links: {
      self: { href: messageHref(movement.type, movement.id, message.id) },
      [movement.type]: { href: movementHref(movement.type, movement.id) },
    },
    id: message.id,
    [idField(movement.type)]: movement.id,
    received: isoTime(message.received),
    // HMRC omits the type while an upload is pending.
    ...(message.status === 'Pending' || message.messageType === undefined
      ? {}
      : { type: message.messageType }),
    status: message.status,
  };
}

export function messageList(
  movement: Movement,
  totalCount: number,
  messages: StoredMessage[],
): Record<string, unknown> {
  return {
    _links: {
      self: { href: messagesHref(movement.type, movement.id) },
      [movement.type]: { href: movementHref(movement.type, movement.id) },
    },
    totalCount,
    messages: messages.map((message) => messageSummary(movement, message)),
  };
}

/** 202 to POST /movements/{departures|arrivals} (new movement). */
export function newMovementResponse(
  movement: Movement,
  message: StoredMessage,
  boxId: string | undefined,
  uploadRequest?: { href: string; fields: Record<string, string> },
): Record<string, unknown> {
  return {
    _links: {
      self: { href: movementHref(movement.type, movement.id) },
      messages: { href: messagesHref(movement.type, movement.id) },
      message: { href: messageHref(movement.type, movement.id, message.id) },
    },
    [idField(movement.type)]: movement.id,
    messageId: message.id,
    ...(boxId === undefined ? {} : { boxId }),
    ...(uploadRequest === undefined ? {} : { uploadRequest }),
  };
}

/** 202 to POST …/{id}/messages (follow-up message); no boxId. */
export function newMessageResponse(
  movement: Movement,
  message: StoredMessage,
  uploadRequest?: { href: string; fields: Record<string, string> },
): Record<string, unknown> {
  return {
    _links: {
      self: { href: messageHref(movement.type, movement.id, message.id) },
      [movement.type]: { href: movementHref(movement.type, movement.id) },
    },
    [idField(movement.type)]: movement.id,
    messageId: message.id,
    ...(uploadRequest === undefined ? {} : { uploadRequest }),
  };
}
