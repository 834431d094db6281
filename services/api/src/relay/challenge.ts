import { randomUUID } from 'node:crypto';
import { challengeUrl } from '@ctc-hub/ppns';

export type ChallengeResult = { ok: true } | { ok: false; detail: string };

/** PPNS's answer when a callback URL fails validation (`CallbackValidator`). */
export const invalidCallbackMessage =
  'Invalid callback URL. Check the information you have provided is correct.';

const maxAnswerBytes = 64 * 1024;

/**
 * PPNS's callback validation: `GET <callback>?challenge=<random UUID>`; the URL is valid when it
 * answers 2xx with a JSON object whose `challenge` is exactly the one sent. Redirects are not
 * followed; the answer is read up to 64 KB.
 */
export async function validateCallback(url: string, timeoutMs: number): Promise<ChallengeResult> {
  const challenge = randomUUID();
  try {
    const response = await fetch(challengeUrl(url, challenge), {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.status < 200 || response.status > 299) {
      await response.body?.cancel().catch(() => undefined);
      return { ok: false, detail: `the callback answered ${response.status}` };
    }
    const text = await readCapped(response);
    if (text === undefined) return { ok: false, detail: 'the answer is larger than 64 KB' };
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      return { ok: false, detail: 'the answer is not JSON' };
    }
    const echoed = (answer as { challenge?: unknown } | null)?.challenge;
    return echoed === challenge
      ? { ok: true }
      : { ok: false, detail: 'the answer does not echo the challenge as {"challenge": "…"}' };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    const timedOut = (error as Error).name === 'TimeoutError';
    return {
      ok: false,
      detail: timedOut
        ? `no answer within ${timeoutMs} ms`
        : `the callback could not be reached (${cause?.code ?? (error as Error).message})`,
    };
  }
}

async function readCapped(response: Response): Promise<string | undefined> {
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxAnswerBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
