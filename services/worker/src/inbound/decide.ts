import type { IngestRecord, NotificationFacts } from '@ctc-hub/db';
import type { NctsParser } from '@ctc-hub/ncts';
import { parseCtcPayload, parseEnvelope, type CtcPayload } from '@ctc-hub/ppns';
import type { FetchMessageData, IngestNotificationData } from '@ctc-hub/queue';
import { messageFacts, movementFacts, quarantineNotification } from './records.js';

export interface IngestDecision {
  record: IngestRecord;
  /** Set when the body must be fetched from HMRC after the record is committed. */
  fetch: FetchMessageData | null;
  payload: CtcPayload | null;
}

/** v1 `received` is a zone-less LocalDateTime; HMRC's clocks are UTC. */
function v1Received(value: string | null): Date | null {
  if (value === null) return null;
  const date = new Date(/[zZ]|[+-]\d{2}:?\d{2}$/.test(value) ? value : `${value}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * Turns one queued notification into what must be stored (and, for bodies over 80,000 bytes,
 * fetched). Nothing here throws for bad input: a notification we cannot use becomes a quarantine
 * record holding its raw envelope, so it is visible and replayable rather than retried forever.
 */
export async function decideIngest(
  data: IngestNotificationData,
  parser: NctsParser,
  {
    apiVersion,
    jobId,
    traceId,
  }: { apiVersion: string; jobId: string | null; traceId: string | null },
): Promise<IngestDecision> {
  const receivedAt = new Date(data.receivedAt);
  const parsedEnvelope = parseEnvelope(data.envelope);
  const envelope = parsedEnvelope.ok ? parsedEnvelope.envelope : null;
  const notification: NotificationFacts = {
    notificationId: data.notificationId,
    createdAt: envelope?.createdAt ?? receivedAt,
    boxId: data.boxId,
    source: data.source === 'pull' ? 'pull' : 'push',
    receivedAt,
    envelope: data.envelope,
    payloadVersion: null,
    notificationType: null,
    messageType: null,
    enrollmentEori: null,
    traceId,
  };
  if (!parsedEnvelope.ok) {
    return {
      record: quarantineNotification(notification, parsedEnvelope.error, { jobId }),
      fetch: null,
      payload: null,
    };
  }

  const parsedPayload = parseCtcPayload(parsedEnvelope.envelope.message);
  if (!parsedPayload.ok) {
    return {
      record: quarantineNotification(notification, parsedPayload.error, { jobId }),
      fetch: null,
      payload: null,
    };
  }
  const payload = parsedPayload.payload;
  notification.payloadVersion = payload.version;
  notification.notificationType = payload.notificationType;
  notification.messageType = payload.messageType;
  notification.enrollmentEori = payload.eori;
  const refs = {
    movementType: payload.movementType,
    movementId: payload.movementId,
    messageId: payload.messageId,
    jobId,
  };
  const movementInput = {
    movementType: payload.movementType,
    movementId: payload.movementId,
    boxId: data.boxId,
    // The payload's enrollmentEORINumber (v1: customerId) is HMRC's own word.
    enrollmentEori: payload.eori,
    enrollmentVerified: payload.eori !== null,
    viaConnection: null,
    apiVersion: payload.version === 'v1' ? '1.0' : apiVersion,
  };

  if (payload.notificationType === 'SUBMISSION_NOTIFICATION') {
    return {
      record: {
        kind: 'submission-result',
        notification,
        movement: movementFacts(movementInput),
        messageId: payload.messageId,
        response: payload.response,
      },
      fetch: null,
      payload,
    };
  }

  const receivedAtHmrc =
    (payload.version === 'v1' ? v1Received(payload.received) : null) ?? notification.createdAt;
  if (payload.messageBody === null) {
    return {
      record: {
        kind: 'awaiting-fetch',
        notification,
        movement: movementFacts(movementInput),
        messageId: payload.messageId,
      },
      fetch: {
        movementType: payload.movementType,
        movementId: payload.movementId,
        messageId: payload.messageId,
        messageUri: payload.messageUri,
        eori: payload.eori,
        notificationId: notification.notificationId,
        notificationCreatedAt: notification.createdAt.toISOString(),
        boxId: data.boxId,
        receivedAt: receivedAtHmrc.toISOString(),
        messageType: payload.messageType,
        source: 'fetch',
        trace: data.trace,
      },
      payload,
    };
  }

  const body = Buffer.from(payload.messageBody, 'utf8');
  const parsed = await parser.parse(body);
  if (!parsed.ok) {
    return {
      record: quarantineNotification(notification, parsed.error, refs),
      fetch: null,
      payload,
    };
  }
  const facts = messageFacts({
    ...movementInput,
    messageId: payload.messageId,
    body,
    parsed,
    source: data.source === 'pull' ? 'pull' : 'push',
    receivedAt: receivedAtHmrc,
    claimedType: payload.messageType,
  });
  return {
    record: { kind: 'message', notification, notificationRef: null, ...facts },
    fetch: null,
    payload,
  };
}
