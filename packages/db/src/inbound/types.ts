import type { DeadLetterFacts } from '../dead-letters/letters.js';
import type { MessageDirection, MessageSource } from '../schema/messages.table.js';
import type { MovementType } from '../schema/movements.table.js';
import type { NotificationSource } from '../schema/notifications.table.js';

/** What one ingest item knows about its movement; unknown fields are null and never overwrite. */
export interface MovementFacts {
  movementType: MovementType;
  movementId: string;
  requestId: string;
  boxId: string | null;
  enrollmentEori: string | null;
  /**
   * True when HMRC itself reported enrollmentEori (a PPNS payload, a CTC list it was checked
   * against); false when it is our claim (the EORI a declaration was sent for, a token's label).
   * Data is attributed by what HMRC reports: a claim HMRC contradicts quarantines the movement.
   */
  enrollmentVerified: boolean;
  /** The connection (oauth_tokens.connection_id) whose token fetched or created this, if any. */
  viaConnection: string | null;
  movementEori: string | null;
  mrn: string | null;
  lrn: string | null;
  apiVersion: string | null;
}

/** A PPNS notification as accepted by the receiver (or pulled). */
export interface NotificationFacts {
  notificationId: string;
  /** PPNS createdDateTime (partition key). */
  createdAt: Date;
  boxId: string;
  source: NotificationSource;
  receivedAt: Date;
  envelope: string;
  payloadVersion: string | null;
  notificationType: string | null;
  messageType: string | null;
  enrollmentEori: string | null;
  traceId: string | null;
}

/** The minimal status input for a message (packages/ncts StatusFact, duplicated to keep db independent). */
export interface MessageStatusFact {
  messageType: string | null;
  rejectedMessageType: string | null;
  invalidationDecision: boolean | null;
}

export interface MessageFacts {
  messageId: string;
  messageType: string | null;
  rootElement: string | null;
  phase: string | null;
  direction: MessageDirection;
  knownType: boolean;
  receivedAt: Date;
  preparedAt: string | null;
  messageIdentification: string | null;
  correlationIdentifier: string | null;
  mrn: string | null;
  lrn: string | null;
  body: Buffer;
  sha256: Buffer;
  summary: Record<string, unknown>;
  parseError: string | null;
  source: MessageSource;
  hmrcStatus?: string;
}

/**
 * One unit of ingest work. Every kind is idempotent: storing the same record twice leaves the
 * database as storing it once did.
 */
export type IngestRecord =
  /** A message with its bytes. `notification` is the push/pull that carried it (null for a
   *  reconciliation find); `notificationRef` names a notification already recorded as queued
   *  (a fetch completing it). */
  | {
      kind: 'message';
      notification: NotificationFacts | null;
      notificationRef: { notificationId: string; createdAt: Date } | null;
      movement: MovementFacts;
      message: MessageFacts;
      statusFact: MessageStatusFact;
    }
  /** The body was too large to inline; a fetch job has been (or will be) queued. */
  | {
      kind: 'awaiting-fetch';
      notification: NotificationFacts;
      movement: MovementFacts;
      messageId: string;
    }
  /** A SUBMISSION_NOTIFICATION (large-message upload outcome). */
  | {
      kind: 'submission-result';
      notification: NotificationFacts;
      movement: MovementFacts;
      messageId: string;
      response: { code: string; message: string | null; validationErrors: unknown[] | null };
    }
  /** Nothing to store but the evidence: the notification (if any) is marked quarantined and
   *  the raw payload kept as a dead letter. */
  | {
      kind: 'quarantine';
      notification: NotificationFacts | null;
      notificationRef: { notificationId: string; createdAt: Date } | null;
      deadLetter: DeadLetterFacts;
    };

export interface IngestOutcome {
  /** What became of the notification: stored (its message is new), duplicate (message already
   *  stored), queued (awaiting fetch), quarantined, redelivered (seen before: nothing changed),
   *  or null when there was no notification. */
  notification: 'stored' | 'duplicate' | 'queued' | 'quarantined' | 'redelivered' | null;
  messageStored: boolean;
  movementCreated: boolean;
  /** The movement's status after this batch (when it has a movement). */
  movementStatus: string | null;
  /**
   * Set when this record's movement was quarantined by this batch: HMRC reported an enrolment
   * EORI that contradicts the one we had claimed (or claimed now). `connectionId` is the
   * connection whose claim it was; the caller marks it mismatched once the batch has committed
   * (markConnectionMismatched), outside the batch's transaction so ingest never waits on a
   * token refresh's row lock.
   */
  enrollmentConflict?: EnrollmentConflict;
}

export interface EnrollmentConflict {
  movementType: MovementType;
  movementId: string;
  connectionId: string | null;
  /** The EORI HMRC reports for the movement. */
  hmrcEori: string;
  /** What was seen, for the operator (both EORIs). */
  detail: string;
}

export type DeriveStatus = (
  movementType: MovementType,
  facts: readonly MessageStatusFact[],
) => string;

export type { DeadLetterFacts };
