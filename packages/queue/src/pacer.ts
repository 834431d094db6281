import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisConnection } from './connections.js';

/**
 * Calls are also counted per minute of their slot (a Redis hash beside the slot key, pruned to
 * this many minutes), so operators can see budget use without another metric pipeline: the api's
 * /ops page reads them with callsPerMinute().
 */
const callCountMinutes = 120;
/** Same hash tag as the slot key (a `{prefix}` stays in front), so all keys live in one slot. */
const callsKey = (key: string): string => `${key}:calls`;
/** The last actual departure, on Redis' clock. */
const departedKey = (key: string): string => `${key}:departed`;
/** The caller cleared to leave and not yet gone (its token, with an expiry). */
const holdKey = (key: string): string => `${key}:hold`;

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

/**
 * The same reservation for a caller that gives way (recovery, reconciliation): it books only a
 * slot at most ARGV[2] ms ahead of now, so it never queues far into the schedule in front of a
 * caller that does not give way (a declaration). Returns the wait (≥ 0, booked) or, unbooked,
 * minus one plus how long until a slot that near could be had.
 */
const reserveWithinScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, last + tonumber(ARGV[1]))
local ahead = slot - now
if ahead > tonumber(ARGV[2]) then return -1 - math.ceil(ahead - tonumber(ARGV[2])) end
redis.call('SET', KEYS[1], string.format('%.3f', slot), 'PX', 3600000)
local minute = math.floor(slot / 60000)
if redis.call('HINCRBY', KEYS[2], minute, 1) == 1 then
  for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
    if tonumber(field) < minute - ${callCountMinutes} then redis.call('HDEL', KEYS[2], field) end
  end
  redis.call('PEXPIRE', KEYS[2], ${callCountMinutes * 60_000})
end
return math.ceil(ahead)
`;

/**
 * Slots order callers only while departures keep up with the schedule. When they fall behind (a
 * departure is recorded when the request has left, a little after its slot, so under load every
 * caller whose slot has passed is at the departure check at once), whoever asks first after the
 * previous departure goes: a declaration among eight recovery calls could lose for seconds
 * (benchmark 9: budget waits of 2.5–30 s). So a caller that does not give way says it is waiting
 * (this key, renewed on each look, gone a moment after its caller is) and callers that give way
 * let it go first.
 */
const firstWaitingKey = (key: string): string => `${key}:first`;
const firstWaitingTtlMs = 1000;
const holdPollMsLiteral = 5;

/**
 * Called when a caller's slot has come: it may leave only when nobody else is cleared and not yet
 * gone (the hold), and the previous caller's actual departure is at least `minGap` ago. Then it
 * takes the hold itself. The schedule alone is not enough: a caller released on time can still
 * leave late (a busy event loop ingesting a pulled batch, a new TLS connection), and the next
 * caller, on time, would then follow it closer than the limit allows; HMRC counts arrivals.
 * Returns 0 (go, hold taken), a positive wait for the gap, or minus the hold's remaining ms.
 */
const departScript = `
if ARGV[4] == 'gives-way' then
  if redis.call('EXISTS', KEYS[3]) == 1 then return -${holdPollMsLiteral} end
else
  redis.call('SET', KEYS[3], ARGV[2], 'PX', ${firstWaitingTtlMs})
end
local held = redis.call('PTTL', KEYS[2])
if held > 0 then return -held end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local previous = tonumber(redis.call('GET', KEYS[1]) or '0')
local earliest = previous + tonumber(ARGV[1])
if now < earliest then return math.ceil(earliest - now) end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
if ARGV[4] ~= 'gives-way' and redis.call('GET', KEYS[3]) == ARGV[2] then redis.call('DEL', KEYS[3]) end
return 0
`;

/**
 * The holder's request has left (its first bytes are on the socket): its departure is recorded
 * (Redis' clock when this runs, a little after the bytes left, which only lengthens the next
 * gap) and the hold is released. A departure is never moved back.
 */
const sentScript = `
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local previous = tonumber(redis.call('GET', KEYS[1]) or '0')
if now > previous then redis.call('SET', KEYS[1], string.format('%.3f', now), 'PX', 3600000) end
return 0
`;

/** The holder's request will not leave (refused, connection failed): release without a departure. */
const notSentScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

/** A look without booking: how long until a caller booking now could leave. */
const readyInScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
local held = math.max(0, redis.call('PTTL', KEYS[3]))
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
return math.ceil(math.max(held, previous + tonumber(ARGV[1]) - now, slot + tonumber(ARGV[2]) - now))
`;

const pauseScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local until_ = now + tonumber(ARGV[1])
if until_ > last then redis.call('SET', KEYS[1], until_, 'PX', 3600000) end
return 0
`;

/** How often a caller waiting behind a hold looks again; holds normally last a few ms. */
const holdPollMs = holdPollMsLiteral;
/**
 * A ticket counts as valid this much less than its hold lasts in Redis, so the request never
 * leaves after another caller could have taken over (clock rates differ by far less).
 */
const holdSafetyMs = 250;

/**
 * Clearance to leave, held until the request has actually left. Call exactly one of `sent`
 * (first bytes written) or `notSent`; if neither comes, the hold lapses after `holdMs` and the
 * request must not leave any more (`validUntil`).
 */
export interface Departure {
  /** Milliseconds waited for the slot, the gap and other callers' holds. */
  waitedMs: number;
  /** performance.now() after which the hold may have lapsed: the request must not leave then. */
  validUntil: number;
  sent(): Promise<void>;
  notSent(): Promise<void>;
}

export interface AcquireOptions {
  /**
   * Give way: book only a slot at most this far ahead of now (waiting, unbooked, until one is),
   * so callers that do not give way are never queued behind more than this much of the schedule,
   * and at the departure let any such caller that is waiting go first. Unset: book the next free
   * slot however far ahead, and go first.
   */
  maxAheadMs?: number;
}

export interface RatePacerOptions {
  /** Time between slots of the schedule. */
  spacingMs: number;
  /**
   * Shortest gap between two actual departures. Default: for spacing = (1000 + m) / N,
   * (1000 + m/2) / N, so however late calls leave, N gaps still span 1000 + m/2 ms.
   */
  minGapMs?: number;
  /** Longest a caller may hold the others back between clearance and leaving. */
  holdMs?: number;
}

export class RatePacer {
  readonly spacingMs: number;
  readonly minGapMs: number;
  readonly holdMs: number;

  constructor(
    private readonly redis: RedisConnection,
    private readonly key: string,
    options: number | RatePacerOptions,
  ) {
    const { spacingMs, minGapMs, holdMs } =
      typeof options === 'number' ? { spacingMs: options } : options;
    this.spacingMs = spacingMs;
    this.minGapMs = minGapMs ?? (spacingMs * (1000 + windowMarginMs / 2)) / (1000 + windowMarginMs);
    this.holdMs = holdMs ?? 5000;
  }

  /**
   * Waits for this caller's slot, then until nobody else holds clearance and the previous
   * departure is `minGapMs` ago, and takes the hold. The caller sends, and reports when the
   * request actually left (`sent`) or that it never will (`notSent`); until then every other
   * caller of this pacer, on any replica, waits.
   */
  async acquire(options: AcquireOptions = {}): Promise<Departure> {
    const started = performance.now();
    const waitMs =
      options.maxAheadMs === undefined
        ? Number(
            await this.redis.eval(
              reserveScript,
              2,
              this.key,
              callsKey(this.key),
              String(this.spacingMs),
            ),
          )
        : await this.reserveWithin(options.maxAheadMs);
    if (waitMs > 0) await sleep(waitMs);
    const token = randomUUID();
    for (;;) {
      // Measured before the command is sent: the hold starts later than this, never earlier.
      const asked = performance.now();
      const answer = Number(
        await this.redis.eval(
          departScript,
          3,
          departedKey(this.key),
          holdKey(this.key),
          firstWaitingKey(this.key),
          String(this.minGapMs),
          token,
          String(this.holdMs),
          options.maxAheadMs === undefined ? 'first' : 'gives-way',
        ),
      );
      if (answer === 0) {
        return {
          waitedMs: performance.now() - started,
          validUntil: asked + this.holdMs - holdSafetyMs,
          sent: async () => {
            await this.redis.eval(sentScript, 2, departedKey(this.key), holdKey(this.key), token);
          },
          notSent: async () => {
            await this.redis.eval(notSentScript, 1, holdKey(this.key), token);
          },
        };
      }
      await sleep(answer > 0 ? answer : Math.min(-answer, holdPollMs));
    }
  }

  /** Books a slot no further than `maxAheadMs` ahead, waiting until one is that near. */
  private async reserveWithin(maxAheadMs: number): Promise<number> {
    for (;;) {
      const answer = Number(
        await this.redis.eval(
          reserveWithinScript,
          2,
          this.key,
          callsKey(this.key),
          String(this.spacingMs),
          String(maxAheadMs),
        ),
      );
      if (answer >= 0) return answer;
      await sleep(-answer - 1);
    }
  }

  /**
   * For work that leaves the moment it is cleared (nothing can delay it in between): waits as
   * `acquire` does and records the departure at once. Resolves with the milliseconds waited.
   */
  async pace(): Promise<number> {
    const departure = await this.acquire();
    await departure.sent();
    return departure.waitedMs;
  }

  /**
   * Milliseconds until a call booked now could leave, as far as Redis knows (not counting a
   * holder's own departure, which only adds the gap). Books nothing.
   */
  async readyIn(): Promise<number> {
    const wait = await this.redis.eval(
      readyInScript,
      3,
      this.key,
      departedKey(this.key),
      holdKey(this.key),
      String(this.minGapMs),
      String(this.spacingMs),
    );
    return Math.max(0, Number(wait));
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
 * each gap. Departures are measured when the request's bytes actually leave (RatePacer.acquire
 * holds the others until then), so a caller's lateness no longer eats into it; what remains is
 * transit jitter (request leaving → HMRC's gateway).
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
