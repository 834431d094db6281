// A real Redis Cluster of a test's own: six redis-server processes on free loopback ports
// (3 primaries, 3 replicas, `redis-cli --cluster create --cluster-replicas 1`), each configured as
// production's Redis is (AOF everysec, no RDB, noeviction), so the services' durability check
// passes on every node. Used by the fault suite to kill a primary under load.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { durableRedisConfig, RedisServer } from './redis-server.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

/** Redis Cluster's key slot (CRC16/XMODEM of the key, or of its hash tag, mod 16384). */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit += 1)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/**
 * Why this machine cannot run a Redis Cluster (no redis-server 7, or a redis-cli without
 * `--cluster`), or undefined when it can. Synchronous, so a test file can choose `it.skip`.
 */
export function redisClusterUnavailable(): string | undefined {
  try {
    const version = execFileSync('redis-server', ['--version'], { encoding: 'utf8' });
    const major = Number(/v=(\d+)/.exec(version)?.[1] ?? 0);
    if (major < 7) return `redis-server ${major} is too old (cluster-port needs Redis 7)`;
    // `redis-cli --cluster create` exists since Redis 5; `--cluster help` itself exits 1.
    const cli = execFileSync('redis-cli', ['--version'], { encoding: 'utf8' });
    const cliMajor = Number(/redis-cli (\d+)/.exec(cli)?.[1] ?? 0);
    if (cliMajor < 5) return `redis-cli ${cliMajor} has no --cluster create (needs Redis 5)`;
    return undefined;
  } catch (error) {
    return `redis-server or redis-cli --cluster is not usable here: ${(error as Error).message}`;
  }
}

export class RedisCluster {
  private constructor(readonly nodes: RedisServer[]) {}

  /**
   * `nodeTimeoutMs` is cluster-node-timeout: how long a primary must be unreachable before the
   * others mark it failed and its replica is elected (Redis' default is 15000).
   */
  static async start({ nodeTimeoutMs = 2000 } = {}): Promise<RedisCluster> {
    const nodes: RedisServer[] = [];
    const cluster = new RedisCluster(nodes);
    try {
      for (let index = 0; index < 6; index += 1)
        nodes.push(
          await RedisServer.start([
            ...durableRedisConfig,
            'cluster-enabled yes',
            'cluster-config-file nodes.conf',
            `cluster-node-timeout ${nodeTimeoutMs}`,
            // The bus port is port + 10000 by default, which may be taken or past 65535.
            `cluster-port ${await freePort()}`,
          ]),
        );
      await run(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...nodes.map((node) => `127.0.0.1:${node.port}`),
          '--cluster-replicas',
          '1',
          '--cluster-yes',
        ],
        { timeout: 60_000 },
      );
      await cluster.waitHealthy();
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  /** `host:port` of every node, for REDIS_CLUSTER_NODES. */
  get seeds(): string[] {
    return this.nodes.map((node) => `127.0.0.1:${node.port}`);
  }

  private async ask<T>(port: number, work: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = new Redis(port, '127.0.0.1', {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      return await work(redis);
    } finally {
      redis.disconnect();
    }
  }

  /** The port of the primary serving `slot`, as a live node `except` the given ports sees it. */
  async primaryOf(slot: number, except: number[] = []): Promise<number | undefined> {
    for (const node of this.nodes) {
      if (except.includes(node.port)) continue;
      try {
        const slots = await this.ask(node.port, (redis) => redis.cluster('SLOTS'));
        const range = slots.find(([from, to]) => slot >= from && slot <= to);
        return range?.[2]?.[1];
      } catch {
        // This node is down; ask another.
      }
    }
    return undefined;
  }

  /** Until every live node reports cluster_state:ok and all slots are served. */
  async waitHealthy(timeoutMs = 30_000, except: number[] = []): Promise<void> {
    await waitFor(
      async () => {
        for (const node of this.nodes) {
          if (except.includes(node.port)) continue;
          const info = await this.ask(node.port, (redis) => redis.cluster('INFO'));
          if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) return false;
          // Every slot range has a replica in sync (a replica shows in CLUSTER SLOTS once linked).
          const slots = (await this.ask(node.port, (redis) =>
            redis.cluster('SLOTS'),
          )) as unknown[][];
          if (slots.some((range) => range.length < 4)) return false;
          const replication = await this.ask(node.port, (redis) => redis.info('replication'));
          if (/role:slave/.test(replication) && !/master_link_status:up/.test(replication))
            return false;
        }
        return true;
      },
      { timeoutMs, intervalMs: 100, what: 'the Redis Cluster to be ok' },
    );
  }

  node(port: number): RedisServer {
    const found = this.nodes.find((node) => node.port === port);
    if (found === undefined) throw new Error(`no cluster node on ${port}`);
    return found;
  }

  /**
   * SIGKILL, then the directories: a primary stopped with SIGTERM waits up to Redis 7's
   * shutdown-timeout (10 s) for replicas that are going away too.
   */
  async destroy(): Promise<void> {
    await Promise.all(
      this.nodes.map((node) =>
        node
          .kill()
          .then(() => node.destroy())
          .catch(() => undefined),
      ),
    );
  }
}
