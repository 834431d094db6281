import type { Logger } from '@ctc-hub/telemetry';
import type { NextFunction, Request, Response } from 'express';
import type { RedisConnection } from '@ctc-hub/queue';
import { principalOf } from './auth.js';
import { ApiError, sendError } from './errors.js';

/**
 * Token bucket per key in Redis: KEYS[1] the bucket hash; ARGV rate/s, burst, now (ms).
 * Returns {allowed (1/0), tokens left (floor), ms until one token is back}. Redis' own clock
 * would be better than ours for replicas with skewed clocks, but TIME inside a script makes it
 * non-deterministic for replication on Redis < 7 and costs little to avoid: api replicas run
 * NTP, and a few ms of skew only shifts a bucket by a few tokens.
 */
const tokenBucket = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then tokens = burst; at = now end
if now > at then tokens = math.min(burst, tokens + (now - at) * rate / 1000); at = now end
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 't', tokens, 'at', at)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
local wait = 0
if tokens < 1 then wait = math.ceil((1 - tokens) * 1000 / rate) end
return {allowed, math.floor(tokens), wait}
`;

export interface RateLimitOptions {
  redis: RedisConnection;
  /** Keys are `<prefix>:api-rate:<keyId>`, next to the queues' keys (one hash slot on a cluster). */
  prefix: string;
  perSecond: number;
  burst: number;
  logger: Logger;
  /** A Redis answer slower than this lets the request through (fail open; see below). */
  timeoutMs?: number;
}

/**
 * Per-API-key rate limit shared by every api replica. Answers 429 `RATE_LIMITED` with
 * `Retry-After` (seconds) and `RateLimit-Limit` / `RateLimit-Remaining` headers on every answer.
 *
 * When Redis cannot answer in time the request goes through: the limit protects the hub from a
 * runaway client, and reads from PostgreSQL must keep working while Redis is down (submissions
 * fail on their own without it). Runs after authentication, so unknown keys cost nothing here.
 */
export function rateLimitPerKey(options: RateLimitOptions) {
  const timeoutMs = options.timeoutMs ?? 200;
  let warnedAt = 0;
  return async (request: Request, response: Response, next: NextFunction): Promise<void> => {
    const { keyId } = principalOf(request);
    // Not connected (starting, or Redis away: /readyz says so): let the request through quietly.
    if (options.redis.status !== 'ready') return next();
    let answer: [number, number, number] | undefined;
    try {
      answer = await Promise.race([
        options.redis.eval(
          tokenBucket,
          1,
          `${options.prefix}:api-rate:${keyId}`,
          options.perSecond,
          options.burst,
          Date.now(),
        ) as Promise<[number, number, number]>,
        new Promise<undefined>((resolve) =>
          setTimeout(() => resolve(undefined), timeoutMs).unref(),
        ),
      ]);
    } catch (error) {
      answer = undefined;
      if (Date.now() - warnedAt > 60_000) {
        warnedAt = Date.now();
        options.logger.warn({ err: error }, 'rate limit not checked: Redis unavailable');
      }
    }
    if (answer === undefined) return next();
    const [allowed, remaining, waitMs] = answer;
    response.setHeader('RateLimit-Limit', String(options.burst));
    response.setHeader('RateLimit-Remaining', String(Math.max(0, remaining)));
    if (allowed === 1) return next();
    const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
    response.setHeader('Retry-After', String(retryAfter));
    sendError(
      response,
      new ApiError(
        429,
        'RATE_LIMITED',
        `This API key may make ${options.perSecond} requests per second (bursts of ${options.burst}); retry after ${retryAfter} s`,
      ),
    );
  };
}
