import { catalogue } from './catalogue.js';
import type { MessageSummary, MovementStatus, MovementType, StatusFact } from './types.js';

/**
 * Movement status from the SET of messages a movement has. Push delivery is unordered and
 * reconciliation backfills history, so the status must not depend on the order in which messages
 * arrived (architecture invariant 6): each rule asks only "is a message of this kind present?".
 *
 * Departures, first matching rule wins:
 *
 * | status                 | when                                                                  |
 * |------------------------|-----------------------------------------------------------------------|
 * | written_off            | IE045                                                                 |
 * | invalidated            | IE009 with a positive decision                                        |
 * | recovery               | IE035                                                                 |
 * | enquiry                | IE140 (NCTS asks about a movement that has not arrived)               |
 * | discrepancies          | IE019: major discrepancies found at destination, awaiting the office  |
 * |                        | of departure (resolved: IE045 written_off; confirmed: IE035 recovery) |
 * | not_released           | IE051                                                                 |
 * | released               | IE029 (even without IE028: messages arrive out of order)              |
 * | invalidation_requested | IE014, answered by neither an IE009 nor an IE056 rejecting it (014)   |
 * | guarantee_invalid      | IE055                                                                 |
 * | under_control          | IE060                                                                 |
 * | mrn_allocated          | IE028                                                                 |
 * | rejected               | IE056 rejecting the declaration (015, or type missing), phase 4 IE016 |
 * | acknowledged           | IE928                                                                 |
 * | submitted              | any other departure message (IE015, IE013, IE170, IE004, IE906 …)     |
 * | unknown                | no message of a known type                                            |
 *
 * An IE056 rejecting an amendment (013), an invalidation request (014) or a presentation
 * notification (170) leaves the declaration as it was; "rejected" ranks below mrn_allocated, so
 * a rejection never hides an MRN that was allocated (IE028/IE029). A negative IE009 changes
 * nothing. guarantee_invalid ranks above under_control because it is what blocks release and
 * needs the trader to act.
 *
 * Arrivals:
 *
 * | status               | when                                                                  |
 * |----------------------|-----------------------------------------------------------------------|
 * | goods_released       | IE025 (unloading remarks accepted, or released without unloading)     |
 * | unloading_remarks_rejected | IE057 rejecting unloading remarks (044; phase 4 IE058)          |
 * | unloading_remarks    | IE044                                                                 |
 * | unloading_permission | IE043                                                                 |
 * | rejected             | IE057 rejecting the notification (007 or no type; phase 4 IE008)      |
 * | arrival_notified     | any other arrival message (IE007, IE906 …)                            |
 * | unknown              | no message of a known type                                            |
 *
 * Message types outside the catalogue, and types of the other movement kind, change nothing.
 * Being set-based, a rule cannot tell a first IE014 from a second one after a refused IE009;
 * such a movement shows its underlying status, not invalidation_requested. Likewise unloading
 * remarks sent again after a rejection show unloading_remarks_rejected until the IE025.
 */

export const movementStatuses: Record<MovementType, readonly string[]> = Object.freeze({
  departure: Object.freeze([
    'unknown',
    'submitted',
    'acknowledged',
    'rejected',
    'mrn_allocated',
    'under_control',
    'guarantee_invalid',
    'invalidation_requested',
    'released',
    'not_released',
    'enquiry',
    'discrepancies',
    'recovery',
    'invalidated',
    'written_off',
  ]),
  arrival: Object.freeze([
    'unknown',
    'arrival_notified',
    'rejected',
    'unloading_permission',
    'unloading_remarks',
    'unloading_remarks_rejected',
    'goods_released',
  ]),
});

/** Catalogue codes that can belong to each movement type (IE906 and IE917 to both). */
const typesOf = (movementType: MovementType): ReadonlySet<string> =>
  new Set(
    catalogue
      .filter((entry) => entry.movementType === movementType || entry.movementType === 'both')
      .map((entry) => entry.code),
  );
const departureTypes = typesOf('departure');
const arrivalTypes = typesOf('arrival');

/** Rejection types that reject the declaration itself; null = not stated, read as the declaration. */
const declarationRejections = new Set<string | null>(['015', null]);

/** The status-relevant part of a parsed message. */
export function statusFactOf(summary: MessageSummary): StatusFact {
  return {
    messageType: summary.messageType,
    rejectedMessageType: summary.rejection?.businessRejectionType ?? null,
    invalidationDecision: summary.invalidationDecision,
  };
}

/** Status from the set of messages a movement has; independent of arrival order. */
export function deriveMovementStatus(
  movementType: MovementType,
  facts: readonly StatusFact[],
): MovementStatus {
  return movementType === 'departure' ? departureStatus(facts) : arrivalStatus(facts);
}

function departureStatus(facts: readonly StatusFact[]): MovementStatus {
  const known = facts.filter(
    (fact) => fact.messageType !== null && departureTypes.has(fact.messageType),
  );
  const has = (messageType: string) => known.some((fact) => fact.messageType === messageType);
  const rejects = (rejected: (type: string | null) => boolean) =>
    known.some(
      (fact) =>
        (fact.messageType === 'IE056' && rejected(fact.rejectedMessageType)) ||
        (fact.messageType === 'IE016' && rejected('015')),
    );

  if (has('IE045')) return 'written_off';
  if (known.some((fact) => fact.messageType === 'IE009' && fact.invalidationDecision === true)) {
    return 'invalidated';
  }
  if (has('IE035')) return 'recovery';
  if (has('IE140')) return 'enquiry';
  if (has('IE019')) return 'discrepancies';
  if (has('IE051')) return 'not_released';
  if (has('IE029')) return 'released';
  if (has('IE014') && !has('IE009') && !rejects((type) => type === '014')) {
    return 'invalidation_requested';
  }
  if (has('IE055')) return 'guarantee_invalid';
  if (has('IE060')) return 'under_control';
  if (has('IE028')) return 'mrn_allocated';
  if (rejects((type) => declarationRejections.has(type))) return 'rejected';
  if (has('IE928')) return 'acknowledged';
  return known.length > 0 ? 'submitted' : 'unknown';
}

function arrivalStatus(facts: readonly StatusFact[]): MovementStatus {
  const known = facts.filter(
    (fact) => fact.messageType !== null && arrivalTypes.has(fact.messageType),
  );
  const has = (messageType: string) => known.some((fact) => fact.messageType === messageType);

  const rejects = (type: string) =>
    known.some((fact) => fact.messageType === 'IE057' && fact.rejectedMessageType === type);

  if (has('IE025')) return 'goods_released';
  if (rejects('044') || has('IE058')) return 'unloading_remarks_rejected';
  if (has('IE044')) return 'unloading_remarks';
  if (has('IE043')) return 'unloading_permission';
  if (has('IE057') || has('IE008')) return 'rejected';
  return known.length > 0 ? 'arrival_notified' : 'unknown';
}
