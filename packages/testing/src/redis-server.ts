import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

/** The settings production Redis runs with (infra/redis/redis.conf). */
export const durableRedisConfig = [
  'appendonly yes',
  'appendfsync everysec',
  'save ""',
  'maxmemory-policy noeviction',
];

/**
 * A redis-server of a test's own: a free loopback port, a temporary directory, and the
 * redis.conf lines the test asks for (persistence, eviction policy, `rename-command CONFIG ""`),
 * so faults and unusual settings never touch the shared Redis other test files use. `stop()`
 * ends it with SIGTERM (Redis fsyncs its AOF on the way out); `start()` brings it back on the
 * same port and directory.
 */
export class RedisServer {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly config: readonly string[],
    private readonly sentinel: boolean,
  ) {}

  /** `sentinel`: run as a Sentinel (the config then holds `sentinel monitor …` lines). */
  static async start(config: readonly string[], { sentinel = false } = {}): Promise<RedisServer> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ctc-redis-'));
    const server = new RedisServer(await freePort(), dir, config, sentinel);
    try {
      await server.start();
    } catch (error) {
      await server.destroy();
      throw error;
    }
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const file = path.join(this.dir, 'redis.conf');
    await writeFile(
      file,
      [
        `port ${this.port}`,
        'bind 127.0.0.1',
        `dir ${this.dir}`,
        `logfile ${path.join(this.dir, 'redis.log')}`,
        ...this.config,
        '',
      ].join('\n'),
    );
    const child = spawn('redis-server', this.sentinel ? [file, '--sentinel'] : [file], {
      stdio: 'ignore',
    });
    this.child = child;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited ${child.exitCode}`);
        const probe = new Redis(this.url, {
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
          lazyConnect: true,
        });
        probe.on('error', () => undefined);
        try {
          await probe.connect();
          // Loading an AOF answers -LOADING until done.
          return (await probe.ping()) === 'PONG';
        } finally {
          probe.disconnect();
        }
      },
      { timeoutMs: 15_000, intervalMs: 50, what: `redis-server on ${this.port}` },
    );
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }

  /** SIGKILL, as a machine or OOM kill would: nothing is flushed. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async destroy(): Promise<void> {
    await this.stop();
    // An AOF rewrite child may still write (or log) for a moment after its parent exited.
    await rm(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}
