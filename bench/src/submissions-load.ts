/**
 * Benchmark 5, second part: the hub's HMRC calls while it is busy ingesting. Declarations go
 * through our API as in the first part, while the sandbox's NCTS sends a steady stream of
 * messages: most pushed inline (ingest only), a few too large to inline (the worker fetches
 * them: HMRC calls), and a share of pushes dropped, so every PPNS pull brings a batch to ingest
 * and acknowledge (HMRC calls too). Receiver, worker and api share one process (hub-process.ts),
 * so ingest work delays the event loop that sends the HMRC calls: the situation in which calls
 * used to leave late and bunch. The sandbox runs here, in another process, so that work cannot
 * delay the moment it notes an arrival (HMRC's gateway does not share our event loop either).
 * Measured at the sandbox's door, from the arrival time of every call: the most calls in any
 * sliding second (HMRC's window), 429s, and the gaps between list calls of the PPNS box.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createDb } from '@ctc-hub/db';
import { loadSandboxConfig, maxInWindow, startSandbox, type Arrival } from '@ctc-hub/hmrc-sandbox';
import { buildMessage, buildMessageOfSize } from '@ctc-hub/ncts-testkit';
import { createLogger } from '@ctc-hub/telemetry';
import { deleteKeysWithPrefix, dropDatabase, freePort } from '@ctc-hub/testing';
import { sql } from 'kysely';
import { connectEori, devDefaults } from '../../scripts/stack.js';
import { round } from './lib.js';

export interface LoadPlan {
  declarations: number;
  ratePerSecond: number;
  /** NCTS messages the sandbox sends per second while the declarations go out. */
  inboundPerSecond: number;
  /** Share of pushes PPNS never delivers (found by the pull). */
  dropRate: number;
  /** One inbound message in this many is over 80,000 bytes: PPNS omits the body, we fetch it. */
  largeEvery: number;
  timeoutSeconds: number;
}

const eori = 'GB123456789000';
const lanes = 8;

/** What an arrival was, for the breakdown (method and path template). */
function kindOf(arrival: Arrival): string {
  if (arrival.path.includes('/push-pull-notification/'))
    return arrival.method === 'GET' ? 'ppns list' : 'ppns acknowledge';
  if (arrival.path.endsWith('/body')) return 'message fetch';
  if (arrival.method === 'POST') return 'submission';
  return 'other';
}

export async function submissionsUnderIngestLoad(plan: LoadPlan, server: string, redisUrl: string) {
  const tag = randomBytes(3).toString('hex');
  const dbName = `ctc_bench_subl_${Date.now()}`;
  const prefix = `{benchsubl${tag}}`;
  const receiverPort = await freePort();
  const sandbox = await startSandbox(
    loadSandboxConfig({
      SANDBOX_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      SANDBOX_CALLBACK_URL: `http://127.0.0.1:${receiverPort}/ppns/callback`,
      SANDBOX_PUSH_SECRET: devDefaults.SANDBOX_PUSH_SECRET,
      SANDBOX_CLIENT_ID: devDefaults.SANDBOX_CLIENT_ID,
      SANDBOX_CLIENT_SECRET: devDefaults.SANDBOX_CLIENT_SECRET,
      SANDBOX_BOX_ID: devDefaults.SANDBOX_BOX_ID,
      SANDBOX_RATE_LIMIT_PER_SECOND: String(plan.ratePerSecond),
      LOG_LEVEL: 'silent',
    }),
    { skipTelemetry: true, logger: createLogger({ service: 'sandbox', level: 'silent' }) },
  );
  const hub = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./hub-process.ts', import.meta.url))],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: {
        ...process.env,
        DATABASE_URL: `${server}/${dbName}`,
        REDIS_URL: redisUrl,
        // The benchmark's Redis is the machine's (no persistence); production refuses that.
        REDIS_DURABILITY: process.env.REDIS_DURABILITY ?? 'allow-volatile',
        QUEUE_PREFIX: prefix,
        HTTP_HOST: '127.0.0.1',
        RECEIVER_PORT: String(receiverPort),
        API_PORT: '0',
        WORKER_PORT: '0',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
        HMRC_API_BASE_URL: sandbox.url,
        HMRC_CLIENT_ID: devDefaults.SANDBOX_CLIENT_ID,
        HMRC_CLIENT_SECRET: devDefaults.SANDBOX_CLIENT_SECRET,
        HMRC_DEFAULT_EORI: eori,
        HMRC_UPLOAD_HOSTS: new URL(sandbox.uploadUrl).host,
        HMRC_UPLOAD_ALLOW_HTTP: 'true',
        PPNS_BOX_IDS: devDefaults.SANDBOX_BOX_ID,
        PPNS_PUSH_SECRETS: devDefaults.SANDBOX_PUSH_SECRET,
        HMRC_RATE_LIMIT_PER_SECOND: String(plan.ratePerSecond),
        // Pull every 10 s (HMRC's limit, and PPNS_LIST_MIN_GAP_MS as deployed); the CTC sweep
        // runs once at start-up, before the load, so the calls measured are submissions,
        // fetches and pulls.
        RECONCILE_ENABLED: 'true',
        RECONCILE_TICK_SECONDS: '1',
        RECONCILE_INTERVAL_SECONDS: '86400',
        RECONCILE_GRACE_SECONDS: '1',
      },
    },
  );
  const hubLines = createInterface({ input: hub.stdout })[Symbol.asyncIterator]();
  const hubSays = async (): Promise<string> => {
    const line = await hubLines.next();
    if (line.done === true) throw new Error('the hub process ended');
    return line.value;
  };
  let db: ReturnType<typeof createDb> | undefined;
  const sandboxDelay = monitorEventLoopDelay({ resolution: 10 });
  try {
    const stack = JSON.parse(await hubSays()) as { apiUrl: string; apiKey: string };
    db = createDb({ url: `${server}/${dbName}`, poolMax: 2 });
    const controls = sandbox.controls;
    controls.configure({ lifecycleEnabled: false });
    await connectEori(stack, eori);
    const client = devDefaults.SANDBOX_CLIENT_ID;
    // Start-up (first sweep and pull) out of the way, then measure from a clean slate.
    await sleep(2_000);
    controls.resetStats();
    controls.setFaults({ seed: 10, push: { dropRate: plan.dropRate } });

    // Built before the load: generating XML is the sandbox's costliest step, and time this
    // process spends on it is time an arrival waits to be noted.
    const small = Array.from({ length: 20 }, () => buildMessage('IE928', { eori }));
    const big = Array.from({ length: 3 }, () => buildMessageOfSize('IE029', 100_000, { eori }));
    const loadStarted = Date.now();
    hub.stdin.write('reset\n');
    sandboxDelay.enable();
    let injected = 0;
    let large = 0;
    let movementId = '';
    const inject = () => {
      if (injected % 5 === 0) movementId = randomBytes(8).toString('hex');
      const isLarge = injected % plan.largeEvery === plan.largeEvery - 1;
      controls.injectMessage('departure', movementId, {
        xml: isLarge ? big[large % big.length]! : small[injected % small.length]!,
        eori,
      });
      injected += 1;
      if (isLarge) large += 1;
    };
    const perTick = Math.max(1, Math.round(plan.inboundPerSecond / 10));
    const injector = setInterval(() => {
      for (let count = 0; count < perTick; count += 1) inject();
    }, 100);

    const lrns = Array.from(
      { length: plan.declarations },
      (_, index) => `BL${tag.toUpperCase()}${String(index).padStart(6, '0')}`,
    );
    let next = 0;
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next < lrns.length) {
          const lrn = lrns[next]!;
          next += 1;
          for (;;) {
            const response = await fetch(`${stack.apiUrl}/v1/departures`, {
              method: 'POST',
              headers: {
                authorization: `Bearer ${stack.apiKey}`,
                'content-type': 'application/xml',
                'idempotency-key': `bench-load-${lrn}`,
              },
              body: buildMessage('IE015', { lrn, eori }),
            });
            await response.arrayBuffer();
            if (response.status === 202) break;
            if (response.status !== 429) throw new Error(`our api answered ${response.status}`);
            await sleep(Math.max(1, Number(response.headers.get('retry-after') ?? '1')) * 1000);
          }
        }
      }),
    );
    const deadline = Date.now() + plan.timeoutSeconds * 1000;
    for (;;) {
      const { rows } = await sql<{ n: string }>`
        SELECT count(*) AS n FROM submissions WHERE status = 'accepted'`.execute(db);
      if (Number(rows[0]!.n) >= lrns.length) break;
      if (Date.now() > deadline) throw new Error('submissions under ingest load did not settle');
      await sleep(250);
    }
    clearInterval(injector);
    const submissionsDoneAt = Date.now();
    // Nothing lost: every message NCTS sent is stored, the dropped ones through the pull.
    for (;;) {
      const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM messages
        WHERE direction = 'inbound'`.execute(db);
      if (Number(rows[0]!.n) >= injected) break;
      if (Date.now() > deadline + 60_000)
        throw new Error(`inbound messages lost under load: ${rows[0]!.n} of ${injected} stored`);
      await sleep(250);
    }
    const drainedAt = Date.now();
    hub.stdin.write('delay\n');
    const delay = JSON.parse(await hubSays()) as { p50: number; p99: number; max: number };
    sandboxDelay.disable();

    const arrivals = controls.arrivals().filter((arrival) => arrival.clientId === client);
    const byKind: Record<string, number> = {};
    for (const arrival of arrivals) byKind[kindOf(arrival)] = (byKind[kindOf(arrival)] ?? 0) + 1;
    const lists = arrivals
      .filter((arrival) => kindOf(arrival) === 'ppns list')
      .map((arrival) => arrival.at)
      .sort((a, b) => a - b);
    const listGaps = lists.slice(1).map((at, index) => at - lists[index]!);
    const pulled = await sql<{ n: string }>`
      SELECT count(*) AS n FROM notifications WHERE source = 'pull'`.execute(db);
    const stats = controls.stats();
    return {
      declarations: lrns.length,
      inbound: { injected, overInlineLimit: large, pulled: Number(pulled.rows[0]!.n) },
      inboundPerSecond: plan.inboundPerSecond,
      pushDropRate: plan.dropRate,
      seconds: {
        submissions: round((submissionsDoneAt - loadStarted) / 1000, 1),
        untilAllInboundStored: round((drainedAt - loadStarted) / 1000, 1),
      },
      hmrcCalls: arrivals.length,
      hmrcCallsByKind: byKind,
      worstSlidingSecond: maxInWindow(
        arrivals.map((arrival) => arrival.at),
        1000,
      ),
      throttled429: stats.applications[client]?.throttled ?? 0,
      ppnsListGapMs:
        listGaps.length === 0
          ? null
          : { min: Math.round(Math.min(...listGaps)), calls: lists.length },
      /** In the hub's process, while the load ran. */
      hubEventLoopDelayMs: delay,
      /** In the sandbox's: how late it may have noted an arrival (the measurement's own error). */
      sandboxEventLoopDelayMs: {
        p50: round(sandboxDelay.percentile(50) / 1e6, 1),
        p99: round(sandboxDelay.percentile(99) / 1e6, 1),
        max: round(sandboxDelay.max / 1e6, 1),
      },
    };
  } finally {
    sandboxDelay.disable();
    await db?.destroy();
    if (hub.exitCode === null) {
      hub.stdin.write('stop\n');
      await Promise.race([new Promise((resolve) => hub.once('exit', resolve)), sleep(30_000)]);
      hub.kill();
    }
    await sandbox.stop();
    await dropDatabase(server, dbName).catch(() => undefined);
    await deleteKeysWithPrefix(redisUrl, prefix).catch(() => undefined);
  }
}
