// Test fixtures for the ingest store's tests (not used by the service).
import { randomUUID } from 'node:crypto';
import type { NotificationFacts } from './ingest-types.js';

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
