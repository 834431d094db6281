import { signPayload } from '@ctc-hub/ppns';

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
  const timeout = AbortSignal.timeout(options.timeoutMs);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature': signPayload(secret, body) },
      body,
      redirect: 'manual',
      signal: AbortSignal.any([options.signal, timeout]),
    });
    await response.body?.cancel().catch(() => undefined);
    if (response.status === 200) return { ok: true };
    return {
      ok: false,
      code: `HTTP_${response.status}`,
      message: `the callback answered ${response.status} (only 200 is success)`,
    };
  } catch (error) {
    if (options.signal.aborted) return { ok: false, code: 'STOPPED', message: 'worker stopping' };
    if (timeout.aborted)
      return { ok: false, code: 'TIMEOUT', message: `no answer within ${options.timeoutMs} ms` };
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return {
      ok: false,
      code: 'NETWORK',
      message: cause?.code ?? cause?.message ?? (error as Error).message,
    };
  }
}
