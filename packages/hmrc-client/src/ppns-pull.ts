import { validateEnvelope, type EnvelopeError, type PpnsEnvelope } from '@ctc-hub/ppns';
import { invalid, refused, sendWithToken, type CallOptions } from './bearer.js';
import { parseJson } from './ctc-responses.js';
import type { HmrcResult } from './errors.js';
import { boxNotificationsPath } from './paths.js';
import { QueryBuilder, type DateTimeInput } from './query.js';
import type { HmrcTransport } from './transport.js';

/**
 * PPNS pull (reference §1.6): application-restricted (client-credentials token), `Accept:
 * application/vnd.hmrc.1.0+json` exactly. PPNS asks for at most one call every 10 seconds.
 */

export type PpnsStatusFilter = 'PENDING' | 'ACKNOWLEDGED' | 'FAILED';

export interface BoxNotificationsQuery {
  status?: PpnsStatusFilter;
  /** Inclusive; PPNS re-returns the boundary item when paging by date, so dedupe. */
  fromDate?: DateTimeInput;
  toDate?: DateTimeInput;
  /** Sent only when given (older PPNS deployments reject unknown parameters); ≤ 100 returned anyway. */
  count?: number;
}

export interface BoxNotifications {
  /** Oldest first, as PPNS sends them. */
  notifications: PpnsEnvelope[];
  /** Entries that failed validation, with their raw JSON: quarantine them, never drop them. */
  invalid: { index: number; raw: unknown; error: EnvelopeError }[];
}

const ppnsAccept = 'application/vnd.hmrc.1.0+json';
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function listBoxNotifications(
  transport: HmrcTransport,
  maxBytes: number,
  boxId: string,
  query: BoxNotificationsQuery,
  appToken: string,
  options: CallOptions,
): Promise<HmrcResult<BoxNotifications>> {
  const path = boxNotificationsPath(boxId);
  if (!path.ok) return path;
  const built = new QueryBuilder()
    .text(
      'status',
      query.status,
      /^(PENDING|ACKNOWLEDGED|FAILED)$/,
      'must be PENDING, ACKNOWLEDGED or FAILED',
    )
    .dateTime('fromDate', query.fromDate)
    .dateTime('toDate', query.toDate)
    .positiveInt('count', query.count)
    .build();
  if (!built.ok) return refused(built.message);
  const result = await sendWithToken(transport, appToken, {
    endpoint: 'GET /misc/push-pull-notification/box/{boxId}/notifications',
    method: 'GET',
    path: path.path,
    query: built.query,
    headers: { accept: ppnsAccept },
    maxBytes,
    signal: options.signal,
  });
  if (!result.ok) return result;
  const parsed = parseJson(result.response.body);
  if (!parsed.ok || !Array.isArray(parsed.value)) {
    return invalid(result.response.status, 'notification list is not a JSON array');
  }
  const pulled: BoxNotifications = { notifications: [], invalid: [] };
  parsed.value.forEach((raw, index) => {
    const envelope = validateEnvelope(raw);
    if (envelope.ok) pulled.notifications.push(envelope.envelope);
    else pulled.invalid.push({ index, raw, error: envelope.error });
  });
  return { ok: true, ...pulled };
}

/** Marks up to 100 notifications ACKNOWLEDGED (scope write:notifications); unknown ids still get 204. */
export async function acknowledgeNotifications(
  transport: HmrcTransport,
  boxId: string,
  notificationIds: readonly string[],
  appToken: string,
  options: CallOptions,
): Promise<HmrcResult<{ acknowledged: number }>> {
  const path = boxNotificationsPath(boxId);
  if (!path.ok) return path;
  if (notificationIds.length === 0 || notificationIds.length > 100) {
    return refused('acknowledge 1 to 100 notification ids at a time');
  }
  if (!notificationIds.every((id) => typeof id === 'string' && uuidPattern.test(id))) {
    return refused('notification ids must be UUIDs');
  }
  if (new Set(notificationIds.map((id) => id.toLowerCase())).size !== notificationIds.length) {
    return refused('notification ids must not repeat');
  }
  const result = await sendWithToken(transport, appToken, {
    endpoint: 'PUT /misc/push-pull-notification/box/{boxId}/notifications/acknowledge',
    method: 'PUT',
    path: `${path.path}/acknowledge`,
    headers: { accept: ppnsAccept, 'content-type': 'application/json' },
    body: JSON.stringify({ notificationIds }),
    maxBytes: 64 * 1024,
    signal: options.signal,
  });
  return result.ok ? { ok: true, acknowledged: notificationIds.length } : result;
}
