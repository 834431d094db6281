// The hub's services as separate child processes (`node --import tsx services/<svc>/src/main.ts`),
// configured through the environment exactly as in production, with their exits and memory
// watched so a checker can tell a crash from a process we killed on purpose.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Env } from '@ctc-hub/config';
import { repoRoot, waitFor } from '@ctc-hub/testing';

export type ServiceKind = 'receiver' | 'worker' | 'api';

const portVariable: Record<ServiceKind, string> = {
  receiver: 'RECEIVER_PORT',
  worker: 'WORKER_PORT',
  api: 'API_PORT',
};

export interface ExitRecord {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** We sent a signal to this process and were waiting for it to end. */
  expected: boolean;
  /** What we sent, if anything. */
  sent: NodeJS.Signals | undefined;
  at: number;
}

/** Resident set size of a process in bytes (Linux /proc), undefined once it is gone. */
async function rssOf(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export class ServiceProcess {
  private child: ChildProcess | undefined;
  private sent: NodeJS.Signals | undefined;
  private log: WriteStream;
  readonly exits: ExitRecord[] = [];
  /** RSS samples in bytes, across every incarnation of this service. */
  readonly rss: number[] = [];
  starts = 0;

  constructor(
    readonly name: string,
    readonly kind: ServiceKind,
    readonly port: number,
    private readonly env: Env,
    logDir: string,
  ) {
    this.log = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'w' });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Exits we did not cause (crashes), and graceful stops that did not end with code 0. */
  get crashes(): ExitRecord[] {
    return this.exits.filter(
      (exit) => !exit.expected || (exit.sent === 'SIGTERM' && exit.code !== 0),
    );
  }

  async start(timeoutMs = 60_000): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.sent = undefined;
    this.starts += 1;
    this.log.write(`\n--- start #${this.starts} at ${new Date().toISOString()}\n`);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join('services', this.kind, 'src', 'main.ts')],
      {
        cwd: repoRoot,
        env: { ...this.env, [portVariable[this.kind]]: String(this.port) } as NodeJS.ProcessEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    child.stdout!.pipe(this.log, { end: false });
    child.stderr!.pipe(this.log, { end: false });
    child.once('exit', (code, signal) => {
      this.exits.push({
        code,
        signal,
        expected: this.sent !== undefined,
        sent: this.sent,
        at: Date.now(),
      });
      this.log.write(`--- exit code=${code} signal=${signal}\n`);
    });
    await waitFor(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`${this.name} exited during start-up (see its log)`);
        const response = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(2000) });
        return response.status === 200;
      },
      { timeoutMs, intervalMs: 100, what: `${this.name} to listen` },
    ).catch((error: unknown) => {
      // waitFor swallows the exit error into lastError; make a start-up failure obvious.
      throw new Error(`${this.name}: ${(error as Error).message}`);
    });
  }

  /** Sends `signal` and waits for the process to end; returns how long that took. */
  async signal(signal: NodeJS.Signals, timeoutMs = 40_000): Promise<number> {
    const child = this.child;
    if (child === undefined || !this.running) return 0;
    const started = Date.now();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.sent = signal;
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      exited,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${this.name} did not exit ${timeoutMs} ms after ${signal}`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    return Date.now() - started;
  }

  async sampleRss(): Promise<void> {
    const pid = this.running ? this.child?.pid : undefined;
    if (pid === undefined) return;
    const rss = await rssOf(pid);
    if (rss !== undefined) this.rss.push(rss);
  }

  /** Stops the process at the end of a test (SIGTERM, then SIGKILL) without counting a crash. */
  async dispose(): Promise<void> {
    if (this.running) {
      await this.signal('SIGTERM', 15_000).catch(() => this.signal('SIGKILL', 5_000));
    }
    await new Promise<void>((resolve) => this.log.end(() => resolve()));
  }
}
