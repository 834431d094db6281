import type { AccessTokenResult, HmrcError, HmrcResult, TokenError } from '@ctc-hub/hmrc-client';
import { UnrecoverableError, Worker } from 'bullmq';
import { RetryLater, type HmrcDeps } from './deps.js';

/** Where a job gets its token: the application's (PPNS) or a trader's (CTC). */
export interface TokenSource {
  get: () => Promise<AccessTokenResult>;
  /** After a 401 to `rejected`; joins a refresh another job already started. */
  refresh: (rejected: string) => Promise<AccessTokenResult>;
}

export const applicationTokens = (deps: Pick<HmrcDeps, 'hmrc'>): TokenSource => ({
  get: () => deps.hmrc.tokens.getApplicationToken(),
  refresh: (rejected) => deps.hmrc.tokens.forceApplicationRefresh(rejected),
});

export const traderTokens = (deps: Pick<HmrcDeps, 'hmrc'>, eori: string): TokenSource => ({
  get: () => deps.hmrc.tokens.getAccessToken(eori),
  refresh: (rejected) => deps.hmrc.tokens.forceRefresh(eori, rejected),
});

/** No usable token. `retryable` is false when only a person can fix it (connect again, a key). */
export class TokenUnavailable extends Error {
  readonly retryable: boolean;
  /**
   * @param afterRefusal HMRC refused the token we held (401) and refreshing it failed: the
   *   reason (invalid_grant: consent withdrawn, HMRC forgot the grant) is what a person acts on.
   */
  constructor(
    readonly tokenError: TokenError,
    readonly afterRefusal = false,
  ) {
    super(`no usable HMRC token for ${tokenError.subject}: ${tokenError.message}`);
    this.name = 'TokenUnavailable';
    this.retryable = tokenError.kind === 'refresh-failed' && tokenError.retryable;
  }
}

/** A usable token as the token store hands it out. */
export type HeldToken = Extract<AccessTokenResult, { ok: true }>;

export interface SessionOptions {
  /**
   * Called when HMRC answered 429, before the queue pauses and the job ends without spending an
   * attempt (a submission records the attempt, uncounted; a fetch records its metric).
   */
  onRateLimited?: (error: RateLimited) => Promise<void>;
}

type RateLimited = Extract<HmrcError, { kind: 'rate-limited' }>;

/**
 * The one way a job calls HMRC: one token, refreshed once on 401 (joining a refresh another job
 * already started); a 429 pauses the whole hmrc queue for Retry-After and ends the job with
 * BullMQ's RateLimitError, retried later without spending an attempt. Pacing (the shared budget)
 * is the RatePacer's, before every call the client makes. What an error means for the job is
 * `failWith`'s, unless the capability has its own reading (a guarantee check's 429 is an answer).
 */
export class HmrcSession {
  private token: string | undefined;
  /** The trader connection of the token in use (null for the application token). */
  connectionId: string | null = null;

  constructor(
    private readonly deps: Pick<HmrcDeps, 'rateLimit'>,
    private readonly tokens: TokenSource,
    private readonly options: SessionOptions = {},
  ) {}

  /** Takes the token now (to look at its connection before the first call). */
  async begin(): Promise<HeldToken> {
    const token = await this.tokens.get();
    if (!token.ok) throw new TokenUnavailable(token.error);
    this.token = token.accessToken;
    this.connectionId = token.connectionId;
    return token;
  }

  /** One HMRC request; a 429 ends the job (see above). */
  async call<T>(request: (token: string) => Promise<HmrcResult<T>>): Promise<HmrcResult<T>> {
    const result = await this.answer(request);
    if (!result.ok && result.error.kind === 'rate-limited') {
      await this.options.onRateLimited?.(result.error);
      await this.deps.rateLimit(result.error.retryAfterMs);
      throw Worker.RateLimitError();
    }
    return result;
  }

  /**
   * One HMRC request whose 429 is an answer for the caller to read, not a reason to retry the
   * job (a guarantee check: HMRC locks the GRN for a minute whatever the answer). The queue
   * still pauses for a Retry-After up to `pauseUpToMs` (the platform's own limit).
   */
  async callOnce<T>(
    request: (token: string) => Promise<HmrcResult<T>>,
    pauseUpToMs: number,
  ): Promise<HmrcResult<T>> {
    const result = await this.answer(request);
    if (
      !result.ok &&
      result.error.kind === 'rate-limited' &&
      result.error.retryAfterMs <= pauseUpToMs
    )
      await this.deps.rateLimit(result.error.retryAfterMs);
    return result;
  }

  /** The request with the session's token, and once more with a fresh one after a 401. */
  private async answer<T>(
    request: (token: string) => Promise<HmrcResult<T>>,
  ): Promise<HmrcResult<T>> {
    this.token ??= (await this.begin()).accessToken;
    let result = await request(this.token);
    if (!result.ok && result.error.kind === 'unauthorized') {
      this.token = await this.acquire(this.tokens.refresh(this.token), true);
      result = await request(this.token);
    }
    return result;
  }

  private async acquire(
    pending: Promise<AccessTokenResult>,
    afterRefusal = false,
  ): Promise<string> {
    const token = await pending;
    if (!token.ok) throw new TokenUnavailable(token.error, afterRefusal);
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
