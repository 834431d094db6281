import { formatPpnsDateTime, parseEnvelope, type PpnsStatus } from './envelope.js';

/**
 * PPNS's notification as it pushes it and serves it from a box (PPNS `NotificationResponse`):
 * six fields in this order, `message` always a string (JSON escaped inside it), createdDateTime
 * as `uuuu-MM-dd'T'HH:mm:ss.SSSZ` in UTC (`…160+0000`). readDateTime and pushedDateTime are
 * optional in PPNS's model and never set, so never written.
 */
export interface PpnsNotification {
  notificationId: string;
  boxId: string;
  messageContentType: string;
  message: string;
  status: PpnsStatus;
  createdDateTime: string;
}

/**
 * The notification a relay consumer receives for an envelope PPNS sent us: the same
 * notificationId, message and content type, in the consumer's box, with `status`. Undefined
 * when the stored envelope is not a PPNS envelope (it was validated when it was stored).
 */
export function relayedNotification(
  storedEnvelope: string,
  boxId: string,
  status: PpnsStatus,
): PpnsNotification | undefined {
  const parsed = parseEnvelope(storedEnvelope);
  if (!parsed.ok) return undefined;
  const { envelope } = parsed;
  return {
    notificationId: envelope.notificationId,
    boxId,
    messageContentType: envelope.messageContentType,
    message:
      typeof envelope.message === 'string' ? envelope.message : JSON.stringify(envelope.message),
    status,
    createdDateTime: formatPpnsDateTime(envelope.createdAt),
  };
}

/** The field order is PPNS's; a consumer's signature check is over these exact bytes. */
export function ppnsNotificationJson(notification: PpnsNotification): string {
  const { notificationId, boxId, messageContentType, message, status, createdDateTime } =
    notification;
  return JSON.stringify({
    notificationId,
    boxId,
    messageContentType,
    message,
    status,
    createdDateTime,
  });
}

/**
 * PPNS's callback validation URL: `?challenge=` appended, or `&challenge=` when the callback URL
 * already has a query (PPNS `OutboundProxyConnector.validateCallback`).
 */
export function challengeUrl(callbackUrl: string, challenge: string): string {
  const url = new URL(callbackUrl);
  return `${callbackUrl}${url.search === '' ? '?' : '&'}challenge=${encodeURIComponent(challenge)}`;
}
