import { createHash } from 'node:crypto';
import type {
  ErrorHistoryEntry,
  IngestRecord,
  MessageFacts,
  MessageSource,
  MovementFacts,
  NotificationFacts,
} from '@ctc-hub/db';
import {
  catalogueByCode,
  statusFactOf,
  type MessageSummary,
  type ParseResult,
} from '@ctc-hub/ncts';
import { movementPath, type MovementType } from '@ctc-hub/ppns';

/** Builders of ingest records from parsed input, shared by the push path and the fetch path. */

const preparedPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$/;

/**
 * A value for a `timestamp` column, or null. NCTS writes zone-less date-times; anything else
 * (or an impossible date) is kept in the summary but not put in a typed column, where it would
 * fail the whole batch's transaction.
 */
function preparedAt(value: string | null): string | null {
  if (value === null || !preparedPattern.test(value)) return null;
  return Number.isNaN(new Date(`${value}Z`).getTime()) ? null : value;
}

/** Text columns we filter on: short, no control characters. Longer values stay in the summary only. */
function shortText(value: string | null, max = 70): string | null {
  if (value === null) return null;
  const trimmed = value.trim();
  // eslint-disable-next-line no-control-regex
  return trimmed.length === 0 || trimmed.length > max || /[\u0000-\u001f]/.test(trimmed)
    ? null
    : trimmed;
}

export interface MessageInput {
  movementType: MovementType;
  movementId: string;
  messageId: string;
  body: Buffer;
  parsed: Extract<ParseResult, { ok: true }>;
  source: MessageSource;
  receivedAt: Date;
  boxId: string | null;
  enrollmentEori: string | null;
  /** True when enrollmentEori is HMRC's word (PPNS payload, a checked CTC list), not our label. */
  enrollmentVerified: boolean;
  /** The connection whose token fetched the message, if a token did. */
  viaConnection: string | null;
  apiVersion: string | null;
  /** messageType the notification claimed (checked against the XML). */
  claimedType: string | null;
}

export function movementFacts(
  input: Omit<
    MessageInput,
    'body' | 'parsed' | 'source' | 'receivedAt' | 'messageId' | 'claimedType'
  > & { summary?: MessageSummary },
): MovementFacts {
  const summary = input.summary;
  return {
    movementType: input.movementType,
    movementId: input.movementId,
    requestId: movementPath(input.movementType, input.movementId),
    boxId: input.boxId,
    enrollmentEori: shortText(input.enrollmentEori, 20),
    enrollmentVerified: input.enrollmentVerified && shortText(input.enrollmentEori, 20) !== null,
    viaConnection: input.viaConnection,
    movementEori: shortText(summary?.holderEori ?? summary?.traderAtDestinationEori ?? null, 20),
    mrn: shortText(summary?.mrn ?? null, 35),
    lrn: shortText(summary?.lrn ?? null, 35),
    apiVersion: input.apiVersion,
  };
}

export function messageFacts(input: MessageInput): {
  message: MessageFacts;
  movement: MovementFacts;
  statusFact: ReturnType<typeof statusFactOf>;
} {
  const summary = input.parsed.summary;
  const warnings = [...summary.warnings];
  if (
    input.claimedType !== null &&
    summary.messageType !== null &&
    input.claimedType !== summary.messageType
  ) {
    warnings.push(
      `the notification said ${input.claimedType} but the message is ${summary.messageType}`,
    );
  }
  if (summary.messageType === null && input.claimedType !== null) {
    warnings.push(
      `unknown root element ${summary.rootElement} (the notification said ${input.claimedType})`,
    );
  }
  const entry = summary.messageType === null ? undefined : catalogueByCode(summary.messageType);
  const message: MessageFacts = {
    messageId: input.messageId,
    messageType: summary.messageType,
    rootElement: shortText(summary.rootElement, 64),
    phase: shortText(summary.phase, 16),
    direction: entry?.direction ?? 'inbound',
    knownType: summary.knownType,
    receivedAt: input.receivedAt,
    preparedAt: preparedAt(summary.header.preparationDateAndTime),
    messageIdentification: shortText(summary.header.messageIdentification),
    correlationIdentifier: shortText(summary.header.correlationIdentifier),
    mrn: shortText(summary.mrn, 35),
    lrn: shortText(summary.lrn, 35),
    body: input.body,
    sha256: createHash('sha256').update(input.body).digest(),
    summary: { ...summary, warnings } as unknown as Record<string, unknown>,
    parseError: null,
    source: input.source,
  };
  return {
    message,
    movement: movementFacts({ ...input, summary }),
    statusFact: statusFactOf(summary),
  };
}

export function historyEntry(code: string, message: string, attempt?: number): ErrorHistoryEntry {
  return {
    at: new Date().toISOString(),
    code,
    message,
    ...(attempt === undefined ? {} : { attempt }),
  };
}

/** A quarantine record for a notification whose content we cannot use. */
export function quarantineNotification(
  notification: NotificationFacts,
  error: { code: string; message: string },
  refs: {
    movementType?: string | null;
    movementId?: string | null;
    messageId?: string | null;
    jobId?: string | null;
  } = {},
): IngestRecord {
  return {
    kind: 'quarantine',
    notification,
    notificationRef: null,
    deadLetter: {
      subject: { kind: 'notification', notificationId: notification.notificationId },
      queue: 'ingest',
      jobId: refs.jobId ?? null,
      errorCode: error.code,
      errorMessage: error.message,
      history: [historyEntry(error.code, error.message)],
      payload: {
        envelope: notification.envelope,
        source: notification.source,
        receivedAt: notification.receivedAt.toISOString(),
      },
      eori: notification.enrollmentEori,
      movementType: refs.movementType ?? null,
      movementId: refs.movementId ?? null,
      messageId: refs.messageId ?? null,
    },
  };
}
