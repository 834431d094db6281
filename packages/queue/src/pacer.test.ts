// Risk retired: the shared HMRC pacer handing out more calls than HMRC's sliding second allows
// (429s), or so few that submissions fall well short of the allowed rate.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { RatePacer, spacingFor, windowMarginMs } from './pacer.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: 1,
});
const suffix = randomUUID();
const key = `{test-pacer-${suffix}}:hmrc:pacer`;
const otherKey = (name: string) => `{test-pacer-${suffix}}:${name}`;

afterAll(async () => {
  await redis.del(key, `${key}:calls`, `${key}:departed`, `${key}:hold`);
  const others = await redis.keys(`{test-pacer-${suffix}}*`);
  if (others.length > 0) await redis.del(...others);
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
          const departure = await pacer.acquire();
          started.push(performance.now());
          await departure.sent();
        }
      }),
    );
    started.sort((a, b) => a - b);
    expect(started).toHaveLength(45);
    // Departures are checked on Redis' clock (≥ 1000 + margin/2 per window, however late a
    // caller's timer fired); what this process sees adds only the reply's own latency.
    for (let index = perSecond; index < started.length; index += 1)
      expect(started[index]! - started[index - perSecond]!).toBeGreaterThanOrEqual(1000);
    // And the pacer does not waste the budget: the 45 calls span about 44 slots. Generous (2×),
    // since every caller's timer fires late on a loaded machine (1.25× failed at load 10+); a
    // pacer that lost a slot per call, or waited a window per call, is far beyond it.
    expect(started.at(-1)! - started[0]!).toBeLessThan(44 * spacingFor(perSecond) * 2);
  });

  it('counts the calls it hands out per minute', async () => {
    const calls = await new RatePacer(redis, key, spacingFor(20)).callsPerMinute(2);
    expect(calls.reduce((sum, entry) => sum + entry.calls, 0)).toBe(45);
  });
});

describe('RatePacer holds', () => {
  it('keeps the next caller waiting until the cleared one has actually left, then a full gap', async () => {
    const pacer = new RatePacer(redis, otherKey('hold'), { spacingMs: 50, minGapMs: 100 });
    const first = await pacer.acquire();
    let secondCleared: number | undefined;
    const second = pacer.acquire().then((departure) => {
      secondCleared = performance.now();
      return departure;
    });
    // The first caller is late (a busy event loop, a slow connect): nobody else may go.
    await sleep(300);
    expect(secondCleared).toBeUndefined();
    const firstLeft = performance.now();
    await first.sent();
    await (await second).sent();
    // Measured from the real departure, not from the first clearance.
    expect(secondCleared! - firstLeft).toBeGreaterThanOrEqual(95);
  });

  it('records no departure for a cleared call that never left, and releases the next caller', async () => {
    const pacer = new RatePacer(redis, otherKey('not-sent'), { spacingMs: 10, minGapMs: 10 });
    await (await pacer.acquire()).sent();
    const departedBefore = await redis.get(`${otherKey('not-sent')}:departed`);
    const unsent = await pacer.acquire();
    let nextCleared = false;
    const waiting = pacer.acquire().then((departure) => {
      nextCleared = true;
      return departure;
    });
    await sleep(100);
    expect(nextCleared).toBe(false);
    await unsent.notSent();
    expect(await redis.get(`${otherKey('not-sent')}:departed`)).toBe(departedBefore);
    await (await waiting).sent();
  });

  it('lets a hold lapse, and says so in validUntil, when the holder disappears', async () => {
    const pacer = new RatePacer(redis, otherKey('lapse'), {
      spacingMs: 10,
      minGapMs: 10,
      holdMs: 400,
    });
    const abandoned = await pacer.acquire();
    expect(abandoned.validUntil).toBeLessThanOrEqual(performance.now() + 400 - 250);
    const started = performance.now();
    const next = await pacer.acquire();
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    await next.sent();
  });
});

describe('RatePacer.readyIn', () => {
  it('tells how long until a call could leave, without booking one', async () => {
    const pacer = new RatePacer(redis, otherKey('ready'), { spacingMs: 2000, minGapMs: 2000 });
    expect(await pacer.readyIn()).toBe(0);
    await (await pacer.acquire()).sent();
    const first = await pacer.readyIn();
    expect(first).toBeGreaterThan(1000);
    expect(first).toBeLessThanOrEqual(2000);
    // Looking again books nothing: the wait only shrinks.
    expect(await pacer.readyIn()).toBeLessThanOrEqual(first);
  });
});

describe('RatePacer callers that give way', () => {
  /**
   * Eight callers of the worker's concurrency are after slots when a declaration asks for one:
   * where does it leave among them? Order of departures only (no timing).
   */
  async function placeOfLateCaller(giveWay: boolean): Promise<number> {
    const pacer = new RatePacer(redis, otherKey(`give-way-${giveWay}`), spacingFor(20));
    const order: string[] = [];
    const call = async (name: string, options = {}) => {
      const departure = await pacer.acquire(options);
      order.push(name);
      await departure.sent();
    };
    const background = Array.from({ length: 8 }, (_, index) =>
      call(`recovery-${index}`, giveWay ? { maxAheadMs: pacer.spacingMs } : {}),
    );
    // The declaration asks once the first recovery call has left (the others are booked, or
    // waiting to book when they give way).
    while (order.length === 0) await sleep(1);
    await Promise.all([...background, call('declaration')]);
    return order.indexOf('declaration');
  }

  it('lets a later caller that does not give way leave before most of eight that asked first', async () => {
    expect(await placeOfLateCaller(true)).toBeLessThanOrEqual(3);
  });

  it('lets declarations go first when departures fall behind the schedule', async () => {
    // Every recovery call leaves 40 ms after its clearance (a loaded event loop), so departures
    // fall behind the slots and every caller whose slot has passed asks at once.
    const pacer = new RatePacer(redis, otherKey('give-way-lag'), spacingFor(20));
    const order: string[] = [];
    let stop = false;
    const recovery = Array.from({ length: 8 }, async (_, index) => {
      while (!stop) {
        const departure = await pacer.acquire({ maxAheadMs: pacer.spacingMs });
        await sleep(40);
        order.push(`recovery-${index}`);
        await departure.sent();
      }
    });
    const passedOver: number[] = [];
    for (let declaration = 0; declaration < 10; declaration += 1) {
      await sleep(70);
      const askedAt = order.length;
      const departure = await pacer.acquire();
      order.push(`declaration-${declaration}`);
      await departure.sent();
      passedOver.push(order.length - 1 - askedAt);
    }
    stop = true;
    await Promise.all(recovery);
    // Behind the call that held clearance and at most one more, every time.
    expect(Math.max(...passedOver)).toBeLessThanOrEqual(2);
  });

  it('(control) without giving way, the later caller leaves after every booked one', async () => {
    expect(await placeOfLateCaller(false)).toBe(8);
  });
});
