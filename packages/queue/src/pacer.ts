import type { Redis } from 'ioredis';

/**
 * Calls are also counted per minute of their slot (a Redis hash beside the slot key, pruned to
 * this many minutes), so operators can see budget use without another metric pipeline: the api's
 * /ops page reads them with callsPerMinute().
 */
const callCountMinutes = 120;
/** Same hash tag as the slot key (a `{prefix}` stays in front), so both live in one cluster slot. */
const callsKey = (key: string): string => `${key}:calls`;

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
local minute = math.floor(slot / 60000)
if redis.call('HINCRBY', KEYS[2], minute, 1) == 1 then
  for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
    if tonumber(field) < minute - ${callCountMinutes} then redis.call('HDEL', KEYS[2], field) end
  end
  redis.call('PEXPIRE', KEYS[2], ${callCountMinutes * 60_000})
end
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
      await this.redis.eval(reserveScript, 2, this.key, callsKey(this.key), String(this.spacingMs)),
    );
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    return waitMs;
  }

  /**
   * Calls booked in each of the last `minutes` minutes (Redis' clock), oldest first, the current
   * (partial) minute last. Counts are of slots handed out, i.e. calls made or about to be made.
   */
  async callsPerMinute(minutes: number): Promise<{ minute: Date; calls: number }[]> {
    const span = Math.max(1, Math.min(callCountMinutes, Math.floor(minutes)));
    const [seconds] = await this.redis.time();
    const current = Math.floor(Number(seconds) / 60);
    const wanted = Array.from({ length: span }, (_, index) => current - span + 1 + index);
    const counts = await this.redis.hmget(callsKey(this.key), ...wanted.map(String));
    return wanted.map((minute, index) => ({
      minute: new Date(minute * 60_000),
      calls: Number(counts[index] ?? 0),
    }));
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
