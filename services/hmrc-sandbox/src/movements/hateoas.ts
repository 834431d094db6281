import {
  collectionOf,
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

/** A time as HMRC writes it (Play's ISO_OFFSET_DATE_TIME of a millisecond UTC instant). */
export const hmrcTime = (epochMs: number): string =>
  new Date(epochMs)
    .toISOString()
    .replace(/\.(\d*?)0*Z$/, (_match, digits: string) => (digits === '' ? 'Z' : `.${digits}Z`));

export function movementSummary(movement: Movement): Record<string, unknown> {
  return {
    _links: {
      self: { href: movementHref(movement.type, movement.id) },
      messages: { href: messagesHref(movement.type, movement.id) },
    },
    id: movement.id,
    // HMRC writes an empty Option as null, and every arrival's LRN as null.
    movementReferenceNumber: movement.mrn ?? null,
    localReferenceNumber: movement.type === 'departure' ? (movement.lrn ?? null) : null,
    created: hmrcTime(movement.created),
    updated: hmrcTime(movement.updated),
    enrollmentEORINumber: movement.enrollmentEori,
    movementEORINumber: movement.movementEori,
  };
}

export function movementList(
  type: MovementType,
  totalCount: number,
  movements: Movement[],
  self: string,
): Record<string, unknown> {
  return {
    _links: { self: { href: self } },
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
    received: hmrcTime(message.received),
    // HMRC omits the type while an upload is pending, and writes null when it has none.
    ...(message.status === 'Pending' ? {} : { type: message.messageType ?? null }),
    status: message.status,
  };
}

export function messageList(
  movement: Movement,
  totalCount: number,
  messages: StoredMessage[],
  self: string,
): Record<string, unknown> {
  return {
    _links: {
      self: { href: self },
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
