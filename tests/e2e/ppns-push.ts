import { randomUUID } from 'node:crypto';
import { formatPpnsDateTime, signPayload } from '@ctc-hub/ppns';
import type { E2E } from './support.js';

/**
 * Pushes a notification to our receiver exactly as PPNS would, signed with the push secret;
 * `message` is the JSON string PPNS carries (anything, to exercise quarantine). Returns the
 * receiver's HTTP status.
 */
export async function pushNotification(e2e: E2E, message: string): Promise<number> {
  const body = JSON.stringify({
    notificationId: randomUUID(),
    boxId: e2e.stack.env.SANDBOX_BOX_ID,
    messageContentType: 'application/json',
    message,
    status: 'PENDING',
    createdDateTime: formatPpnsDateTime(new Date()),
  });
  const secret = e2e.stack.env.PPNS_PUSH_SECRETS!.split(',')[0]!;
  const response = await fetch(`${e2e.stack.receiverUrl}/ppns/callback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature': signPayload(secret, body) },
    body,
  });
  return response.status;
}
