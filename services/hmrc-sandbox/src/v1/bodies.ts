import {
  collectionOf,
  type Movement,
  type MovementType,
  type StoredMessage,
} from '../core/store.js';
import { messageHref, messagesHref, movementHref } from '../movements/hateoas.js';
import { v1Time } from '../ppns/payloads.js';

/**
 * Response bodies of the retired CTC Traders API 1.0, field for field and in the order of
 * HMRC's builders at the last commit before V1 was deleted (CTC@v1
 * `models/response/Hateoas*.scala`, OAS `resources/public/api/conf/1.0/application.yaml`).
 * Ids are integers written as strings; times are zone-less LocalDateTimes.
 */

export const v1BoxName = 'customs/transits##1.0##notificationUrl';
export const v1BoxPath = '/customs/transits/movements/push-pull-notifications/box';

const idField = (type: MovementType) => (type === 'departure' ? 'departureId' : 'arrivalId');
const body = (message: StoredMessage) => message.body?.toString('utf8') ?? '';

/**
 * 202 to POST /movements/{departures|arrivals} and to PUT /arrivals/{id}. HMRC echoed the
 * message type and the submitted XML; `_embedded.notifications` (requestId, boxId, boxName) only
 * when the application has a box.
 */
export function v1NewMovementResponse(
  movement: Movement,
  message: StoredMessage,
): Record<string, unknown> {
  const self = movementHref(movement.type, movement.id);
  return {
    _links: { self: { href: self } },
    [idField(movement.type)]: movement.id,
    messageType: message.messageType,
    body: body(message),
    ...(movement.boxId === undefined
      ? {}
      : {
          _embedded: {
            notifications: { requestId: self, boxId: movement.boxId, boxName: v1BoxName },
          },
        }),
  };
}

/** 202 to POST …/{id}/messages: the message, and the requestId the movement's pushes carry. */
export function v1NewMessageResponse(
  movement: Movement,
  message: StoredMessage,
): Record<string, unknown> {
  return {
    _links: {
      self: { href: messageHref(movement.type, movement.id, message.id) },
      [movement.type]: { href: movementHref(movement.type, movement.id) },
    },
    [idField(movement.type)]: movement.id,
    messageId: message.id,
    messageType: message.messageType,
    body: body(message),
    _embedded: { notifications: { requestId: movementHref(movement.type, movement.id) } },
  };
}

/** A movement (HateoasResponseDeparture / Arrival): the MRN only once known. */
export function v1Movement(movement: Movement): Record<string, unknown> {
  return {
    id: movement.id,
    created: v1Time(movement.created),
    updated: v1Time(movement.updated),
    ...(movement.mrn === undefined ? {} : { movementReferenceNumber: movement.mrn }),
    _links: {
      self: { href: movementHref(movement.type, movement.id) },
      messages: { href: messagesHref(movement.type, movement.id) },
    },
  };
}

/** GET /movements/{departures|arrivals}: everything in `_embedded`, with retrieved/total counts. */
export function v1MovementList(type: MovementType, movements: Movement[]): Record<string, unknown> {
  const collection = collectionOf(type);
  const counted = type === 'departure' ? 'Departures' : 'Arrivals';
  return {
    _links: { self: { href: `/customs/transits/movements/${collection}` } },
    _embedded: {
      [collection]: movements.map(v1Movement),
      [`retrieved${counted}`]: movements.length,
      [`total${counted}`]: movements.length,
    },
  };
}

/** One message with its XML body (v1 had no separate /body endpoint). */
export function v1Message(movement: Movement, message: StoredMessage): Record<string, unknown> {
  return {
    _links: {
      self: { href: messageHref(movement.type, movement.id, message.id) },
      [movement.type]: { href: movementHref(movement.type, movement.id) },
    },
    [idField(movement.type)]: movement.id,
    messageId: message.id,
    received: v1Time(message.received),
    messageType: message.messageType,
    body: body(message),
  };
}

/** GET …/{id}/messages: the messages (oldest first, with bodies) and the movement. */
export function v1MessageList(
  movement: Movement,
  messages: StoredMessage[],
): Record<string, unknown> {
  return {
    _links: { self: { href: messagesHref(movement.type, movement.id) } },
    _embedded: {
      messages: messages.map((message) => v1Message(movement, message)),
      [movement.type]: v1Movement(movement),
    },
  };
}

export function v1Box(boxId: string): Record<string, unknown> {
  return { boxId, boxName: v1BoxName, _links: { self: { href: v1BoxPath } } };
}
