import { movementPath } from '@ctc-hub/ppns';
import { iso, messagePath, messagesPath, movementIdField } from '../http/hateoas.js';
import type { MessageListRow, MessageRow } from './message-queries.js';
import type { MovementRow } from './queries.js';

/**
 * Response bodies in the shape of HMRC's CTC Traders API v2.1 (`models/responses/hateoas/*` in
 * common-transit-convention-traders, reference §3.3), plus our own fields (`boxId`, `requestId`,
 * and the derived movement `status`), which HMRC clients ignore as unknown fields.
 *
 * Optional HMRC fields (movementReferenceNumber before an MRN is allocated, localReferenceNumber,
 * movementEORINumber, a message `type` we could not recognise) are omitted when we have no value,
 * as HMRC's documentation describes ("MRN only after it has been allocated"); our own fields are
 * always present and null when unknown.
 */

const href = (path: string) => ({ href: path });

/** Adds `key: value` only when value is not null, keeping HMRC's field order. */
const optional = <T>(key: string, value: T | null): Record<string, T> =>
  value === null ? {} : { [key]: value };

export function movementJson(row: MovementRow): Record<string, unknown> {
  return {
    _links: {
      self: href(movementPath(row.movement_type, row.movement_id)),
      messages: href(messagesPath(row.movement_type, row.movement_id)),
    },
    id: row.movement_id,
    ...optional('movementReferenceNumber', row.mrn),
    // Arrivals have no LRN in HMRC's responses.
    ...(row.movement_type === 'departure' ? optional('localReferenceNumber', row.lrn) : {}),
    created: iso(row.created_at),
    updated: iso(row.updated_at),
    ...optional('enrollmentEORINumber', row.enrollment_eori),
    ...optional('movementEORINumber', row.movement_eori),
    boxId: row.box_id,
    requestId: row.request_id,
    status: row.status,
  };
}

/**
 * One message without its body, as in HMRC's message list. HMRC leaves `type` out while a
 * submission is `Pending` (HateoasMovementMessageIdsResponse); so do we.
 */
export function messageSummaryJson(row: MessageListRow): Record<string, unknown> {
  return {
    _links: {
      self: href(messagePath(row.movement_type, row.movement_id, row.message_id)),
      [row.movement_type]: href(movementPath(row.movement_type, row.movement_id)),
    },
    id: row.message_id,
    [movementIdField(row.movement_type)]: row.movement_id,
    received: iso(row.received_at),
    ...(row.hmrc_status === 'Pending' ? {} : optional('type', row.message_type)),
    status: row.hmrc_status,
    boxId: row.box_id,
    requestId: row.request_id,
  };
}

/**
 * One message with its body as an XML string (HMRC's `application/vnd.hmrc.2.1+json-xml` form).
 * The stored bytes are UTF-8 (NCTS XML); `/body` serves them unchanged for byte-exact needs.
 */
export function messageJson(row: MessageRow): Record<string, unknown> {
  return {
    ...messageSummaryJson(row),
    ...(row.body.length === 0 ? {} : { body: row.body.toString('utf8') }),
  };
}
