/**
 * Benchmark 5, second part: the hub's HMRC calls while it is busy ingesting. Declarations go
 * through our API as in the first part, while the sandbox's NCTS sends a steady stream of
 * messages: most pushed inline (ingest only), one in 40 too large to inline (the worker fetches
 * it: an HMRC call), and a share of pushes dropped, so every PPNS pull brings a batch to ingest
 * and acknowledge (HMRC calls too). All of it runs in this one process, so ingest work delays
 * the event loop that sends the HMRC calls: the situation in which calls used to leave late and
 * bunch. Measured at the sandbox's door, from the arrival time of every call: the most calls in
 * any sliding second (HMRC's window), 429s, and the gaps between list calls of the PPNS box.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDb } from '@ctc-hub/db';
import { maxInWindow, type Arrival } from '@ctc-hub/hmrc-sandbox';
import { buildMessage } from '@ctc-hub/ncts-testkit';
import { deleteKeysWithPrefix, dropDatabase } from '@ctc-hub/testing';
import { sql } from 'kysely';
import { connectEori, startStack } from '../../scripts/stack.js';
import { round } from './lib.js';

export interface LoadPlan {
  declarations: number;
  ratePerSecond: number;
  /** NCTS messages the sandbox sends per second while the declarations go out. */
  inboundPerSecond: number;
  /** Share of pushes PPNS never delivers (found by the pull). */
  dropRate: number;
  timeoutSeconds: number;
}

const eori = 'GB123456789000';
const lanes = 8;
/** One inbound message in this many is over 80,000 bytes: PPNS omits the body, we fetch it. */
const largeEvery = 40;

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
  const stack = await startStack({
    DATABASE_URL: `${server}/${dbName}`,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    HTTP_HOST: '127.0.0.1',
    RECEIVER_PORT: '0',
    API_PORT: '0',
    WORKER_PORT: '0',
    SANDBOX_PORT: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    HMRC_API_BASE_URL: '',
    SANDBOX_RATE_LIMIT_PER_SECOND: String(plan.ratePerSecond),
    HMRC_RATE_LIMIT_PER_SECOND: String(plan.ratePerSecond),
    // Pull every 10 s (HMRC's limit, and PPNS_LIST_MIN_GAP_MS as deployed); the CTC sweep runs
    // once at start-up, before the load, so the calls measured are submissions, fetches, pulls.
    RECONCILE_ENABLED: 'true',
    RECONCILE_TICK_SECONDS: '1',
    RECONCILE_INTERVAL_SECONDS: '86400',
    RECONCILE_GRACE_SECONDS: '1',
  });
  const db = createDb({ url: `${server}/${dbName}`, poolMax: 2 });
  const delay = monitorEventLoopDelay({ resolution: 10 });
  try {
    const sandbox = stack.sandbox!;
    const controls = sandbox.controls;
    controls.configure({ lifecycleEnabled: false });
    await connectEori(stack, eori);
    const client = stack.env.HMRC_CLIENT_ID!;
    // Start-up (first sweep and pull) out of the way, then measure from a clean slate.
    await sleep(2_000);
    controls.resetStats();
    controls.setFaults({ seed: 10, push: { dropRate: plan.dropRate } });

    const loadStarted = Date.now();
    delay.enable();
    let injected = 0;
    let large = 0;
    let movementId = '';
    const inject = () => {
      if (injected % 5 === 0) movementId = randomBytes(8).toString('hex');
      const isLarge = injected % largeEvery === largeEvery - 1;
      controls.injectMessage('departure', movementId, {
        generate: isLarge ? { messageType: 'IE029', size: 100_000 } : { messageType: 'IE928' },
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
    delay.disable();

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
      eventLoopDelayMs: {
        p50: round(delay.percentile(50) / 1e6, 1),
        p99: round(delay.percentile(99) / 1e6, 1),
        max: round(delay.max / 1e6, 1),
      },
    };
  } finally {
    delay.disable();
    await db.destroy();
    await stack.stop();
    await dropDatabase(server, dbName).catch(() => undefined);
    await deleteKeysWithPrefix(redisUrl, prefix).catch(() => undefined);
  }
}
