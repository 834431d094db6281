import { Redis, type RedisOptions } from 'ioredis';

export type RedisRole = 'producer' | 'worker' | 'client';

/**
 * Redis connections with the settings BullMQ expects for each role:
 *  - producer (receiver, api): no offline queue and one retry per command, so an outage makes
 *    `queue.add` fail within the receiver's deadline instead of buffering in memory while the
 *    caller is told "200, queued";
 *  - worker: `maxRetriesPerRequest: null` as BullMQ requires for blocking commands; it reconnects
 *    forever and resumes;
 *  - client: ordinary commands (readiness checks, metrics).
 */
export function createRedis(url: string, role: RedisRole, extra: RedisOptions = {}): Redis {
  const base: RedisOptions = {
    connectionName: `ctc-hub-${role}`,
    // Reconnect with a capped backoff; never give up (the process stays up, /readyz reports it).
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
  };
  const byRole: Record<RedisRole, RedisOptions> = {
    producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1 },
    worker: { maxRetriesPerRequest: null, enableReadyCheck: false },
    client: { enableOfflineQueue: false, maxRetriesPerRequest: 1 },
  };
  const redis = new Redis(url, { ...base, ...byRole[role], ...extra });
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash.
  redis.on('error', () => undefined);
  return redis;
}

/** Resolves once the connection is ready, or rejects after `timeoutMs`. */
export async function waitForRedis(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}
