import { randomUUID } from 'node:crypto';
import type { CallbackClient } from './http-post.js';

/**
 * PPNS's callback URL check (reference §1.4): GET <url>?challenge=<uuid> (or &challenge= when
 * the URL has a query) must answer 200 with JSON {"challenge": "<same>"} within 20 seconds.
 * PPNS also insists on https on port 443; the sandbox reports that but does not enforce it,
 * since local receivers run on plain http.
 */
export interface CallbackValidationResult {
  valid: boolean;
  url: string;
  challenge: string;
  status: number | null;
  /** Why it failed, in PPNS's words where it has some. */
  reason: string | null;
  /** PPNS would refuse a non-https URL regardless of the answer. */
  httpsWouldBeRequired: boolean;
  elapsedMs: number;
}

export async function validateCallback(
  client: CallbackClient,
  url: string,
  timeoutMs = 20_000,
): Promise<CallbackValidationResult> {
  const challenge = randomUUID();
  const target = new URL(url);
  target.searchParams.append('challenge', challenge);
  const started = Date.now();
  const result = (
    valid: boolean,
    status: number | null,
    reason: string | null,
  ): CallbackValidationResult => ({
    valid,
    url,
    challenge,
    status,
    reason,
    httpsWouldBeRequired: target.protocol !== 'https:',
    elapsedMs: Date.now() - started,
  });
  try {
    const response = await client.get(target.toString(), timeoutMs);
    if (response.status < 200 || response.status > 299) {
      return result(
        false,
        response.status,
        `Invalid callback URL: the challenge was answered with HTTP ${response.status}`,
      );
    }
    let answered: unknown;
    try {
      answered = (JSON.parse(response.body) as { challenge?: unknown }).challenge;
    } catch {
      return result(
        false,
        response.status,
        'Invalid callback URL: the answer is not JSON {"challenge": …}',
      );
    }
    if (answered !== challenge) {
      return result(
        false,
        response.status,
        'Invalid callback URL: the challenge in the answer does not match',
      );
    }
    return result(true, response.status, null);
  } catch (error) {
    const reason =
      (error as Error).name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : (error as Error).message;
    return result(false, null, `Invalid callback URL: ${reason}`);
  }
}
