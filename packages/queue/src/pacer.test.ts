// Risk retired: the shared HMRC pacer handing out more calls than HMRC's sliding second allows
// (429s), or so few that submissions fall well short of the allowed rate.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RatePacer, spacingFor, windowMarginMs } from './pacer.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: 1,
});
const key = `{test-pacer-${randomUUID()}}:hmrc:pacer`;

afterAll(async () => {
  await redis.del(key, `${key}:calls`);
  redis.disconnect();
});

describe('spacingFor', () => {
  it('spans perSecond gaps over one second plus the window margin, never less', () => {
    for (const perSecond of [1, 3, 7, 30, 50, 100]) {
      const spacing = spacingFor(perSecond);
      expect(spacing * perSecond).toBeGreaterThanOrEqual(1000 + windowMarginMs);
      // Within a µs per gap of it: no rounding to whole ms (33.3 → 36 ms cost 7% at 30/s).
      expect(spacing * perSecond).toBeLessThan(1000 + windowMarginMs + perSecond * 0.001 + 1e-9);
    }
  });

  it('lets through at least 95% of HMRC 3/s, and no longer loses to rounding at 30/s', () => {
    expect(1000 / spacingFor(3) / 3).toBeGreaterThan(0.952);
    // Was ceil(33.3 × 1.05) = 36 ms: 92.6%.
    expect(1000 / spacingFor(30) / 30).toBeGreaterThan(0.952);
  });
});

describe('RatePacer', () => {
  it('never lets a sliding second hold more than perSecond calls, however many callers', async () => {
    const perSecond = 20;
    const pacer = new RatePacer(redis, key, spacingFor(perSecond));
    const started: number[] = [];
    // 3 "replicas" × 10 callers racing for 45 slots.
    await Promise.all(
      Array.from({ length: 30 }, async (_, caller) => {
        for (let call = 0; call < (caller < 15 ? 2 : 1); call += 1) {
          await pacer.acquire();
          started.push(performance.now());
        }
      }),
    );
    started.sort((a, b) => a - b);
    expect(started).toHaveLength(45);
    // Departures are checked on Redis' clock (≥ 1000 + margin/2 per window, however late a
    // caller's timer fired); what this process sees adds only the reply's own latency.
    for (let index = perSecond; index < started.length; index += 1)
      expect(started[index]! - started[index - perSecond]!).toBeGreaterThanOrEqual(1000);
    // And the schedule stays nearly full (generous: timers on a loaded CI machine fire late).
    expect(started.at(-1)! - started[0]!).toBeLessThan(44 * spacingFor(perSecond) * 1.25);
  });

  it('counts the calls it hands out per minute', async () => {
    const calls = await new RatePacer(redis, key, spacingFor(20)).callsPerMinute(2);
    expect(calls.reduce((sum, entry) => sum + entry.calls, 0)).toBe(45);
  });
});
