import { RateLimiter } from './auth.js';

describe('RateLimiter (3 requests per sliding second, counted on arrival)', () => {
  it('refuses the fourth call inside one second and admits it once the second has passed', () => {
    const limiter = new RateLimiter(() => 3);
    expect([0, 100, 200, 300].map((at) => limiter.take('app', at))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(limiter.take('app', 1001)).toBe(true);
  });

  it('counts a call held by injected latency in the second it arrived, not the one it left', () => {
    const limiter = new RateLimiter(() => 3);
    // Three calls arrive and pass while an earlier call (arrived at 0) is still held.
    expect([1100, 1200, 1300].map((at) => limiter.take('app', at))).toEqual([true, true, true]);
    // Its arrival second (-1000, 0] held nothing else: HMRC's gateway would have let it through.
    expect(limiter.take('app', 0)).toBe(true);
    // The window after 1300 is still full.
    expect(limiter.take('app', 1350)).toBe(false);
  });

  it('keeps applications apart', () => {
    const limiter = new RateLimiter(() => 1);
    expect(limiter.take('a', 0)).toBe(true);
    expect(limiter.take('b', 0)).toBe(true);
    expect(limiter.take('a', 10)).toBe(false);
  });
});
