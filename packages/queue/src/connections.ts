import { redactUrl, StartupError } from '@ctc-hub/config';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * A connection to the hub's Redis: one server (directly or through Sentinel), or a Redis
 * Cluster when REDIS_CLUSTER_NODES is set. Both run the same commands and Lua scripts; on a
 * Cluster every key of one command or script must hash to one slot (QUEUE_PREFIX `{ctc}`).
 */
export type RedisConnection = Redis | Cluster;

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
/** Where Redis is: a URL, or the REDIS_* settings (with Sentinels when REDIS_SENTINELS is set). */
export type RedisTarget =
  | string
  | {
      REDIS_URL: string;
      REDIS_SENTINELS?: readonly string[];
      REDIS_SENTINEL_NAME?: string;
      REDIS_CLUSTER_NODES?: readonly string[];
    };

const hostPort = (entry: string) => {
  const at = entry.lastIndexOf(':');
  return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) };
};

/** The cluster's seed nodes, or none when the target is one server (or Sentinel). */
export function clusterNodesOf(target: RedisTarget): { host: string; port: number }[] {
  if (typeof target === 'string') return [];
  const nodes = target.REDIS_CLUSTER_NODES ?? [];
  if (nodes.length > 0 && (target.REDIS_SENTINELS ?? []).length > 0)
    throw new StartupError(
      'REDIS_CLUSTER_NODES and REDIS_SENTINELS are both set: a Redis Cluster fails over by itself, set only REDIS_CLUSTER_NODES',
    );
  return nodes.map(hostPort);
}

/** Credentials and TLS from REDIS_URL, for each node of a Cluster (its host is not used). */
function clusterNodeOptions(redisUrl: string): RedisOptions {
  const url = new URL(redisUrl);
  return {
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * ioredis options for a target. With Sentinels, ioredis asks them for the primary of the named
 * set and follows failovers; credentials, database and TLS still come from REDIS_URL.
 */
export function redisTargetOptions(target: RedisTarget): { url?: string; options: RedisOptions } {
  if (typeof target === 'string') return { url: target, options: {} };
  const sentinels = target.REDIS_SENTINELS ?? [];
  if (sentinels.length === 0) return { url: target.REDIS_URL, options: {} };
  const url = new URL(target.REDIS_URL);
  const db = Number(url.pathname.replace(/^\//, '') || '0');
  return {
    options: {
      sentinels: sentinels.map(hostPort),
      name: target.REDIS_SENTINEL_NAME ?? 'ctc',
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      ...(Number.isInteger(db) && db > 0 ? { db } : {}),
      ...(url.protocol === 'rediss:' ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    },
  };
}

export function createRedis(target: string, role: RedisRole, extra?: RedisOptions): Redis;
export function createRedis(
  target: RedisTarget,
  role: RedisRole,
  extra?: RedisOptions,
): RedisConnection;
export function createRedis(
  target: RedisTarget,
  role: RedisRole,
  extra: RedisOptions = {},
): RedisConnection {
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
  const nodes = clusterNodesOf(target);
  if (nodes.length > 0) {
    const redisUrl = typeof target === 'string' ? target : target.REDIS_URL;
    // A lost node is not reconnected by itself: the Cluster refreshes its slots and finds the
    // promoted replica (ioredis' default), so the single-server retryStrategy is left out.
    const { retryStrategy: _single, lazyConnect: _lazy, ...common } = base;
    const nodeOptions = { ...common, ...clusterNodeOptions(redisUrl), ...byRole[role], ...extra };
    const clusterOptions: ClusterOptions = {
      redisOptions: nodeOptions,
      // The cluster as a whole reconnects like a single server does.
      clusterRetryStrategy: (times) => Math.min(times * 200, 2000),
      // While a primary is down and its replica not yet promoted, commands for its slots fail
      // with CLUSTERDOWN or a refused connection: try again every 200 ms (within the role's
      // retries) while the slots are refreshed, instead of failing the caller at once.
      retryDelayOnClusterDown: 200,
      retryDelayOnFailover: 200,
      retryDelayOnTryAgain: 200,
      // Notice a promotion within a second even when no command failed on the old primary.
      slotsRefreshInterval: 1000,
      enableOfflineQueue: nodeOptions.enableOfflineQueue ?? true,
      enableReadyCheck: nodeOptions.enableReadyCheck ?? true,
      ...(nodeOptions.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    };
    const cluster = new Cluster(nodes, clusterOptions);
    cluster.on('error', () => undefined);
    return cluster;
  }
  const { url, options } = redisTargetOptions(target);
  const settings = { ...base, ...options, ...byRole[role], ...extra };
  const redis = url === undefined ? new Redis(settings) : new Redis(url, settings);
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash.
  redis.on('error', () => undefined);
  return redis;
}

/** Resolves once the connection is ready, or rejects after `timeoutMs`. */
export async function waitForRedis(redis: RedisConnection, timeoutMs = 10_000): Promise<void> {
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

/** The REDIS_* settings that say where Redis is and how long start-up waits for it. */
export interface RedisStartupSettings {
  REDIS_URL: string;
  REDIS_SENTINELS: readonly string[];
  REDIS_SENTINEL_NAME: string;
  /** Empty or absent: one server (or Sentinel). */
  REDIS_CLUSTER_NODES?: readonly string[];
  REDIS_STARTUP_TIMEOUT_SECONDS: number;
}

/** Where the settings point, in words a person can act on; passwords redacted. */
export function describeRedisTarget(settings: RedisStartupSettings): string {
  const nodes = settings.REDIS_CLUSTER_NODES ?? [];
  if (nodes.length > 0)
    return `the Redis Cluster of ${nodes.join(',')} (REDIS_CLUSTER_NODES), credentials from ${redactUrl(settings.REDIS_URL)} (REDIS_URL)`;
  return settings.REDIS_SENTINELS.length > 0
    ? `the primary "${settings.REDIS_SENTINEL_NAME}" (REDIS_SENTINEL_NAME) from the Sentinels ${settings.REDIS_SENTINELS.join(',')} (REDIS_SENTINELS), credentials from ${redactUrl(settings.REDIS_URL)} (REDIS_URL)`
    : `${redactUrl(settings.REDIS_URL)} (REDIS_URL)`;
}

/**
 * A connection for start-up: ready within REDIS_STARTUP_TIMEOUT_SECONDS, or a StartupError naming
 * the setting and the last connection error. Without the bound a wrong REDIS_URL left a process
 * up, logging ECONNREFUSED forever; exiting instead lets a person (or an orchestrator) see it.
 * Once ready, the connection reconnects forever like any other.
 */
export async function connectAtStartup(
  settings: RedisStartupSettings,
  role: RedisRole = 'client',
): Promise<RedisConnection> {
  const redis = createRedis(
    {
      REDIS_URL: settings.REDIS_URL,
      REDIS_SENTINELS: settings.REDIS_SENTINELS,
      REDIS_SENTINEL_NAME: settings.REDIS_SENTINEL_NAME,
      REDIS_CLUSTER_NODES: settings.REDIS_CLUSTER_NODES ?? [],
    },
    role,
  );
  let lastError: Error | undefined;
  const remember = (error: Error) => (lastError = error);
  redis.on('error', remember);
  try {
    await waitForRedis(redis, settings.REDIS_STARTUP_TIMEOUT_SECONDS * 1000);
    return redis;
  } catch {
    redis.disconnect();
    throw new StartupError(
      `Redis did not answer within ${settings.REDIS_STARTUP_TIMEOUT_SECONDS} s at ${describeRedisTarget(settings)}: ${
        lastError?.message ?? 'no connection'
      }. Start Redis or correct the setting (REDIS_STARTUP_TIMEOUT_SECONDS waits longer).`,
    );
  } finally {
    redis.off('error', remember);
  }
}
