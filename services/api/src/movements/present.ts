import { movementPath } from '@ctc-hub/ppns';
import { iso, messagePath, messagesPath, movementIdField } from '../http/hateoas.js';
import type { MessageListRow } from './message-queries.js';
import type { MovementRow } from './queries.js';

/**
 * Response bodies of the HMRC-compatible routes, exactly as HMRC's CTC Traders API writes them
 * (`models/responses/hateoas/*` in common-transit-convention-traders): the same fields in the
 * same order, optional fields HMRC holds as Option written as JSON null when unknown (Play writes
 * None as null: `movementReferenceNumber` before the MRN, `localReferenceNumber` on every
 * arrival, `movementEORINumber`, a message `type` we could not recognise), and nothing else:
 * strict deserialisers generated from HMRC's OAS reject unknown fields. Our own fields (`boxId`,
 * `requestId`, the derived movement `status`, `apiVersion`) are in the /v1 views (hubMovementJson,
 * hubMessageSummaryJson), which carry the HMRC fields too.
 */

const href = (path: string) => ({ href: path });

/**
 * A time as HMRC writes it: Play's ISO_OFFSET_DATE_TIME of a millisecond instant in UTC, i.e.
 * without trailing zeros in the fraction and without the fraction when it is zero
 * (2024-05-01T10:12:03.45Z, 2024-05-01T10:12:03Z).
 */
export const hmrcTimestamp = (date: Date): string =>
  date
    .toISOString()
    .replace(/\.(\d*?)0*Z$/, (_match, digits: string) => (digits === '' ? 'Z' : `.${digits}Z`));

export function hmrcMovementJson(row: MovementRow): Record<string, unknown> {
  return {
    _links: {
      self: href(movementPath(row.movement_type, row.movement_id)),
      messages: href(messagesPath(row.movement_type, row.movement_id)),
    },
    id: row.movement_id,
    movementReferenceNumber: row.mrn,
    // Arrivals carry no LRN; HMRC still writes the field, as null.
    localReferenceNumber: row.movement_type === 'departure' ? row.lrn : null,
    created: hmrcTimestamp(row.created_at),
    updated: hmrcTimestamp(row.updated_at),
    enrollmentEORINumber: row.enrollment_eori,
    movementEORINumber: row.movement_eori,
  };
}

/**
 * One message without its body, as in HMRC's message list (HateoasMovementMessageIdsResponse):
 * no `type` while a submission is `Pending`, `type: null` when HMRC would know none.
 */
export function hmrcMessageSummaryJson(row: MessageListRow): Record<string, unknown> {
  return {
    _links: {
      self: href(messagePath(row.movement_type, row.movement_id, row.message_id)),
      [row.movement_type]: href(movementPath(row.movement_type, row.movement_id)),
    },
    id: row.message_id,
    [movementIdField(row.movement_type)]: row.movement_id,
    received: hmrcTimestamp(row.received_at),
    ...(row.hmrc_status === 'Pending' ? {} : { type: row.message_type }),
    status: row.hmrc_status,
  };
}

/** ctc-hub's own view of a movement (/v1): HMRC's fields plus ours. */
export function hubMovementJson(row: MovementRow): Record<string, unknown> {
  return {
    ...hmrcMovementJson(row),
    created: iso(row.created_at),
    updated: iso(row.updated_at),
    boxId: row.box_id,
    requestId: row.request_id,
    status: row.status,
  };
}

/** ctc-hub's own view of a message in a list (/v1/messages): HMRC's fields plus ours. */
export function hubMessageSummaryJson(row: MessageListRow): Record<string, unknown> {
  return {
    ...hmrcMessageSummaryJson(row),
    received: iso(row.received_at),
    boxId: row.box_id,
    requestId: row.request_id,
  };
}
