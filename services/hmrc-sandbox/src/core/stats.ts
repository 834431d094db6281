/**
 * Counters behind GET /_sandbox/stats and `controls.stats()`: what the sandbox did to its
 * clients, so tests and benchmarks can assert on it (e.g. "no 429 was served").
 */
export interface StatsSnapshot {
  /** API calls by "METHOD /route/pattern", then by HTTP status. */
  api: Record<string, Record<string, number>>;
  /** 429s served: by the per-application rate limit, by fault injection, by the balance lock. */
  throttled: { total: number; rateLimit: number; fault: number; balanceLock: number };
  /**
   * Per application (client id): rate-limited API calls let through (`calls`) and refused with
   * 429 by the rate limit (`throttled`). Calls refused before the limit (401) are not counted.
   */
  applications: Record<string, { calls: number; throttled: number }>;
  pushes: {
    /** Notifications created in the box. */
    notifications: number;
    attempts: number;
    delivered: number;
    failedAttempts: number;
    /** Notifications that reached FAILED after the retry window. */
    notificationsFailed: number;
    dropped: number;
    lost: number;
    duplicated: number;
    reordered: number;
  };
  faults: {
    latency: number;
    errors: number;
    resets: number;
    slowBodies: number;
    acceptThenReset: number;
    acceptThenTimeout: number;
  };
}

/**
 * One API call as the gateway saw it arrive (before the rate limit decided), so tests and the
 * benchmarks can measure what HMRC would count: calls per sliding second, gaps between GETs of a
 * PPNS box. `at` is wall-clock ms with sub-ms precision.
 */
export interface Arrival {
  at: number;
  clientId: string;
  method: string;
  path: string;
  /** False when the rate limit answered 429. */
  allowed: boolean;
}

/** Arrivals kept (oldest dropped first): a benchmark's worth of calls at 3/s and more. */
const maxArrivals = 200_000;

/** The most timestamps inside any window of `windowMs` (half-open: [t, t + windowMs)). */
export function maxInWindow(times: readonly number[], windowMs = 1000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last += 1) {
    while (sorted[last]! - sorted[first]! >= windowMs) first += 1;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

const emptyStats = (): StatsSnapshot => ({
  api: {},
  throttled: { total: 0, rateLimit: 0, fault: 0, balanceLock: 0 },
  applications: {},
  pushes: {
    notifications: 0,
    attempts: 0,
    delivered: 0,
    failedAttempts: 0,
    notificationsFailed: 0,
    dropped: 0,
    lost: 0,
    duplicated: 0,
    reordered: 0,
  },
  faults: {
    latency: 0,
    errors: 0,
    resets: 0,
    slowBodies: 0,
    acceptThenReset: 0,
    acceptThenTimeout: 0,
  },
});

export class SandboxStats {
  private state = emptyStats();
  private arrivalLog: Arrival[] = [];

  /** Recorded by the API gateway stand-in (auth.ts) for every call that reached the rate limit. */
  arrival(entry: Arrival): void {
    this.arrivalLog.push(entry);
    if (this.arrivalLog.length > maxArrivals) this.arrivalLog.splice(0, maxArrivals / 10);
  }

  arrivals(): Arrival[] {
    return this.arrivalLog.map((entry) => ({ ...entry }));
  }

  recordApiCall(endpoint: string, status: number): void {
    const byStatus = (this.state.api[endpoint] ??= {});
    byStatus[status] = (byStatus[status] ?? 0) + 1;
  }

  throttle(reason: 'rateLimit' | 'fault' | 'balanceLock'): void {
    this.state.throttled[reason] += 1;
    this.state.throttled.total += 1;
  }

  /** A call that reached the application's rate limit: let through, or refused (429). */
  applicationCall(clientId: string, allowed: boolean): void {
    const counts = (this.state.applications[clientId] ??= { calls: 0, throttled: 0 });
    if (allowed) counts.calls += 1;
    else counts.throttled += 1;
  }

  push(counter: keyof StatsSnapshot['pushes']): void {
    this.state.pushes[counter] += 1;
  }

  fault(counter: keyof StatsSnapshot['faults']): void {
    this.state.faults[counter] += 1;
  }

  snapshot(): StatsSnapshot {
    return structuredClone(this.state);
  }

  reset(): void {
    this.state = emptyStats();
    this.arrivalLog = [];
  }
}
