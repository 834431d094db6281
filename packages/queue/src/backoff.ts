/**
 * Exponential backoff with jitter for BullMQ's custom backoff hook: attempt n waits a random time
 * in [½, 1] × min(cap, base × 2^(n-1)). The jitter spreads out retries of jobs that failed
 * together (a Postgres restart fails hundreds at once).
 */
export function jitteredBackoff(
  attemptsMade: number,
  { baseMs = 1000, capMs = 5 * 60_000, random = Math.random } = {},
): number {
  const exponential = Math.min(capMs, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(exponential * (0.5 + random() / 2));
}

/** Name of the backoff type registered by our workers (`backoff: { type: backoffType }`). */
export const backoffType = 'jitter';
