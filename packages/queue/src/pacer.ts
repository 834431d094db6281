import type { Redis } from 'ioredis';

/**
 * Reserves the next free slot in a schedule shared through Redis: each caller gets
 * `max(now, lastSlot + spacing)` atomically (Redis' own clock, so replicas on different hosts
 * agree) and waits until then. With spacing = 1000 / rate (+ a margin), no second of the
 * schedule ever holds more than `rate` calls, however many processes make them, and a job that
 * needs two calls books two slots instead of bursting.
 */
const reserveScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, last + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], slot, 'PX', 3600000)
return slot - now
`;

const pauseScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local until_ = now + tonumber(ARGV[1])
if until_ > last then redis.call('SET', KEYS[1], until_, 'PX', 3600000) end
return 0
`;

export class RatePacer {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    readonly spacingMs: number,
  ) {}

  /** Waits for this caller's slot; resolves with the milliseconds waited. */
  async acquire(): Promise<number> {
    const waitMs = Number(
      await this.redis.eval(reserveScript, 1, this.key, String(this.spacingMs)),
    );
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    return waitMs;
  }

  /** No slot is handed out for `ms` from now (HMRC said 429 with Retry-After). */
  async pause(ms: number): Promise<void> {
    await this.redis.eval(pauseScript, 1, this.key, String(Math.max(0, Math.round(ms))));
  }
}

/** The pacer's key for a queue prefix (shared by the worker, which paces, and the api, which reports). */
export const pacerKey = (queuePrefix: string): string => `${queuePrefix}:hmrc:pacer`;

/** Spacing for `perSecond` calls: 1000/perSecond plus 5%, so a sliding second never holds more. */
export const spacingFor = (perSecond: number): number => Math.ceil((1000 / perSecond) * 1.05);
