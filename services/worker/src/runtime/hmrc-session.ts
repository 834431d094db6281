import type { AccessTokenResult, HmrcError, HmrcResult, TokenError } from '@ctc-hub/hmrc-client';
import { UnrecoverableError, Worker } from 'bullmq';
import { RetryLater, type HmrcDeps } from './deps.js';

/** Where a reconciliation job gets its token: the application's (PPNS) or a trader's (CTC). */
export interface TokenSource {
  get: () => Promise<AccessTokenResult>;
  /** After a 401 to `rejected`; joins a refresh another job already started. */
  refresh: (rejected: string) => Promise<AccessTokenResult>;
}

export const applicationTokens = (deps: HmrcDeps): TokenSource => ({
  get: () => deps.hmrc.tokens.getApplicationToken(),
  refresh: (rejected) => deps.hmrc.tokens.forceApplicationRefresh(rejected),
});

export const traderTokens = (deps: HmrcDeps, eori: string): TokenSource => ({
  get: () => deps.hmrc.tokens.getAccessToken(eori),
  refresh: (rejected) => deps.hmrc.tokens.forceRefresh(eori, rejected),
});

/** No usable token. `retryable` is false when only a person can fix it (connect again, a key). */
export class TokenUnavailable extends Error {
  readonly retryable: boolean;
  constructor(readonly tokenError: TokenError) {
    super(`no usable HMRC token for ${tokenError.subject}: ${tokenError.message}`);
    this.name = 'TokenUnavailable';
    this.retryable = tokenError.kind === 'refresh-failed' && tokenError.retryable;
  }
}

/**
 * The HMRC calls of one reconciliation job: one token, refreshed once on 401, and a 429 pauses
 * the whole hmrc queue for Retry-After and ends the job with BullMQ's RateLimitError (retried
 * later without spending an attempt). Pacing itself is the RatePacer's, before every call.
 */
export class HmrcSession {
  private token: string | undefined;
  /** The trader connection of the token in use (null for the application token). */
  connectionId: string | null = null;

  constructor(
    private readonly deps: HmrcDeps,
    private readonly tokens: TokenSource,
  ) {}

  async call<T>(request: (token: string) => Promise<HmrcResult<T>>): Promise<HmrcResult<T>> {
    this.token ??= await this.acquire(this.tokens.get());
    let result = await request(this.token);
    if (!result.ok && result.error.kind === 'unauthorized') {
      this.token = await this.acquire(this.tokens.refresh(this.token));
      result = await request(this.token);
    }
    if (!result.ok && result.error.kind === 'rate-limited') {
      await this.deps.rateLimit(result.error.retryAfterMs);
      throw Worker.RateLimitError();
    }
    return result;
  }

  private async acquire(pending: Promise<AccessTokenResult>): Promise<string> {
    const token = await pending;
    if (!token.ok) throw new TokenUnavailable(token.error);
    this.connectionId = token.connectionId;
    return token.accessToken;
  }
}

/** Throws what BullMQ should do after an HMRC failure: retry with backoff, or give up. */
export function failWith(error: HmrcError, what: string): never {
  switch (error.kind) {
    case 'timeout':
    case 'network':
    case 'invalid-response':
    case 'rate-limited':
      throw new RetryLater(error.kind.toUpperCase(), `${what}: ${error.message}`);
    case 'server-error':
      if (error.retryable)
        throw new RetryLater('HMRC_SERVER_ERROR', `${what}: HMRC answered ${error.status}`);
      throw new UnrecoverableError(`${what}: HMRC answered ${error.status}: ${error.message}`);
    case 'unauthorized':
      throw new RetryLater('UNAUTHORIZED', `${what}: HMRC refused a fresh token: ${error.message}`);
    case 'client-error':
      throw new UnrecoverableError(
        `${what}: HMRC answered ${error.status} ${error.code ?? ''}: ${error.message}`,
      );
    default:
      throw new UnrecoverableError(`${what}: ${error.kind}: ${error.message}`);
  }
}

/** BullMQ's marker for "paused by the rate limit": not a failure of the run. */
export const isRateLimitError = (error: unknown): boolean =>
  error instanceof Error && error.name === 'RateLimitError';

/** HMRC date-times; v1 sent zone-less ones, which are UTC. Undefined when unusable. */
export function hmrcTime(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(value) ? value : `${value}Z`;
  const time = new Date(zoned.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(time.getTime()) ? undefined : time;
}
