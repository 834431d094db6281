import { setTimeout as sleep } from 'node:timers/promises';
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
redis.call('SET', KEYS[1], string.format('%.3f', slot), 'PX', 3600000)
local minute = math.floor(slot / 60000)
if redis.call('HINCRBY', KEYS[2], minute, 1) == 1 then
  for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
    if tonumber(field) < minute - ${callCountMinutes} then redis.call('HDEL', KEYS[2], field) end
  end
  redis.call('PEXPIRE', KEYS[2], ${callCountMinutes * 60_000})
end
return math.ceil(slot - now)
`;

/** The departure log beside the slot key (same hash tag). */
const departedKey = (key: string): string => `${key}:departed`;

/**
 * Called when a caller's slot has come, just before it sends: checks the previous caller's
 * actual departure (not its slot) is at least `minGap` ago, and records this one. A caller that
 * left late (event-loop lag, a slow Redis reply) would otherwise squeeze the gap to the next
 * caller, who leaves on time, and a late call followed by on-time ones is exactly what fills a
 * sliding second. minGap keeps half the window margin (see RatePacer.minGapMs), so ordinary
 * sub-ms differences between callers cost nothing. Returns the ms still to wait (0 = go).
 */
const departScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local previous = tonumber(redis.call('GET', KEYS[1]) or '0')
local earliest = previous + tonumber(ARGV[1])
if now < earliest then return math.ceil(earliest - now) end
redis.call('SET', KEYS[1], string.format('%.3f', now), 'PX', 3600000)
return 0
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
  /**
   * The shortest gap allowed between two actual departures: with spacing = (1000 + m) / N, this
   * is (1000 + m/2) / N, so however late calls leave, N gaps still span 1000 + m/2 ms.
   */
  readonly minGapMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    readonly spacingMs: number,
  ) {
    this.minGapMs = (spacingMs * (1000 + windowMarginMs / 2)) / (1000 + windowMarginMs);
  }

  /**
   * Waits for this caller's slot, then until the previous call actually left one spacing ago
   * (see departScript); resolves with the milliseconds waited. The caller sends right after.
   */
  async acquire(): Promise<number> {
    let waitedMs = Number(
      await this.redis.eval(reserveScript, 2, this.key, callsKey(this.key), String(this.spacingMs)),
    );
    if (waitedMs > 0) await sleep(waitedMs);
    for (;;) {
      const moreMs = Number(
        await this.redis.eval(departScript, 1, departedKey(this.key), String(this.minGapMs)),
      );
      if (moreMs <= 0) return waitedMs;
      waitedMs += moreMs;
      await sleep(moreMs);
    }
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

/**
 * How much later than the bare limit the N-th previous call must arrive, in ms. HMRC refuses a
 * call when `perSecond` calls already arrived in the second before it (a sliding window, as the
 * sandbox models it), so what needs a margin is the span of `perSecond` consecutive gaps, not
 * each gap. Since departures are checked on Redis' clock (departScript), a caller's lateness no
 * longer eats into it; what remains is transit jitter (request leaving → HMRC's gateway).
 *
 * 50 ms is what the old rule (1000/N + 5% per gap) amounted to at every N. Benchmark 5 tried 30 ms
 * on a heavily loaded 2-core machine (sandbox in the same process): 9 × 429 in 1,000 calls, so
 * transit jitter there exceeds 30 ms and the margin stays at 50 (cap 95.2% of the allowed rate).
 */
export const windowMarginMs = 50;

/**
 * Spacing for `perSecond` calls: `perSecond` gaps span one second plus `windowMarginMs`, so a
 * sliding second never holds more. Fractional (the pacer's schedule keeps µs; BullMQ's limiter
 * floors it, which only makes jobs start a little earlier than the pacer hands out slots).
 */
export const spacingFor = (perSecond: number): number =>
  Math.ceil(((1000 + windowMarginMs) / perSecond) * 1000) / 1000;
