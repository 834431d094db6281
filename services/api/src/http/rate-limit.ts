import type { Logger } from '@ctc-hub/telemetry';
import type { NextFunction, Request, Response } from 'express';
import type { RedisConnection } from '@ctc-hub/queue';
import { principalOf } from './auth.js';
import { ApiError, sendError } from './errors.js';

/**
 * Token bucket per key in Redis: KEYS[1] the bucket hash; ARGV rate/s, burst, now (ms), and how
 * many tokens the caller would like to take (a lease: one for this request, the rest kept by the
 * replica for its next requests). Returns {tokens granted (0 when none is left), tokens left
 * (floor), ms until one token is back}. Redis' own clock
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
local want = tonumber(ARGV[4])
local allowed = 0
if tokens >= 1 then allowed = math.min(want, math.floor(tokens)); tokens = tokens - allowed end
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
 *
 * A Redis round trip per request cost the api about a quarter of a point read's CPU, so a
 * replica takes up to burst/20 tokens at a time (a lease: one for the request, the rest for the
 * key's next requests on this replica within a second, after which unused ones lapse). Tokens
 * are still taken from the one shared bucket, so all replicas together never exceed the rate;
 * a lease only moves up to burst/20 tokens between replicas. With a burst under 40 a lease is a
 * single token: one round trip per request, as before.
 */
export function rateLimitPerKey(options: RateLimitOptions) {
  const timeoutMs = options.timeoutMs ?? 200;
  // EVALSHA of the script Redis already holds (ioredis sends the text once, on NOSCRIPT), rather
  // than the script's 700 bytes with every request for Redis to hash again.
  const command = 'ctcApiTokenBucketLease';
  const leaseSize = Math.max(1, Math.floor(options.burst / 20));
  const leaseMs = 1000;
  /** Per key: tokens this replica holds, until when, and what Redis had left when it gave them. */
  const leases = new Map<string, { tokens: number; until: number; left: number }>();
  if (!(command in options.redis))
    options.redis.defineCommand(command, { numberOfKeys: 1, lua: tokenBucket });
  const bucket = (
    options.redis as unknown as Record<
      string,
      (key: string, ...args: number[]) => Promise<[number, number, number]>
    >
  )[command]!.bind(options.redis);
  let warnedAt = 0;
  /** Per key: lease requests in flight; while one is, others ask for their own token only. */
  const asking = new Map<string, number>();
  /** One token of the key's live lease, if this replica holds one. */
  const fromLease = (keyId: string, response: Response): boolean => {
    const lease = leases.get(keyId);
    if (lease === undefined || lease.tokens <= 0 || Date.now() >= lease.until) return false;
    lease.tokens -= 1;
    response.setHeader('RateLimit-Limit', String(options.burst));
    response.setHeader('RateLimit-Remaining', String(lease.left + lease.tokens));
    return true;
  };
  return async (request: Request, response: Response, next: NextFunction): Promise<void> => {
    const { keyId } = principalOf(request);
    if (fromLease(keyId, response)) return next();
    // Not connected (starting, or Redis away: /readyz says so): let the request through quietly.
    if (options.redis.status !== 'ready') return next();
    let answer: [number, number, number] | undefined;
    const others = asking.get(keyId) ?? 0;
    asking.set(keyId, others + 1);
    try {
      answer = await Promise.race([
        bucket(
          `${options.prefix}:api-rate:${keyId}`,
          options.perSecond,
          options.burst,
          Date.now(),
          others > 0 ? 1 : leaseSize,
        ),
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
    } finally {
      const left = (asking.get(keyId) ?? 1) - 1;
      if (left > 0) asking.set(keyId, left);
      else asking.delete(keyId);
    }
    if (answer === undefined) return next();
    const [granted, remaining, waitMs] = answer;
    if (granted > 1) {
      // Requests that asked at the same moment add theirs to one lease rather than lose them.
      const held = leases.get(keyId);
      const live = held !== undefined && Date.now() < held.until ? held.tokens : 0;
      leases.set(keyId, {
        tokens: live + granted - 1,
        until: Date.now() + leaseMs,
        left: remaining,
      });
    }
    const kept = leases.get(keyId);
    const keptTokens = kept !== undefined && Date.now() < kept.until ? kept.tokens : 0;
    response.setHeader('RateLimit-Limit', String(options.burst));
    response.setHeader('RateLimit-Remaining', String(Math.max(0, remaining) + keptTokens));
    if (granted >= 1) return next();
    // The bucket is empty, but a lease that arrived meanwhile may still hold this key's tokens.
    if (fromLease(keyId, response)) return next();
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
