/**
 * Benchmark 8: the cost of running it (issue 14 §3).
 *
 * The three services run as production does: one process each, from the production bundles
 * (`pnpm build` into a temporary directory), against the local HMRC sandbox (in this process),
 * one connected trader (OAuth through the api) and one PPNS box.
 *
 *  1. idle: after a warm-up, nothing arrives for IDLE seconds (10 min; quick 1 min). CPU (% of a
 *     core) and RSS of each service; HMRC calls spent meanwhile, by route, per hour (what
 *     reconciliation costs the 3/s budget with one trader and one box);
 *  2. steady load of a large forwarder: 20 messages/s reach HMRC and are pushed to us, 1
 *     declaration/s is submitted through the api; CPU and RSS of each service under it;
 *  3. the one-process stack (`pnpm start`, scripts/start.ts, which also hosts the sandbox), idle.
 *
 *   pnpm exec tsx bench/src/footprint.ts [--quick]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createDb, prepareDatabase } from '@ctc-hub/db';
import { type StatsSnapshot } from '@ctc-hub/hmrc-sandbox';
import { buildMessage } from '@ctc-hub/ncts-testkit';
import { dropDatabase, freePort } from '@ctc-hub/testing';
import { sql } from 'kysely';
import { connectEori, devDefaults } from '../../scripts/stack.js';
import { round } from './lib.js';
import { benchHubEnvironment, redisUrl, serverUrl } from './hub-env.js';
import { runIfMain, thousands, type Bench, type BenchTarget } from './report.js';

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const log = (line: string) => process.stderr.write(`footprint bench: ${line}\n`);
const eori = devDefaults.HMRC_DEFAULT_EORI;

const plans = {
  quick: { warmupSeconds: 5, idleSeconds: 60, loadSeconds: 20, stackIdleSeconds: 30 },
  full: { warmupSeconds: 30, idleSeconds: 600, loadSeconds: 120, stackIdleSeconds: 600 },
};
const load = { messagesPerSecond: 20, declarationsPerSecond: 1 };
const targets = { idleCpuPercent: 1, rssMb: 150 };

/** CPU ms (utime + stime of every thread) and RSS of a process, from /proc. */
function usage(pid: number): { cpuMs: number; rssMb: number } {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return {
      cpuMs: (Number(fields[11]) + Number(fields[12])) * 10,
      rssMb: round(Number(rss?.[1] ?? 0) / 1024, 0),
    };
  } catch {
    return { cpuMs: 0, rssMb: 0 };
  }
}

export interface Service {
  name: string;
  child: ChildProcess;
}

export function spawnNode(name: string, args: string[], env: Record<string, string>): Service {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (chunk: Buffer) =>
    process.stderr.write(`[${name}] ${chunk.toString()}`),
  );
  return { name, child };
}

export async function waitHttp(url: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await fetch(url)
        .then((response) => response.ok)
        .catch(() => false)
    )
      return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${url}`);
    await sleep(200);
  }
}

/** CPU % of one core and RSS of each service over `seconds`, while `during` runs. */
async function measure(
  services: Service[],
  seconds: number,
  during?: (until: number) => Promise<void>,
) {
  const before = services.map((service) => usage(service.child.pid!));
  const started = performance.now();
  const until = Date.now() + seconds * 1000;
  await Promise.all([during?.(until), sleep(seconds * 1000)]);
  const elapsedMs = performance.now() - started;
  const figures: Record<string, { cpuPercent: number; rssMb: number }> = {};
  services.forEach((service, index) => {
    const after = usage(service.child.pid!);
    figures[service.name] = {
      cpuPercent: round(((after.cpuMs - before[index]!.cpuMs) / elapsedMs) * 100, 2),
      rssMb: after.rssMb,
    };
  });
  return figures;
}

/** HMRC calls by route between two sandbox snapshots, scaled to one hour. */
function callsPerHour(before: StatsSnapshot, after: StatsSnapshot, seconds: number) {
  const perHour: Record<string, number> = {};
  let total = 0;
  for (const [route, statuses] of Object.entries(after.api)) {
    const count = (statuses: Record<string, number> | undefined) =>
      Object.values(statuses ?? {}).reduce((sum, value) => sum + value, 0);
    const calls = count(statuses) - count(before.api[route]);
    if (calls <= 0) continue;
    perHour[route] = Math.round((calls * 3600) / seconds);
    total += calls;
  }
  return { total: Math.round((total * 3600) / seconds), byRoute: perHour };
}

/**
 * The bundles import their npm dependencies, which production installs flat beside them
 * (infra/Dockerfile). Here: a node_modules of symlinks, from the workspace root's packages and
 * pnpm's hoisted store (node_modules/.pnpm/node_modules), the root's first.
 */
function linkDependencies(outdir: string) {
  const target = join(outdir, 'node_modules');
  mkdirSync(target);
  for (const source of [root('node_modules'), root('node_modules/.pnpm/node_modules')]) {
    for (const name of readdirSync(source)) {
      if (name.startsWith('.')) continue;
      if (name.startsWith('@')) {
        mkdirSync(join(target, name), { recursive: true });
        for (const inner of readdirSync(join(source, name)))
          if (!existsSync(join(target, name, inner)))
            symlinkSync(join(source, name, inner), join(target, name, inner));
      } else if (!existsSync(join(target, name)))
        symlinkSync(join(source, name), join(target, name));
    }
  }
}

export const stop = async (services: Service[]) => {
  for (const service of services) {
    if (service.child.exitCode !== null) continue;
    const exited = new Promise((resolve) => service.child.once('exit', resolve));
    service.child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (service.child.exitCode === null) service.child.kill('SIGKILL');
  }
};

export const bench: Bench = async ({ quick }) => {
  const plan = plans[quick ? 'quick' : 'full'];
  const loadAtStart = loadavg().map((value) => round(value, 2));
  const outdir = mkdtempSync(join(tmpdir(), 'ctc-footprint-'));
  log(`building production bundles into ${outdir}`);
  const built = spawnSync(process.execPath, [root('scripts/build.mjs'), '--outdir', outdir], {
    cwd: root(''),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (built.status !== 0) throw new Error('pnpm build failed');
  linkDependencies(outdir);

  const services: Service[] = [];
  let hub: Awaited<ReturnType<typeof benchHubEnvironment>> | undefined;
  try {
    hub = await benchHubEnvironment('footprint');
    const { db, dbName, prefix, sandbox, env, receiverUrl, workerUrl, apiUrl } = hub;
    for (const name of ['receiver', 'worker', 'api'])
      services.push(spawnNode(name, [join(outdir, name, 'bin', 'main.js')], env));
    await Promise.all([
      waitHttp(`${receiverUrl}/readyz`),
      waitHttp(`${workerUrl}/readyz`),
      waitHttp(`${apiUrl}/readyz`),
    ]);
    await connectEori({ apiUrl, apiKey: devDefaults.API_KEYS }, eori);
    log(`services up, ${eori} connected; warm-up ${plan.warmupSeconds} s`);
    await sleep(plan.warmupSeconds * 1000);

    // 1. Idle.
    const statsBefore = sandbox.controls.stats();
    const idle = await measure(services, plan.idleSeconds);
    const idleCalls = callsPerHour(statsBefore, sandbox.controls.stats(), plan.idleSeconds);
    log(`idle: ${JSON.stringify(idle)} HMRC calls/h ${JSON.stringify(idleCalls)}`);

    // 2. Steady load: 20 messages/s pushed, 1 declaration/s submitted.
    const movementIds = Array.from({ length: 50 }, () => randomBytes(8).toString('hex'));
    const controls = sandbox.controls;
    let injected = 0;
    let declared = 0;
    const declarationStatuses: Record<string, number> = {};
    const loaded = await measure(services, plan.loadSeconds, async (until) => {
      const start = Date.now();
      const messages = (async () => {
        while (Date.now() < until) {
          const due = start + (injected * 1000) / load.messagesPerSecond;
          if (due > Date.now()) await sleep(due - Date.now());
          controls.injectMessage('departure', movementIds[injected % movementIds.length]!, {
            generate: { messageType: 'IE028' },
            eori,
          });
          injected += 1;
        }
      })();
      const declarations = (async () => {
        while (Date.now() < until) {
          const due = start + (declared * 1000) / load.declarationsPerSecond;
          if (due > Date.now()) await sleep(due - Date.now());
          const lrn = `FP${randomBytes(5).toString('hex').toUpperCase()}`;
          declared += 1;
          const response = await fetch(`${apiUrl}/v1/departures`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${devDefaults.API_KEYS}`,
              'content-type': 'application/xml',
              'idempotency-key': `footprint-${lrn}`,
            },
            body: buildMessage('IE015', { lrn, eori }),
          });
          await response.arrayBuffer();
          declarationStatuses[response.status] = (declarationStatuses[response.status] ?? 0) + 1;
        }
      })();
      await Promise.all([messages, declarations]);
    });
    await sleep(3000);
    const stored = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM messages WHERE direction = 'inbound'`.execute(db);
    log(
      `load: ${JSON.stringify(loaded)}; injected ${injected}, stored ${stored.rows[0]!.n}, declarations ${JSON.stringify(declarationStatuses)}`,
    );
    await stop(services);

    // 3. The one-process stack, idle (its own database, sandbox and ports).
    const stackDb = `${dbName}_stack`;
    const stackUrl = `${serverUrl}/${stackDb}`;
    const stackMigrator = createDb({ url: stackUrl, poolMax: 1 });
    await prepareDatabase(stackMigrator, stackUrl);
    await stackMigrator.destroy();
    const stackPorts = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const stack = spawnNode('stack', ['--import', 'tsx', root('scripts/start.ts')], {
      DATABASE_URL: stackUrl,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: `${prefix}stack`,
      REDIS_DURABILITY: 'allow-volatile',
      LOG_LEVEL: 'warn',
      HTTP_HOST: '127.0.0.1',
      RECEIVER_PORT: String(stackPorts[0]),
      WORKER_PORT: String(stackPorts[1]),
      API_PORT: String(stackPorts[2]),
      SANDBOX_PORT: String(stackPorts[3]),
      HMRC_REDIRECT_URI: `http://127.0.0.1:${stackPorts[2]}/oauth/hmrc/callback`,
    });
    services.push(stack);
    let stackIdle: Record<string, { cpuPercent: number; rssMb: number }> = {};
    try {
      await waitHttp(`http://127.0.0.1:${stackPorts[2]}/readyz`);
      await connectEori(
        { apiUrl: `http://127.0.0.1:${stackPorts[2]}`, apiKey: devDefaults.API_KEYS },
        eori,
      );
      await sleep(plan.warmupSeconds * 1000);
      stackIdle = await measure([stack], plan.stackIdleSeconds);
      log(`one-process stack idle: ${JSON.stringify(stackIdle)}`);
    } finally {
      await stop([stack]);
      await dropDatabase(serverUrl, stackDb).catch(() => undefined);
    }

    const worstIdleCpu = Math.max(...Object.values(idle).map((row) => row.cpuPercent));
    const worstRss = Math.max(...Object.values(idle).map((row) => row.rssMb));
    const targetList: BenchTarget[] = [
      {
        what: `idle CPU per service after ${plan.idleSeconds} s`,
        target: `< ${targets.idleCpuPercent} % of a core`,
        measured: Object.entries(idle)
          .map(([name, row]) => `${name} ${row.cpuPercent} %`)
          .join(', '),
        met: worstIdleCpu < targets.idleCpuPercent,
      },
      {
        what: 'idle RSS per service',
        target: `< ${targets.rssMb} MB`,
        measured: Object.entries(idle)
          .map(([name, row]) => `${name} ${row.rssMb} MB`)
          .join(', '),
        met: worstRss < targets.rssMb,
      },
      {
        what: 'HMRC calls per hour while idle (1 trader, 1 box)',
        target: 'report',
        measured: `${thousands(idleCalls.total)}/h (${round((idleCalls.total / 3600 / 3) * 100, 1)} % of 3/s)`,
        met: true,
      },
      {
        what: `under ${load.messagesPerSecond} msg/s in + ${load.declarationsPerSecond} decl/s out: CPU / RSS`,
        target: 'report',
        measured: Object.entries(loaded)
          .map(([name, row]) => `${name} ${row.cpuPercent} % / ${row.rssMb} MB`)
          .join(', '),
        met: true,
      },
    ];
    return {
      id: 'footprint',
      title: '8. The cost of running it',
      quick,
      figures: {
        loadAverageAtStart: loadAtStart,
        plan,
        idle,
        idleHmrcCallsPerHour: idleCalls,
        load: {
          ...load,
          injected,
          stored: stored.rows[0]!.n,
          declarationStatuses,
          services: loaded,
        },
        oneProcessStackIdle: stackIdle,
      },
      targets: targetList,
      notes: [
        'Services run from the production bundles (node dist/<service>/bin/main.js); the one-process stack runs from source under tsx (its loader adds to RSS) and hosts the HMRC sandbox too.',
        'CPU is utime + stime of every thread of the process over the window (10 ms ticks), as a percentage of one core.',
      ],
    };
  } finally {
    await stop(services);
    await hub?.dispose();
    rmSync(outdir, { recursive: true, force: true });
  }
};

await runIfMain(import.meta.url, bench);
