import { signPayload } from '@ctc-hub/ppns';
import { postOnce } from '../runtime/outbound-post.js';

export type PushResult =
  | { ok: true }
  | {
      ok: false;
      /** HTTP_<status>, TIMEOUT, NETWORK, or STOPPED (we are shutting down; not a failure). */
      code: string;
      message: string;
    };

/**
 * One push as PPNS makes it: POST of the notification JSON with `Content-Type: application/json`
 * and `X-Hub-Signature`, the lower-case hex HMAC-SHA1 of the exact body bytes keyed with the
 * consumer's secret as text. Only 200 is success (PPNS `PushService`: 201, 202 and 204 are
 * failures too); redirects are not followed.
 */
export async function pushNotification(
  url: string,
  body: string,
  secret: string,
  options: { timeoutMs: number; signal: AbortSignal },
): Promise<PushResult> {
  const answer = await postOnce(url, {
    headers: { 'content-type': 'application/json', 'x-hub-signature': signPayload(secret, body) },
    body,
    ...options,
  });
  if (!answer.ok) return answer;
  if (answer.status === 200) return { ok: true };
  return {
    ok: false,
    code: `HTTP_${answer.status}`,
    message: `the callback answered ${answer.status} (only 200 is success)`,
  };
}
