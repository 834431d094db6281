// Servers of our own for the fault suite: a Redis with AOF we may restart, and a PostgreSQL
// cluster we may stop, so no fault ever touches the shared servers other test files use.
import { execFile } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  createTemplateDatabase,
  databaseUrl,
  durableRedisConfig,
  freePort,
  RedisServer,
} from '@ctc-hub/testing';

const run = promisify(execFile);

/**
 * redis-server on a free loopback port configured as production is (AOF, `appendfsync
 * everysec`, no RDB snapshots, noeviction). `restart()` stops it with SIGTERM (Redis fsyncs the
 * AOF on shutdown) and starts it again on the same port and directory.
 */
export type OwnRedis = RedisServer;
export const startOwnRedis = (): Promise<OwnRedis> => RedisServer.start(durableRedisConfig);

const pgBin = '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL 15 cluster of our own (initdb in a temporary directory, loopback only), so the
 * suite can really stop the database. initdb refuses to run as root: as root the commands run as
 * the `postgres` user through runuser.
 */
export class OwnPostgres {
  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  private static command(binary: string, args: string[]): [string, string[]] {
    const full = path.join(pgBin, binary);
    return process.getuid?.() === 0
      ? ['runuser', ['-u', 'postgres', '--', full, ...args]]
      : [full, args];
  }

  private async pgCtl(args: string[]): Promise<void> {
    const [file, argv] = OwnPostgres.command('pg_ctl', [
      '-D',
      path.join(this.dir, 'data'),
      ...args,
    ]);
    await run(file, argv, { timeout: 60_000 });
  }

  static async create(): Promise<OwnPostgres> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ctc-faults-pg-'));
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      await chown(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    const pg = new OwnPostgres(await freePort(), dir);
    const [file, argv] = OwnPostgres.command('initdb', [
      '-D',
      path.join(dir, 'data'),
      '-A',
      'trust',
      '-U',
      'postgres',
      '--no-sync',
      '--no-instructions',
    ]);
    await run(file, argv, { timeout: 60_000 });
    await pg.start();
    return pg;
  }

  /** Server-level URL (the path names the `postgres` database). */
  get serverUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async start(): Promise<void> {
    await this.pgCtl([
      '-o',
      [
        `-p ${this.port}`,
        `-k ${this.dir}`,
        '-c listen_addresses=127.0.0.1',
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=100',
        '-c shared_buffers=32MB',
      ].join(' '),
      '-l',
      path.join(this.dir, 'server.log'),
      '-w',
      '-t',
      '60',
      'start',
    ]);
  }

  /** Fast shutdown: sessions are terminated (57P01), new connections refused. */
  async stop(): Promise<void> {
    await this.pgCtl(['-m', 'fast', '-w', '-t', '60', 'stop']);
  }

  /** Creates and migrates a database on this cluster; returns its URL. */
  async createDatabase(): Promise<string> {
    const name = await createTemplateDatabase(this.serverUrl);
    return databaseUrl(this.serverUrl, name);
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
