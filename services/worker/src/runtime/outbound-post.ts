/**
 * One POST to a URL an operator configured (change-feed webhooks, PPNS relay consumers): no
 * redirects followed (the URL is what was configured), the answer's body discarded, transport
 * failures named. Whether a status is a success is the caller's rule: Standard Webhooks take any
 * 2xx, PPNS only 200.
 */
export type PostAnswer =
  | { ok: true; status: number; headers: Headers }
  | {
      ok: false;
      /** TIMEOUT, NETWORK, or STOPPED (we are shutting down; not a failure). */
      code: 'TIMEOUT' | 'NETWORK' | 'STOPPED';
      message: string;
    };

export async function postOnce(
  url: string,
  request: {
    headers: Record<string, string>;
    body: string;
    timeoutMs: number;
    /** Aborts the request when the worker stops. */
    signal: AbortSignal;
  },
): Promise<PostAnswer> {
  const timeout = AbortSignal.timeout(request.timeoutMs);
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.any([request.signal, timeout]),
    });
    // The answer's body is of no use to us; release the connection.
    await response.body?.cancel().catch(() => undefined);
    return { ok: true, status: response.status, headers: response.headers };
  } catch (error) {
    if (request.signal.aborted) return { ok: false, code: 'STOPPED', message: 'worker stopping' };
    if (timeout.aborted)
      return { ok: false, code: 'TIMEOUT', message: `no answer within ${request.timeoutMs} ms` };
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return {
      ok: false,
      code: 'NETWORK',
      message: cause?.code ?? cause?.message ?? (error as Error).message,
    };
  }
}
