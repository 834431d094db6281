import { movementPath } from '@ctc-hub/ppns';
import type { Submission } from '@ctc-hub/db';
import { isoOrNull, messagePath, iso } from '../http/hateoas.js';

export const submissionPath = (id: string) => `/v1/submissions/${id}`;

const movementPathOf = (submission: Pick<Submission, 'movement_type' | 'movement_id'>) =>
  submission.movement_id === null
    ? null
    : movementPath(submission.movement_type, submission.movement_id);

/** The list form: what a client needs to find a submission and see where it stands. */
export function submissionSummaryJson(
  submission: Submission & { movement_mrn?: string | null },
): Record<string, unknown> {
  const movementHref = movementPathOf(submission);
  return {
    submissionId: submission.id,
    status: submission.status,
    eori: submission.eori,
    movementType: submission.movement_type,
    messageType: submission.message_type,
    localReferenceNumber: submission.lrn,
    // The declaration's own (IE013, IE014, IE007 carry one), else the one HMRC gave its movement.
    movementReferenceNumber: submission.mrn ?? submission.movement_mrn ?? null,
    movementId: submission.movement_id,
    messageId: submission.hmrc_message_id,
    attemptCount: submission.attempt_count,
    createdAt: iso(submission.created_at),
    updatedAt: iso(submission.updated_at),
    completedAt: isoOrNull(submission.completed_at),
    _links: {
      self: { href: submissionPath(submission.id) },
      ...(movementHref !== null ? { movement: { href: movementHref } } : {}),
    },
  };
}

export interface LinkedMessage {
  message_id: string;
  message_type: string | null;
  direction: string;
  received_at: Date;
  hmrc_status: string;
}

export interface LinkedMovement {
  status: string;
  box_id: string | null;
  request_id: string;
  mrn: string | null;
}

/** The full view: every attempt, HMRC's answer, the linked movement and what NCTS said since. */
export function submissionJson(
  submission: Submission & { movement_mrn?: string | null },
  movement: LinkedMovement | undefined,
  messages: readonly LinkedMessage[],
): Record<string, unknown> {
  const movementHref = movementPathOf(submission);
  return {
    ...submissionSummaryJson({
      ...submission,
      movement_mrn: submission.movement_mrn ?? movement?.mrn ?? null,
    }),
    messageIdentification: submission.message_identification,
    idempotencyKey: submission.idempotency_key,
    route: submission.route,
    sizeBytes: submission.size_bytes,
    apiVersion: submission.api_version,
    boxId: submission.box_id,
    requestId: submission.request_id,
    attempts: submission.attempts,
    hmrcResponse: submission.hmrc_response,
    movement:
      movement === undefined || submission.movement_id === null
        ? null
        : {
            type: submission.movement_type,
            id: submission.movement_id,
            status: movement.status,
            movementReferenceNumber: movement.mrn,
            boxId: movement.box_id,
            requestId: movement.request_id,
            _links: {
              self: { href: movementHref },
              messages: { href: `${movementHref}/messages` },
            },
          },
    messages: messages.map((message) => ({
      id: message.message_id,
      type: message.message_type,
      direction: message.direction,
      received: iso(message.received_at),
      status: message.hmrc_status,
      _links: {
        self: {
          href: messagePath(submission.movement_type, submission.movement_id!, message.message_id),
        },
      },
    })),
  };
}
