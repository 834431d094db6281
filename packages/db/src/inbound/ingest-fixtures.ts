// Test fixtures for the ingest store's tests (not used by the service).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IngestRecord, NotificationFacts } from './types.js';

/** The facts of a pushed v2 IE028 notification, fresh ids every call. */
export function notificationFacts(overrides: Partial<NotificationFacts> = {}): NotificationFacts {
  return {
    notificationId: randomUUID(),
    createdAt: new Date(),
    boxId: '5e1d9b2c-6a0e-4a57-9d63-3f0c2f8a1b7e',
    source: 'push',
    receivedAt: new Date(),
    envelope: '{"notificationId":"..."}',
    payloadVersion: 'v2',
    notificationType: 'MESSAGE_RECEIVED',
    messageType: 'IE028',
    enrollmentEori: 'GB123456789000',
    traceId: null,
    ...overrides,
  };
}

/** A pushed message record (a minimal NCTS body) for `movementId`; a new message id every call. */
export function messageRecord(
  movementId: string,
  messageType: string,
  facts = notificationFacts(),
): Extract<IngestRecord, { kind: 'message' }> {
  const body = Buffer.from(
    `<ncts:CC${messageType.slice(2)}C xmlns:ncts="http://ncts.dgtaxud.ec">\u00e9</ncts:CC${messageType.slice(2)}C>`,
  );
  return {
    kind: 'message',
    notification: facts,
    notificationRef: null,
    movement: {
      movementType: 'departure',
      movementId,
      requestId: `/customs/transits/movements/departures/${movementId}`,
      boxId: facts.boxId,
      enrollmentEori: facts.enrollmentEori,
      enrollmentVerified: true,
      viaConnection: null,
      movementEori: null,
      mrn: messageType === 'IE028' ? '24GB00000000000017' : null,
      lrn: null,
      apiVersion: '2.1',
    },
    message: {
      messageId: randomBytes(8).toString('hex'),
      messageType,
      rootElement: `CC${messageType.slice(2)}C`,
      phase: 'NCTS5.1',
      direction: 'inbound',
      knownType: true,
      receivedAt: facts.createdAt,
      preparedAt: '2024-05-14T15:26:40',
      messageIdentification: 'MSG1',
      correlationIdentifier: null,
      mrn: null,
      lrn: null,
      body,
      sha256: createHash('sha256').update(body).digest(),
      summary: { rootElement: `CC${messageType.slice(2)}C` },
      parseError: null,
      source: 'push',
    },
    statusFact: { messageType, rejectedMessageType: null, invalidationDecision: null },
  };
}
