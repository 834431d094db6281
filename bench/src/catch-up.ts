/**
 * Benchmark 9: catch-up inside HMRC's budget (issue 14 §2).
 *
 * The hub's receiver and worker are down while N messages (10 % over 80 KB, so delivered by URI)
 * reach HMRC (the sandbox) for one trader; PPNS keeps retrying each push
 * (SANDBOX_PUSH_RETRY_INTERVAL_MS, 5 s) and the box holds them for pull. The api stays up. Then
 * the receiver and worker start while one declaration per second is submitted through the api.
 *
 * Measured: time until every message is stored, HMRC calls by route and 429s meanwhile, and the
 * declarations' time from POST to accepted by HMRC (submissions.created_at → completed_at) during
 * the catch-up against the same once the hub is idle again.
 *
 * The floor: with PPNS pushing inline bodies again, the only HMRC calls storing every message
 * cannot avoid are one body GET per message over 80 KB: large / 3 s at the whole budget, and
 * large / 2 s with the declarations' 1/s taken out (they go first). Proving that nothing was
 * lost (a notification PPNS never had) takes one message list per movement updated in the
 * outage on top; the hub makes those once the box has been pulled past the movement's update,
 * after the messages are stored, and they are reported apart.
 *
 * The naive recovery (sweep every movement's messages: one list per movement, one GET per
 * message) is run in the quick form by a small client against the same sandbox
 * (naive-recovery.ts, its own application's budget); in the full form it is computed.
 *
 *   pnpm exec tsx bench/src/catch-up.ts [--quick]     (BENCH_CATCH_UP_MESSAGES=N for another N)
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type startSandbox, type StatsSnapshot } from '@ctc-hub/hmrc-sandbox';
import { buildMessage, buildMessageOfSize } from '@ctc-hub/ncts-testkit';
import { sql } from 'kysely';
import { connectEori, devDefaults } from '../../scripts/stack.js';
import { spawnNode, stop, waitHttp, type Service } from './footprint.js';
import { percentiles, round } from './lib.js';
import { naiveRecovery, type NaiveRecoveryResult } from './naive-recovery.js';
import { benchHubEnvironment } from './hub-env.js';
import { runIfMain, thousands, type Bench, type BenchTarget } from './report.js';

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const log = (line: string) => process.stderr.write(`catch-up bench: ${line}\n`);
const eori = devDefaults.HMRC_DEFAULT_EORI;
const hmrcPerSecond = 3;

const plans = {
  quick: { messages: 300, perMovement: 5, timeoutSeconds: 240, idleDeclarations: 5, naive: true },
  full: {
    messages: 5_000,
    perMovement: 5,
    timeoutSeconds: 3_600,
    idleDeclarations: 20,
    naive: false,
  },
};

/** What an HMRC call was for, from its method and path. */
function kindOf(method: string, path: string): string {
  const bare = path.split('?')[0]!;
  if (bare === '/oauth/token') return 'token';
  if (/^\/misc\/push-pull-notification\/box\/[^/]+\/notifications$/.test(bare))
    return method === 'GET' ? 'box list' : 'box other';
  if (bare.endsWith('/acknowledge')) return 'box acknowledge';
  if (/^\/customs\/transits\/movements\/(departures|arrivals)$/.test(bare))
    return method === 'POST' ? 'declaration' : 'movement list';
  if (/\/messages\/[^/]+\/body$/.test(bare) || /\/messages\/[^/]+$/.test(bare))
    return method === 'GET' ? 'message GET' : 'other';
  if (/\/messages$/.test(bare)) return method === 'GET' ? 'message list' : 'follow-up';
  return `${method} other`;
}

type Arrivals = ReturnType<Awaited<ReturnType<typeof startSandbox>>['controls']['arrivals']>;

/** Calls of one application by kind in [from, to), and in buckets of `bucketMs` from `from`. */
function callsByKind(
  arrivals: Arrivals,
  clientId: string,
  from: number,
  to: number,
  bucketMs: number,
) {
  const total: Record<string, number> = {};
  const buckets: Record<string, number>[] = [];
  for (const arrival of arrivals) {
    if (arrival.clientId !== clientId || arrival.at < from || arrival.at >= to) continue;
    const kind = kindOf(arrival.method, arrival.path);
    total[kind] = (total[kind] ?? 0) + 1;
    const index = Math.floor((arrival.at - from) / bucketMs);
    const bucket = (buckets[index] ??= {});
    bucket[kind] = (bucket[kind] ?? 0) + 1;
  }
  return { total, buckets: Array.from(buckets, (bucket) => bucket ?? {}) };
}

function callsBetween(before: StatsSnapshot, after: StatsSnapshot) {
  const byRoute: Record<string, number> = {};
  let total = 0;
  let throttled = 0;
  for (const [route, statuses] of Object.entries(after.api)) {
    for (const [status, count] of Object.entries(statuses)) {
      const calls = count - (before.api[route]?.[status] ?? 0);
      if (calls <= 0) continue;
      byRoute[`${route} ${status}`] = calls;
      total += calls;
      if (status === '429') throttled += calls;
    }
  }
  return { total, throttled, byRoute };
}

export const bench: Bench = async ({ quick }) => {
  const override = Number(process.env.BENCH_CATCH_UP_MESSAGES ?? '');
  const plan = {
    ...plans[quick ? 'quick' : 'full'],
    ...(Number.isInteger(override) && override > 0 ? { messages: override } : {}),
  };
  const loadAtStart = loadavg().map((value) => round(value, 2));
  const services: Service[] = [];
  let hub: Awaited<ReturnType<typeof benchHubEnvironment>> | undefined;
  try {
    hub = await benchHubEnvironment('catchup');
    const { db, sandbox, env, receiverUrl, workerUrl, apiUrl } = hub;
    const tsx = (path: string) => ['--import', 'tsx', root(path)];
    const api = spawnNode('api', tsx('services/api/src/main.ts'), env);
    services.push(api);
    await waitHttp(`${apiUrl}/readyz`);
    await connectEori({ apiUrl, apiKey: devDefaults.API_KEYS }, eori);

    // The outage: N messages reach HMRC, every push fails (nothing listens) and is retried.
    const movements = Math.ceil(plan.messages / plan.perMovement);
    const movementIds = Array.from({ length: movements }, () => randomBytes(8).toString('hex'));
    const large = buildMessageOfSize('IE029', 100_000);
    const messageIds: string[] = [];
    let largeCount = 0;
    for (let index = 0; index < plan.messages; index += 1) {
      const movementId = movementIds[index % movements]!;
      const isLarge = index % 10 === 9;
      const result = sandbox.controls.injectMessage(
        'departure',
        movementId,
        isLarge ? { xml: large, eori } : { generate: { messageType: 'IE060' }, eori },
      );
      messageIds.push(result.messageId);
      if (isLarge) largeCount += 1;
    }
    log(`${plan.messages} messages (${largeCount} over 80 KB) at HMRC, hub down`);
    await sleep(6_000);

    // The hub comes back; declarations keep arriving at 1/s until every message is stored.
    // Timed from both processes answering /readyz: their start-up (seconds under tsx on a busy
    // machine) is reported apart, and declarations start arriving once the hub is back.
    const statsBefore = sandbox.controls.stats();
    const spawnedAt = Date.now();
    services.push(spawnNode('receiver', tsx('services/receiver/src/main.ts'), env));
    services.push(spawnNode('worker', tsx('services/worker/src/main.ts'), env));
    await Promise.all([
      waitHttp(`${receiverUrl}/readyz`, 120_000),
      waitHttp(`${workerUrl}/readyz`, 120_000),
    ]);
    const started = Date.now();
    const startupSeconds = round((started - spawnedAt) / 1000, 1);
    const stored = async () =>
      (
        await sql<{ n: number }>`
          SELECT count(*)::int AS n FROM messages WHERE message_id = ANY(${messageIds})`.execute(db)
      ).rows[0]!.n;
    let done = false;
    const declare = async (tag: string) => {
      const lrn = `CU${tag}${randomBytes(4).toString('hex').toUpperCase()}`;
      const response = await fetch(`${apiUrl}/v1/departures`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${devDefaults.API_KEYS}`,
          'content-type': 'application/xml',
          'idempotency-key': `catch-up-${lrn}`,
        },
        body: buildMessage('IE015', { lrn, eori }),
      });
      await response.arrayBuffer();
      if (response.status !== 202) throw new Error(`declaration answered ${response.status}`);
      return lrn;
    };
    const duringLrns: string[] = [];
    const declarations = (async () => {
      for (let n = 0; !done; n += 1) {
        const due = started + n * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
        if (!done) duringLrns.push(await declare('D'));
      }
    })();
    let storedCount = 0;
    for (;;) {
      storedCount = await stored();
      if (storedCount >= plan.messages) break;
      if (Date.now() - started > plan.timeoutSeconds * 1000) break;
      await sleep(250);
    }
    const caughtUp = Date.now();
    const catchUpSeconds = round((caughtUp - started) / 1000, 1);
    done = true;
    await declarations;
    const statsAfter = sandbox.controls.stats();
    const calls = callsBetween(statsBefore, statsAfter);
    const hubClient = devDefaults.SANDBOX_CLIENT_ID;
    const during = callsByKind(sandbox.controls.arrivals(), hubClient, started, caughtUp, 5_000);
    log(`calls by kind during catch-up: ${JSON.stringify(during.total)}`);
    log(`per 5 s: ${JSON.stringify(during.buckets)}`);
    log(
      `stored ${storedCount}/${plan.messages} in ${catchUpSeconds} s after start-up of ${startupSeconds} s; calls ${JSON.stringify(calls)}`,
    );

    // The same declarations on the idle hub, for the baseline.
    const idleLrns: string[] = [];
    for (let n = 0; n < plan.idleDeclarations; n += 1) {
      idleLrns.push(await declare('I'));
      await sleep(1000);
    }
    // Where each declaration's time went: in the queue until its job started (attempts[0].at),
    // in the job (token, pacer, HMRC's answer: durationMs), and committing the acceptance.
    const latencies = async (lrns: string[]) => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const rows = await sql<{
          lrn: string;
          created: Date;
          completed: Date | null;
          attempts: { at: string; durationMs: number; outcome: string }[] | null;
        }>`
          SELECT lrn, created_at AS created, completed_at AS completed, attempts FROM submissions
           WHERE lrn = ANY(${lrns})`.execute(db);
        const finished = rows.rows.filter((row) => row.completed !== null);
        if (finished.length >= lrns.length || Date.now() > deadline) {
          const each = finished.map((row) => {
            const first = row.attempts?.[0];
            const last = row.attempts?.at(-1);
            const created = new Date(row.created).getTime();
            const jobStart = first === undefined ? created : new Date(first.at).getTime();
            return {
              lrn: row.lrn,
              created,
              totalMs: new Date(row.completed!).getTime() - created,
              queuedMs: jobStart - created,
              inJobMs: last?.durationMs ?? 0,
              attempts: row.attempts?.length ?? 0,
              jobStart,
            };
          });
          const p = percentiles(each.map((one) => one.totalMs));
          const queued = percentiles(each.map((one) => one.queuedMs));
          const inJob = percentiles(each.map((one) => one.inJobMs));
          const slowest = each.sort((a, b) => b.totalMs - a.totalMs)[0];
          return {
            count: lrns.length,
            accepted: finished.length,
            p50: round(p.p50, 0),
            p99: round(p.p99, 0),
            queuedP50: round(queued.p50, 0),
            queuedP99: round(queued.p99, 0),
            inJobP50: round(inJob.p50, 0),
            inJobP99: round(inJob.p99, 0),
            slowest,
          };
        }
        await sleep(500);
      }
    };
    const declared = await latencies(duringLrns);
    const idle = await latencies(idleLrns);
    // The slowest declaration of the catch-up: the hub's HMRC calls between its job starting and
    // its acceptance (what it queued behind, if anything).
    const slow = declared.slowest;
    const behindSlowest =
      slow === undefined
        ? undefined
        : {
            secondsFromReady: round((slow.created - started) / 1000, 1),
            totalMs: slow.totalMs,
            queuedMs: slow.queuedMs,
            inJobMs: slow.inJobMs,
            attempts: slow.attempts,
            callsWhileInJob: callsByKind(
              sandbox.controls.arrivals(),
              hubClient,
              slow.jobStart,
              slow.jobStart + slow.inJobMs,
              60_000,
            ).total,
          };
    log(`slowest declaration: ${JSON.stringify(behindSlowest)}`);
    log(
      `declarations during: ${JSON.stringify({ ...declared, slowest: undefined })}; idle: ${JSON.stringify({ ...idle, slowest: undefined })}`,
    );
    // The sweep's checks (one list per movement updated in the outage, the proof that PPNS lost
    // nothing) come once the box has been pulled past each movement: wait for them, bounded.
    const checksWait = Number(process.env.BENCH_CATCH_UP_CHECKS_WAIT_SECONDS ?? '');
    const checksDeadline =
      Date.now() +
      (Number.isFinite(checksWait) &&
      checksWait >= 0 &&
      process.env.BENCH_CATCH_UP_CHECKS_WAIT_SECONDS
        ? checksWait
        : Math.min(900, 60 + movements / 1.8)) *
        1000;
    const listsSince = (from: number) =>
      sandbox!.controls
        .arrivals()
        .filter(
          (arrival) =>
            arrival.clientId === hubClient &&
            arrival.at >= from &&
            kindOf(arrival.method, arrival.path) === 'message list',
        );
    while (listsSince(started).length < movements && Date.now() < checksDeadline)
      await sleep(1_000);
    const checks = listsSince(started);
    const checksDoneSeconds =
      checks.length === 0 ? null : round((checks.at(-1)!.at - started) / 1000, 1);
    log(`sweep checks: ${checks.length} message lists, the last ${checksDoneSeconds} s from ready`);
    // Recovery's calls after every message was stored, until now.
    const afterwards = callsByKind(
      sandbox.controls.arrivals(),
      hubClient,
      caughtUp,
      Date.now(),
      600_000,
    );

    // The naive recovery on the same scenario: its own application's budget, after the hub's run.
    let naive: NaiveRecoveryResult | undefined;
    if (plan.naive) {
      const token = sandbox.controls.issueToken({ eori, clientId: 'naive-recovery-bench' });
      log('naive recovery: sweeping every movement, one GET per message');
      naive = await naiveRecovery({
        baseUrl: sandbox.url,
        token: token.access_token,
        movementIds,
        perSecond: hmrcPerSecond,
        declaration: (index) =>
          buildMessage('IE015', {
            lrn: `NV${index}${randomBytes(4).toString('hex').toUpperCase()}`,
            eori,
          }),
        timeoutMs: plan.timeoutSeconds * 1000 * 4,
      });
      log(`naive recovery: ${JSON.stringify(naive)}`);
    }

    // Recovery's unavoidable calls for storing: one body GET per message over 80 KB (PPNS
    // re-pushes the rest inline). At the whole budget, and with the declarations' 1/s out.
    const floorCalls = largeCount;
    const floorSeconds = round(floorCalls / hmrcPerSecond, 1);
    const floorShare = round(floorSeconds / catchUpSeconds, 2);
    const floorSecondsShared = round(floorCalls / (hmrcPerSecond - 1), 1);
    const floorShareShared = round(floorSecondsShared / catchUpSeconds, 2);
    const naiveCalls = movements + plan.messages;
    const naiveSeconds = round(naiveCalls / hmrcPerSecond, 0);
    const naiveSecondsShared = round(naiveCalls / (hmrcPerSecond - 1), 0);
    const added = round(declared.p99 - idle.p99, 0);
    if (storedCount < plan.messages)
      throw new Error(
        `only ${storedCount} of ${plan.messages} messages stored in ${plan.timeoutSeconds} s`,
      );
    const targets: BenchTarget[] = [
      {
        what: `time to store ${thousands(plan.messages)} messages after the outage vs the floor`,
        target: '≥ 90 % of the floor rate',
        measured: `${catchUpSeconds} s from ready (start-up ${startupSeconds} s more) vs floor ${floorSeconds} s (${floorCalls} body GETs at 3/s): ${Math.round(floorShare * 100)} %; with the declarations' 1/s out, floor ${floorSecondsShared} s: ${Math.round(floorShareShared * 100)} %`,
        met: floorShare >= 0.9,
      },
      {
        what: '429s from HMRC during catch-up',
        target: '0',
        measured: String(calls.throttled),
        met: calls.throttled === 0,
      },
      {
        what: 'declaration POST → accepted at HMRC, p99 during catch-up minus idle',
        target: '≤ 2,000 ms added',
        measured: `${declared.p99} − ${idle.p99} = ${added} ms (p50 ${declared.p50} vs ${idle.p50} ms; queued p99 ${declared.queuedP99} ms, in job p99 ${declared.inJobP99} ms)`,
        met: added <= 2000,
      },
      {
        what: 'naive recovery (sweep every movement, GET every message) on the same scenario',
        target: 'report',
        measured:
          naive === undefined
            ? `≥ ${thousands(naiveCalls)} calls, ≥ ${thousands(naiveSeconds)} s at 3/s, ≥ ${thousands(naiveSecondsShared)} s beside the declarations (computed)`
            : `run: ${naive.seconds} s, ${naive.calls.lists} lists + ${naive.calls.gets} GETs + ${naive.calls.declarations} declarations, ${naive.calls.throttled} × 429 (computed: ${thousands(naiveCalls)} calls, ${thousands(naiveSecondsShared)} s beside the declarations)`,
        met: true,
      },
    ];
    return {
      id: 'catch-up',
      title: '9. Catch-up inside HMRC’s budget',
      quick,
      figures: {
        loadAverageAtStart: loadAtStart,
        plan,
        movements,
        largeMessages: largeCount,
        startupSeconds,
        catchUpSeconds,
        stored: storedCount,
        hmrcCalls: calls,
        callsByKind: during.total,
        callsPer5s: during.buckets,
        callsAfterStored: afterwards.total,
        checks: { messageLists: checks.length, lastSecondsFromReady: checksDoneSeconds },
        floor: {
          calls: floorCalls,
          seconds: floorSeconds,
          share: floorShare,
          secondsBesideDeclarations: floorSecondsShared,
          shareBesideDeclarations: floorShareShared,
        },
        naive: {
          computed: {
            calls: naiveCalls,
            seconds: naiveSeconds,
            secondsBesideDeclarations: naiveSecondsShared,
          },
          ...(naive === undefined ? {} : { run: naive }),
        },
        declarations: { during: declared, idle, addedP99Ms: added, slowest: behindSlowest },
      },
      targets,
      notes: [
        'Receiver, worker and api run from source under tsx, each in its own process; the sandbox (HMRC and PPNS) in the bench process. PPNS retries a failed push every 5 s.',
        plan.naive
          ? 'The naive recovery is run by bench/src/naive-recovery.ts against the same sandbox with its own application budget (one list per movement, one GET per message, a declaration per second first).'
          : 'The naive figure is computed (one list per movement plus one GET per message, paced at 3/s, or at 2/s beside the declarations), not run.',
      ],
    };
  } finally {
    await stop(services);
    await hub?.dispose();
  }
};

await runIfMain(import.meta.url, bench);
