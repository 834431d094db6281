import type { FeedEventJson } from '@ctc-hub/db';
import { postOnce } from '../runtime/outbound-post.js';
import { webhookHeaders } from './signature.js';

/**
 * The body of a webhook: the Standard Webhooks envelope (`type`, `timestamp`, `data`) around the
 * event exactly as GET /v1/events serves it, so a receiver parses one shape everywhere.
 */
export function webhookBody(event: FeedEventJson): string {
  return JSON.stringify({ type: event.kind, timestamp: event.createdAt, data: event });
}

export type AttemptResult =
  | { ok: true; status: number }
  | {
      ok: false;
      /** HTTP_<status>, TIMEOUT, NETWORK, or STOPPED (we are shutting down; not a failure). */
      code: string;
      message: string;
      /** The receiver's Retry-After (429/503), in ms. */
      retryAfterMs?: number;
    };

export interface PostOptions {
  key: Buffer;
  timeoutMs: number;
  /** Aborts the request when the worker stops. */
  signal: AbortSignal;
}

/**
 * One POST of one event; 2xx is success, anything else (redirects included: we do not follow
 * them, the URL is what was configured) is a failure to retry. The webhook-id is the event's
 * cursor: the same on every attempt and every replay, so receivers can drop duplicates.
 */
export async function postWebhook(
  url: string,
  id: string,
  body: string,
  options: PostOptions,
): Promise<AttemptResult> {
  const answer = await postOnce(url, {
    headers: webhookHeaders(options.key, id, body),
    body,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
  });
  if (!answer.ok) return answer;
  if (answer.status >= 200 && answer.status < 300) return { ok: true, status: answer.status };
  const retryAfterMs = parseRetryAfter(answer.headers.get('retry-after'));
  return {
    ok: false,
    code: `HTTP_${answer.status}`,
    message: `${url} answered ${answer.status}`,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
