// Risk retired: `pnpm start`, the first command a new user runs, hanging forever on a Redis it
// cannot reach, failing on PostgreSQL without naming the setting, or leaving the whole stack
// running (ports held by orphaned tsx and node processes) after SIGTERM to the pnpm process; and
// a deployed service (its own main.ts) hanging instead of exiting when its Redis does not answer
// or would lose jobs. Each case runs the real command in a process group of its own.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  canConnect,
  createTestDatabase,
  createTestRedis,
  freePort,
  RedisServer,
  repoRoot,
  waitFor,
  type TestDatabase,
  type TestRedis,
} from '@ctc-hub/testing';

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const runs: Run[] = [];
let testDb: TestDatabase;
let redis: TestRedis;

beforeAll(async () => {
  testDb = await createTestDatabase();
  redis = createTestRedis();
});
afterEach(() => {
  // Whatever a failed case left behind: the group holds pnpm, tsx and the stack.
  for (const run of runs.splice(0)) signalGroup(run, 'SIGKILL');
});
afterAll(async () => {
  await redis?.cleanup();
  await testDb?.destroy();
});

/** True while any process of the run's group (pnpm, tsx, node, esbuild) is alive. */
function groupAlive(run: Run): boolean {
  try {
    process.kill(-run.child.pid!, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(run: Run, signal: NodeJS.Signals): void {
  try {
    process.kill(-run.child.pid!, signal);
  } catch {
    // Gone already.
  }
}

function spawnRun(command: string, args: string[], env: Record<string, string>): Run {
  const base: Record<string, string | undefined> = { ...process.env };
  // Our settings only: the stack must use its own sandbox and decide REDIS_DURABILITY itself.
  for (const name of ['HMRC_API_BASE_URL', 'REDIS_DURABILITY', 'REDIS_SENTINELS'])
    delete base[name];
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...base, LOG_LEVEL: 'warn', HTTP_HOST: '127.0.0.1', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const run = { child, output: () => text, exited };
  runs.push(run);
  return run;
}

const pnpmStart = (env: Record<string, string>) => spawnRun('pnpm', ['start'], env);

async function within<T>(promise: Promise<T>, ms: number, what: string, run: Run): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what} took over ${ms} ms; output:\n${run.output()}`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

it('gives up on an unreachable Redis within 20 s, naming REDIS_URL but not its password', async () => {
  const port = await freePort();
  const run = pnpmStart({
    REDIS_URL: `redis://ctc:hunter2@127.0.0.1:${port}`,
    DATABASE_URL: testDb.url,
  });
  // 20 s is the promise to a new user (REDIS_STARTUP_TIMEOUT_SECONDS is 10).
  const code = await within(run.exited, 20_000, 'pnpm start with no Redis', run);
  expect(code).not.toBe(0);
  expect(run.output()).toContain(
    `Redis did not answer within 10 s at redis://ctc:***@127.0.0.1:${port} (REDIS_URL): connect ECONNREFUSED`,
  );
  expect(run.output()).not.toContain('hunter2');
}, 40_000);

it('names DATABASE_URL (without its password) when PostgreSQL refuses the connection', async () => {
  const port = await freePort();
  const run = pnpmStart({
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    DATABASE_URL: `postgres://ctc:hunter2@127.0.0.1:${port}/ctc_hub`,
  });
  const code = await within(run.exited, 60_000, 'pnpm start with no PostgreSQL', run);
  expect(code).not.toBe(0);
  expect(run.output()).toContain(
    `cannot connect to PostgreSQL at postgres://ctc:***@127.0.0.1:${port}/ctc_hub (DATABASE_URL): connect ECONNREFUSED`,
  );
  expect(run.output()).not.toContain('hunter2');
}, 80_000);

/** The whole stack on free ports, up and serving; returns the run and its ports. */
async function startedStack(): Promise<{ run: Run; ports: number[] }> {
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const run = pnpmStart({
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    DATABASE_URL: testDb.url,
    RECEIVER_PORT: String(ports[0]),
    API_PORT: String(ports[1]),
    WORKER_PORT: String(ports[2]),
    SANDBOX_PORT: String(ports[3]),
  });
  await waitFor(
    () => {
      if (run.child.exitCode !== null) throw new Error(`pnpm start exited:\n${run.output()}`);
      return run.output().includes('ctc-hub is running');
    },
    { timeoutMs: 120_000, intervalMs: 200, what: 'the banner' },
  );
  for (const port of ports) expect(await canConnect('127.0.0.1', port)).toBe(true);
  return { run, ports };
}

async function expectStopped(run: Run, ports: number[], code: number | null): Promise<void> {
  expect(await within(run.exited, 30_000, 'pnpm to exit', run)).toBe(code);
  await waitFor(() => !groupAlive(run), {
    timeoutMs: 30_000,
    intervalMs: 100,
    what: 'every process of pnpm start to exit',
  });
  for (const port of ports)
    expect([port, await canConnect('127.0.0.1', port)]).toEqual([port, false]);
}

it('stops the whole stack and frees its ports on SIGTERM to the pnpm process', async () => {
  const { run, ports } = await startedStack();
  // The shared test Redis has no persistence: pnpm start allows it and says so.
  expect(run.output()).toMatch(/! Redis: no persistence/);
  expect(run.output()).toContain("REDIS_DURABILITY=allow-volatile (pnpm start's default)");

  run.child.kill('SIGTERM');
  await expectStopped(run, ports, 0);
  expect(run.output()).toContain('SIGTERM: stopping');
}, 200_000);

it('stops gracefully on Ctrl-C (SIGINT to the whole process group)', async () => {
  const { run, ports } = await startedStack();
  signalGroup(run, 'SIGINT');
  // 0: the stack stopped in order; the copy of the signal pnpm and tsx forward did not force it.
  await expectStopped(run, ports, 0);
  expect(run.output()).toContain('SIGINT: stopping');
}, 200_000);

describe("each service's own main.ts, as deployed", () => {
  const services = ['receiver', 'worker', 'api'] as const;
  const production = () => ({
    DATABASE_URL: testDb.url,
    PPNS_PUSH_SECRETS: 'PUSHSECRET0000000000000000000000',
    HMRC_API_BASE_URL: 'http://127.0.0.1:9',
    HMRC_CLIENT_ID: 'client',
    HMRC_CLIENT_SECRET: 'secret',
    TOKEN_ENCRYPTION_KEY: '0'.repeat(64),
    API_KEYS: 'key',
    RECEIVER_PORT: '0',
    WORKER_PORT: '0',
    API_PORT: '0',
    REDIS_STARTUP_TIMEOUT_SECONDS: '2',
  });
  const main = (service: string, env: Record<string, string>) =>
    spawnRun(process.execPath, ['--import', 'tsx', `services/${service}/src/main.ts`], {
      ...production(),
      ...env,
    });

  it('exits 1 naming REDIS_URL when Redis does not answer, so the orchestrator restarts it', async () => {
    const port = await freePort();
    const started = services.map((service) =>
      main(service, { REDIS_URL: `redis://:hunter2@127.0.0.1:${port}` }),
    );
    for (const [index, run] of started.entries()) {
      expect([services[index], await within(run.exited, 60_000, services[index]!, run)]).toEqual([
        services[index],
        1,
      ]);
      expect(run.output()).toContain(
        `Redis did not answer within 2 s at redis://:***@127.0.0.1:${port} (REDIS_URL)`,
      );
      expect(run.output()).not.toContain('hunter2');
    }
  }, 90_000);

  it('refuses to start on a Redis without persistence unless REDIS_DURABILITY allows it', async () => {
    const volatile = await RedisServer.start(['appendonly no', 'save ""']);
    try {
      const started = services.map((service) => main(service, { REDIS_URL: volatile.url }));
      for (const [index, run] of started.entries()) {
        expect([services[index], await within(run.exited, 60_000, services[index]!, run)]).toEqual([
          services[index],
          1,
        ]);
        expect(run.output()).toContain(
          `Refusing to start: the Redis at ${volatile.url} (REDIS_URL) can lose jobs it has acknowledged.`,
        );
      }
    } finally {
      await volatile.destroy();
    }
  }, 90_000);
});
