import { randomUUID } from 'node:crypto';
import { formatPpnsDateTime, signPayload } from '@ctc-hub/ppns';
import { waitFor } from '@ctc-hub/testing';
import type { E2E } from './support.js';

/** Helpers shared by the replay end-to-end tests. */

/** Any method on our api, JSON in and out. */
export async function call(
  e2e: E2E,
  method: string,
  path: string,
  body?: unknown,
  key = e2e.stack.apiKey,
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${e2e.stack.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}

/** Pushes a notification to our receiver as PPNS would (signed); returns its id and body. */
export async function pushNotification(
  e2e: E2E,
  message: Record<string, unknown>,
): Promise<{ notificationId: string; body: string }> {
  const notificationId = randomUUID();
  const body = JSON.stringify({
    notificationId,
    boxId: e2e.stack.env.SANDBOX_BOX_ID,
    messageContentType: 'application/json',
    message: JSON.stringify(message),
    status: 'PENDING',
    createdDateTime: formatPpnsDateTime(new Date()),
  });
  const secret = e2e.stack.env.PPNS_PUSH_SECRETS!.split(',')[0]!;
  const response = await fetch(`${e2e.stack.receiverUrl}/ppns/callback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature': signPayload(secret, body) },
    body,
  });
  if (response.status !== 200) throw new Error(`receiver answered ${response.status}`);
  return { notificationId, body };
}

/** A MESSAGE_RECEIVED whose inline XML is cut short: it is quarantined every time. */
export function malformedMessage(eori: string, departureId: string, messageId: string) {
  return {
    messageUri: `/customs/transits/movements/departures/${departureId}/messages/${messageId}`,
    notificationType: 'MESSAGE_RECEIVED',
    messageId,
    enrollmentEORINumber: eori,
    departureId,
    messageType: 'IE028',
    messageBody:
      '<ncts:CC028C xmlns:ncts="http://ncts.dgtaxud.ec"><messageSender>NTA.GB</messageSend',
  };
}

/** The dead letter with this dedupe key, once it exists (and `until` holds, if given). */
export function deadLetter(
  e2e: E2E,
  dedupeKey: string,
  until: (row: any) => boolean = () => true,
  timeoutMs = 30_000,
) {
  return waitFor(
    async () => {
      const row = await e2e.testDb.db
        .selectFrom('dead_letters')
        .selectAll()
        .where('dedupe_key', '=', dedupeKey)
        .executeTakeFirst();
      return row !== undefined && until(row) ? row : undefined;
    },
    { timeoutMs, what: `dead letter ${dedupeKey}` },
  );
}

/** Polls GET /v1/replays/{id} until the replay is done (or failed). */
export function replayFinished(e2e: E2E, replayId: string, timeoutMs = 30_000) {
  return waitFor(
    async () => {
      const { status, body } = await call(e2e, 'GET', `/v1/replays/${replayId}`);
      return status === 200 && body.status !== 'running' ? body : undefined;
    },
    { timeoutMs, what: `replay ${replayId} finished` },
  );
}
