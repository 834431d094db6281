/**
 * Benchmark 5: declarations through our API against a naive sender. The same distinct, valid
 * IE015s (one LRN each) go
 *  - through our API (POST /v1/departures with an Idempotency-Key, 8 in flight): validated,
 *    written to the outbox, sent by the worker's paced hmrc queue; and
 *  - straight to HMRC from bench/src/naive-sender.ts: as fast as it can (8 in flight), retrying
 *    only 429s after their Retry-After.
 * Each side has a sandbox of its own with the same limit (3 requests/s per application, full
 * mode), and both run at the same time, so the run takes one sender's time, not two, and
 * neither takes the other's budget. The sandboxes' NCTS answers are off (lifecycleEnabled=false)
 * so only submissions reach them, and the hub's reconciliation is off so submissions are all
 * its hmrc queue carries.
 *
 * Reported: throughput at HMRC as % of the allowed rate, 429s, calls spent (the sandboxes'
 * per-application counters), the worst sliding second (the most calls that arrived at the
 * sandbox within any 1000 ms), exactly-once (each sandbox must hold exactly one departure per LRN;
 * the benchmark throws otherwise), total time and submission latency (HMRC's acceptance − the
 * moment the declaration was handed over: our API POST, the naive sender's first attempt).
 * Then a second part (submissions-load.ts): our sender again, while the hub ingests a stream of
 * pushes and pulled batches, for the worst sliding second under that load.
 *
 *   pnpm exec tsx bench/src/submissions.ts [--quick]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { createDb } from '@ctc-hub/db';
import {
  loadSandboxConfig,
  maxInWindow,
  startSandbox,
  type SandboxHandle,
} from '@ctc-hub/hmrc-sandbox';
import { buildMessage } from '@ctc-hub/ncts-testkit';
import { spacingFor } from '@ctc-hub/queue';
import { createLogger } from '@ctc-hub/telemetry';
import { deleteKeysWithPrefix, dropDatabase } from '@ctc-hub/testing';
import { sql } from 'kysely';
import { connectEori, devDefaults, startStack } from '../../scripts/stack.js';
import { benchStackSettings, percentiles, round } from './lib.js';
import { runNaiveSender, type NaiveDeclaration } from './naive-sender.js';
import { runIfMain, thousands, type Bench, type BenchReport, type BenchTarget } from './report.js';
import { submissionsUnderIngestLoad, type LoadPlan } from './submissions-load.js';

const eori = 'GB123456789000';
const senderConcurrency = 8;

interface Plan {
  declarations: number;
  ratePerSecond: number;
  timeoutSeconds: number;
}
const plans: Record<'quick' | 'full', Plan> = {
  quick: { declarations: 75, ratePerSecond: 30, timeoutSeconds: 30 },
  full: { declarations: 1000, ratePerSecond: 3, timeoutSeconds: 900 },
};
/** The second part (submissions-load.ts): declarations while a stream of pushes is ingested. */
const loadPlans: Record<'quick' | 'full', LoadPlan> = {
  quick: {
    declarations: 45,
    ratePerSecond: 30,
    inboundPerSecond: 50,
    dropRate: 0.1,
    largeEvery: 40,
    timeoutSeconds: 30,
  },
  full: {
    declarations: 300,
    ratePerSecond: 3,
    inboundPerSecond: 150,
    dropRate: 0.05,
    largeEvery: 100,
    timeoutSeconds: 600,
  },
};

/** Steady rate at HMRC: acceptances after the first, over the time since the first. */
function rateAtHmrc(acceptedAt: number[]): number {
  const sorted = [...acceptedAt].sort((a, b) => a - b);
  if (sorted.length < 2) return 0;
  return ((sorted.length - 1) * 1000) / (sorted.at(-1)! - sorted[0]!);
}

/**
 * The shortest span between an accepted declaration and the N-th before it, by the time the
 * sandbox stored them (after its XSD validation, so later than its rate limiter saw them and
 * with that validation's jitter): a rough view of how close the calls came to the limit.
 */
function tightestWindowMs(acceptedAt: number[], perSecond: number): number | null {
  const sorted = [...acceptedAt].sort((a, b) => a - b);
  let tightest: number | null = null;
  for (let index = perSecond; index < sorted.length; index += 1) {
    const span = sorted[index]! - sorted[index - perSecond]!;
    if (tightest === null || span < tightest) tightest = span;
  }
  return tightest;
}

/** Exactly one departure per LRN at this sandbox, and nothing else; throws otherwise. */
function checkExactlyOnce(sandbox: SandboxHandle, lrns: readonly string[], who: string): number[] {
  const byLrn = new Map<string, number[]>();
  for (const movement of sandbox.controls.movements()) {
    if (movement.type !== 'departure') continue;
    const list = byLrn.get(movement.lrn ?? '') ?? [];
    list.push(movement.created);
    byLrn.set(movement.lrn ?? '', list);
  }
  const missing = lrns.filter((lrn) => (byLrn.get(lrn)?.length ?? 0) === 0);
  const duplicated = lrns.filter((lrn) => (byLrn.get(lrn)?.length ?? 0) > 1);
  const unexpected = [...byLrn.keys()].filter((lrn) => !lrns.includes(lrn));
  if (missing.length > 0 || duplicated.length > 0 || unexpected.length > 0)
    throw new Error(
      `${who}: exactly-once violated: ${missing.length} LRNs missing at HMRC, ${duplicated.length} duplicated, ${unexpected.length} unexpected`,
    );
  return lrns.map((lrn) => byLrn.get(lrn)![0]!);
}

const pct = (values: number[]) =>
  Object.fromEntries(Object.entries(percentiles(values)).map(([k, v]) => [k, round(v, 0)]));

export const bench: Bench = async ({ quick }) => {
  const report = await sideBySide(quick);
  // After the first part has stopped, so the two do not share the CPU.
  process.stderr.write('submissions: again while a stream of pushes is ingested…\n');
  const plan = loadPlans[quick ? 'quick' : 'full'];
  const load = await submissionsUnderIngestLoad(
    plan,
    process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432',
    process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  );
  report.figures.underIngestLoad = load;
  report.targets.push(
    {
      what: 'worst sliding second of HMRC calls under ingest load (arrivals at the sandbox)',
      target: `≤ ${plan.ratePerSecond}`,
      measured: `${load.worstSlidingSecond} in ${thousands(load.hmrcCalls)} calls (${load.throttled429} × 429; hub event loop p99 ${load.hubEventLoopDelayMs.p99} ms, max ${load.hubEventLoopDelayMs.max} ms)`,
      met: load.worstSlidingSecond <= plan.ratePerSecond && load.throttled429 === 0,
    },
    {
      what: 'PPNS list calls of the box, shortest gap (HMRC: at most one every 10 s)',
      target: '≥ 10,000 ms',
      measured:
        load.ppnsListGapMs === null
          ? 'fewer than two list calls'
          : `${thousands(load.ppnsListGapMs.min)} ms over ${load.ppnsListGapMs.calls} calls`,
      met: load.ppnsListGapMs === null || load.ppnsListGapMs.min >= 10_000,
    },
  );
  report.notes?.push(
    `Under ingest load: ${load.declarations} declarations through our API while the sandbox's NCTS sent ${plan.inboundPerSecond} messages/s (1 in ${plan.largeEvery} over the inline limit, fetched; ${Math.round(plan.dropRate * 100)}% of pushes dropped, found by the pull), receiver, worker and api in one process, so ingest delays the event loop that sends HMRC calls; the sandbox in another, so that work cannot delay the moment it notes an arrival. Calls are paced on the moment their bytes leave (docs/RELIABILITY.md); the worst sliding second counts every call of our application as it arrived at the sandbox.`,
  );
  return report;
};

async function sideBySide(quick: boolean): Promise<BenchReport> {
  const plan = plans[quick ? 'quick' : 'full'];
  const load = loadavg().map((value) => round(value, 2));
  const server = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const tag = randomBytes(3).toString('hex').toUpperCase();
  const dbName = `ctc_bench_subm_${Date.now()}`;
  const prefix = `{benchsubm${tag.toLowerCase()}}`;
  const lrns = Array.from(
    { length: plan.declarations },
    (_, index) => `BS${tag}${String(index).padStart(6, '0')}`,
  );
  const declarations: NaiveDeclaration[] = lrns.map((lrn) => ({
    lrn,
    xml: buildMessage('IE015', { lrn, eori }),
  }));

  const stack = await startStack({
    ...benchStackSettings(`${server}/${dbName}`, prefix, plan.ratePerSecond),
    RECONCILE_ENABLED: 'false',
    // One key hands over all 1,000 at once on purpose: the benchmark measures the hub's pacing
    // to HMRC, not the per-key share that keeps one tenant from queueing ahead of the others.
    SUBMISSION_MAX_IN_FLIGHT_PER_KEY: '0',
  });
  const naiveSandbox = await startSandbox(
    loadSandboxConfig({
      SANDBOX_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      SANDBOX_CALLBACK_URL: 'http://127.0.0.1:9/unused',
      SANDBOX_PUSH_SECRET: devDefaults.SANDBOX_PUSH_SECRET,
      SANDBOX_CLIENT_ID: 'naive-sender',
      SANDBOX_CLIENT_SECRET: 'naive-sender-secret',
      SANDBOX_RATE_LIMIT_PER_SECOND: String(plan.ratePerSecond),
      LOG_LEVEL: 'silent',
    }),
    { skipTelemetry: true, logger: createLogger({ service: 'naive-sandbox', level: 'silent' }) },
  );
  const db = createDb({ url: `${server}/${dbName}`, poolMax: 2 });
  try {
    const ourSandbox = stack.sandbox!;
    for (const sandbox of [ourSandbox, naiveSandbox])
      sandbox.controls.configure({ lifecycleEnabled: false });
    await connectEori(stack, eori);
    const naiveToken = naiveSandbox.controls.issueToken({ eori }).access_token;
    const ourClient = stack.env.HMRC_CLIENT_ID!;
    const naiveClient = naiveSandbox.controls.settings().clientId;
    ourSandbox.controls.resetStats();
    naiveSandbox.controls.resetStats();

    // Ours: every declaration handed to our API (8 in flight); the hub paces them to HMRC.
    const postedAt = new Map<string, number>();
    const apiStatuses: Record<string, number> = {};
    const postAll = async () => {
      let next = 0;
      const lane = async () => {
        while (next < declarations.length) {
          const declaration = declarations[next]!;
          next += 1;
          postedAt.set(declaration.lrn, Date.now());
          let response: Response;
          // Our api has a per-key limit of its own (API_RATE_LIMIT_*): a client waits out its
          // 429 and repeats the POST with the same Idempotency-Key (never a second submission).
          for (;;) {
            response = await fetch(`${stack.apiUrl}/v1/departures`, {
              method: 'POST',
              headers: {
                authorization: `Bearer ${stack.apiKey}`,
                'content-type': 'application/xml',
                'idempotency-key': `bench-${declaration.lrn}`,
              },
              body: declaration.xml,
            });
            await response.arrayBuffer();
            apiStatuses[response.status] = (apiStatuses[response.status] ?? 0) + 1;
            if (response.status !== 429) break;
            await sleep(Math.max(1, Number(response.headers.get('retry-after') ?? '1')) * 1000);
          }
          if (response.status !== 202)
            throw new Error(`our api answered ${response.status} to ${declaration.lrn}`);
        }
      };
      await Promise.all(Array.from({ length: senderConcurrency }, lane));
    };
    const ourSettled = async () => {
      const deadline = Date.now() + plan.timeoutSeconds * 1000;
      for (;;) {
        const rows = (
          await sql<{ status: string; n: string }>`
            SELECT status, count(*) AS n FROM submissions GROUP BY status`.execute(db)
        ).rows;
        const byStatus = Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
        const settled =
          (byStatus.accepted ?? 0) + (byStatus.rejected ?? 0) + (byStatus.failed ?? 0);
        if (settled >= declarations.length) return { byStatus, at: Date.now() };
        if (Date.now() > deadline)
          throw new Error(`our submissions did not settle: ${JSON.stringify(byStatus)}`);
        await sleep(250);
      }
    };

    process.stderr.write(
      `submissions: ${plan.declarations} declarations each side at ${plan.ratePerSecond}/s…\n`,
    );
    const startedAt = Date.now();
    const [ours, naive] = await Promise.all([
      (async () => {
        await postAll();
        const postedAllAt = Date.now();
        const settled = await ourSettled();
        return { postedAllAt, ...settled };
      })(),
      runNaiveSender({
        baseUrl: naiveSandbox.url,
        token: naiveToken,
        declarations,
        concurrency: senderConcurrency,
      }),
    ]);

    // Correctness: exactly one departure per LRN at each HMRC, every submission accepted.
    const ourAccepted = checkExactlyOnce(ourSandbox, lrns, 'our sender');
    const naiveAccepted = checkExactlyOnce(naiveSandbox, lrns, 'naive sender');
    if ((ours.byStatus.accepted ?? 0) !== declarations.length)
      throw new Error(`our submissions: ${JSON.stringify(ours.byStatus)}`);
    const naiveNotAccepted = naive.outcomes.filter((outcome) => outcome.acceptedAt === undefined);
    if (naiveNotAccepted.length > 0)
      throw new Error(`naive sender: ${naiveNotAccepted.length} declarations not accepted`);

    const ourStats = ourSandbox.controls.stats();
    const naiveStats = naiveSandbox.controls.stats();
    const ourCalls = ourStats.applications[ourClient] ?? { calls: 0, throttled: 0 };
    const naiveCalls = naiveStats.applications[naiveClient] ?? { calls: 0, throttled: 0 };
    const ourRate = rateAtHmrc(ourAccepted);
    const naiveRate = rateAtHmrc(naiveAccepted);
    const ourLatency = lrns.map((lrn, index) => ourAccepted[index]! - postedAt.get(lrn)!);
    const naiveLatency = naive.outcomes.map(
      (outcome) => outcome.acceptedAt! - outcome.firstAttemptAt,
    );
    const attemptCounts = (
      await sql<{ attempts: number }>`SELECT attempt_count AS attempts FROM submissions`.execute(db)
    ).rows.map((row) => Number(row.attempts));
    const ourTotalSeconds = (Math.max(...ourAccepted) - startedAt) / 1000;
    const naiveTotalSeconds = (Math.max(...naiveAccepted) - startedAt) / 1000;

    const figures = {
      loadAverageAtStart: load,
      declarations: plan.declarations,
      allowedRatePerSecond: plan.ratePerSecond,
      hubPacerSpacingMs: spacingFor(plan.ratePerSecond),
      senderConcurrency,
      sideBySide: 'both senders at once, each against its own sandbox with its own limit',
      ours: {
        apiStatuses,
        apiPostSeconds: round((ours.postedAllAt - startedAt) / 1000, 1),
        acceptedAtHmrc: ourAccepted.length,
        ratePerSecond: round(ourRate, 3),
        percentOfAllowed: round((ourRate / plan.ratePerSecond) * 100, 1),
        throttled429: ourCalls.throttled,
        hmrcCalls: ourCalls.calls + ourCalls.throttled,
        hmrcCallsPerDeclaration: round((ourCalls.calls + ourCalls.throttled) / lrns.length, 3),
        attemptsMax: Math.max(...attemptCounts),
        totalSeconds: round(ourTotalSeconds, 1),
        tightestStoredWindowMs: tightestWindowMs(ourAccepted, plan.ratePerSecond),
        worstSlidingSecond: maxInWindow(
          ourSandbox.controls
            .arrivals()
            .filter((arrival) => arrival.clientId === ourClient)
            .map((arrival) => arrival.at),
        ),
        latencyMs: pct(ourLatency),
        sandboxApi: ourStats.api,
      },
      naive: {
        acceptedAtHmrc: naiveAccepted.length,
        ratePerSecond: round(naiveRate, 3),
        percentOfAllowed: round((naiveRate / plan.ratePerSecond) * 100, 1),
        throttled429: naiveCalls.throttled,
        hmrcCalls: naiveCalls.calls + naiveCalls.throttled,
        hmrcCallsPerDeclaration: round((naiveCalls.calls + naiveCalls.throttled) / lrns.length, 3),
        totalSeconds: round(naiveTotalSeconds, 1),
        tightestStoredWindowMs: tightestWindowMs(naiveAccepted, plan.ratePerSecond),
        worstSlidingSecond: maxInWindow(
          naiveSandbox.controls
            .arrivals()
            .filter((arrival) => arrival.clientId === naiveClient)
            .map((arrival) => arrival.at),
        ),
        latencyMs: pct(naiveLatency),
      },
      ratios: {
        throughputOursOverNaive: round(ourRate / naiveRate, 3),
        callsNaiveOverOurs: round(
          (naiveCalls.calls + naiveCalls.throttled) /
            Math.max(1, ourCalls.calls + ourCalls.throttled),
          2,
        ),
      },
    };
    const targets: BenchTarget[] = [
      {
        what: 'our throughput at HMRC, % of the allowed rate',
        target: '≥ 95%',
        measured: `${figures.ours.percentOfAllowed}% (${figures.ours.ratePerSecond}/s of ${plan.ratePerSecond}/s; naive ${figures.naive.percentOfAllowed}%)`,
        met: figures.ours.percentOfAllowed >= 95,
      },
      {
        what: '429s received by our sender',
        target: '0',
        measured: `${ourCalls.throttled} (naive: ${thousands(naiveCalls.throttled)})`,
        met: ourCalls.throttled === 0,
      },
      {
        what: 'worst sliding second of our HMRC calls (arrivals at the sandbox)',
        target: `≤ ${plan.ratePerSecond}`,
        measured: `${figures.ours.worstSlidingSecond} (naive: ${figures.naive.worstSlidingSecond}, 429s included)`,
        met: figures.ours.worstSlidingSecond <= plan.ratePerSecond,
      },
      {
        what: 'every declaration accepted exactly once (one movement per LRN at HMRC)',
        target: `${thousands(plan.declarations)} of ${thousands(plan.declarations)}`,
        measured: `ours ${ourAccepted.length}, naive ${naiveAccepted.length}, no duplicates`,
        met: true,
      },
    ];
    return {
      id: 'submissions',
      title: '5. Submissions vs naive sender',
      quick,
      figures,
      targets,
      notes: [
        `HMRC allows ${plan.ratePerSecond} requests in any sliding second per application; the hub's pacer hands out one slot every ${spacingFor(plan.ratePerSecond)} ms (1000/N plus a margin for arrival jitter), which caps it at ${round((1000 / spacingFor(plan.ratePerSecond) / plan.ratePerSecond) * 100, 1)}% of the allowed rate.`,
        'The naive sender is as fast as HMRC lets anyone be: its throughput is the limit itself, paid for in 429s (each one a call HMRC counts and, in production, a signal of abuse). Ours spends one call per declaration.',
        'Latency for ours is dominated by queueing: all declarations are handed over at once and leave at the allowed rate, so the last waits about N / rate.',
      ],
    };
  } finally {
    await db.destroy();
    await naiveSandbox.stop();
    await stack.stop();
    await dropDatabase(server, dbName).catch(() => undefined);
    await deleteKeysWithPrefix(redisUrl, prefix).catch(() => undefined);
  }
}

await runIfMain(import.meta.url, bench);
