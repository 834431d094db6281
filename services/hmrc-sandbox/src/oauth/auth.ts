import { performance } from 'node:perf_hooks';
import type { NextFunction, Request, Response } from 'express';
import { HmrcError, sendError, throttled } from '../core/errors.js';
import type { SandboxStats } from '../core/stats.js';
import type { AccessToken, TokenStore } from './tokens.js';

/**
 * What the API Platform does before a request reaches an HMRC service: check the bearer token
 * (kind and scope), then the application's rate limit. Error codes are the API Platform's:
 * MISSING_CREDENTIALS, INVALID_CREDENTIALS, INCORRECT_ACCESS_TOKEN_TYPE, INVALID_SCOPE (all
 * 401), and 429 MESSAGE_THROTTLED_OUT.
 */

export interface AuthRequirement {
  kind: AccessToken['kind'];
  scope: string;
}

export function bearerToken(request: Request): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}

/** When the request reached the sandbox (set before any injected latency, core/app.ts). */
export const arrivedAt = (response: Response): number =>
  (response.locals.arrivedAt as number | undefined) ?? performance.timeOrigin + performance.now();

/** The authenticated token of this request (set by `authenticate`). */
export const authOf = (response: Response): AccessToken => response.locals.auth as AccessToken;

/**
 * Sliding one-second window per application (client id). Only requests that get through count,
 * so a client hammering at 429s does not lock itself out for longer than a second. A request
 * counts at the moment it reached the sandbox (HMRC's gateway counts on arrival), not after an
 * injected latency: a call held for seconds must not land in a later second's window.
 */
export class RateLimiter {
  private readonly windows = new Map<string, number[]>();

  constructor(private readonly limit: () => number) {}

  take(clientId: string, now = Date.now()): boolean {
    let window = this.windows.get(clientId);
    if (window === undefined) {
      window = [];
      this.windows.set(clientId, window);
    }
    const latest = Math.max(now, window.at(-1) ?? now);
    while (window.length > 0 && window[0]! <= latest - 1000) window.shift();
    // Calls inside the one second that ends at this call's arrival.
    const inWindow = window.filter((at) => at > now - 1000 && at <= now).length;
    if (inWindow >= this.limit()) return false;
    let at = window.length;
    while (at > 0 && window[at - 1]! > now) at--;
    window.splice(at, 0, now);
    return true;
  }

  reset(): void {
    this.windows.clear();
  }
}

export function authenticate(
  tokens: TokenStore,
  limiter: RateLimiter,
  stats: SandboxStats,
  requirement: AuthRequirement,
) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const token = bearerToken(request);
    if (token === undefined) {
      return sendError(
        response,
        new HmrcError(401, 'MISSING_CREDENTIALS', 'Authentication information is not provided'),
      );
    }
    const entry = tokens.lookup(token);
    if (entry === undefined) {
      return sendError(
        response,
        new HmrcError(401, 'INVALID_CREDENTIALS', 'Invalid Authentication information provided'),
      );
    }
    if (entry.kind !== requirement.kind) {
      return sendError(
        response,
        new HmrcError(
          401,
          'INCORRECT_ACCESS_TOKEN_TYPE',
          'The access token type used is not supported when calling this API',
        ),
      );
    }
    if (!entry.scopes.has(requirement.scope)) {
      return sendError(
        response,
        new HmrcError(
          401,
          'INVALID_SCOPE',
          'Cannot access the required resource. Ensure this token has all the required scopes.',
        ),
      );
    }
    if (requirement.kind === 'user' && entry.eori === undefined) {
      return sendError(
        response,
        new HmrcError(403, 'FORBIDDEN', "Current user doesn't have a valid EORI enrolment."),
      );
    }
    const now = arrivedAt(response);
    const allowed = limiter.take(entry.clientId, now);
    stats.applicationCall(entry.clientId, allowed);
    stats.arrival({
      at: now,
      clientId: entry.clientId,
      method: request.method,
      path: request.path,
      allowed,
    });
    if (!allowed) {
      stats.throttle('rateLimit');
      return sendError(response, throttled(1));
    }
    response.locals.auth = entry;
    next();
  };
}

export type Authenticators = Record<
  'ctc' | 'guarantee' | 'pull' | 'acknowledge',
  ReturnType<typeof authenticate>
>;

export function authenticators(
  tokens: TokenStore,
  limiter: RateLimiter,
  stats: SandboxStats,
): Authenticators {
  return {
    ctc: authenticate(tokens, limiter, stats, {
      kind: 'user',
      scope: 'common-transit-convention-traders',
    }),
    guarantee: authenticate(tokens, limiter, stats, {
      kind: 'user',
      scope: 'common-transit-convention-guarantee-balance',
    }),
    pull: authenticate(tokens, limiter, stats, {
      kind: 'application',
      scope: 'read:pull-notifications',
    }),
    acknowledge: authenticate(tokens, limiter, stats, {
      kind: 'application',
      scope: 'write:notifications',
    }),
  };
}
