/**
 * Benchmark 3: push against polling. The sandbox enforces HMRC's 3 requests/s per application;
 * N movements (10, 100, 1,000) are active and messages appear at HMRC (the sandbox's NCTS) at
 * random moments of a bounded window. For each message we measure the time from its `received`
 * at HMRC until it can be read:
 *  - push: PPNS push → our receiver → Redis → worker → PostgreSQL → our api answers 200 for
 *    GET …/departures/{id}/messages/{messageId} (probed every PROBE_MS ms from the bench);
 *  - polling: bench/src/polling-client.ts, round-robin over the N movements' message lists and
 *    a fetch of each new message, paced to the same 3/s with its own token.
 * Both run side by side on the same sandbox and the same messages. The poller is a second
 * application at the sandbox (HMRC's limit is per application), so neither takes the other's
 * budget; HMRC calls per stored message come from the sandbox's per-application counters.
 *
 * Each N runs until every message is stored by both or RUN_SECONDS after the window opened.
 * Messages the poller has not stored by then are censored: their freshness is only known to be
 * at least the time elapsed, and percentiles that depend on them are reported as lower bounds.
 *
 *   pnpm exec tsx bench/src/freshness.ts [--quick]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { createDb } from '@ctc-hub/db';
import type { SandboxHandle, StatsSnapshot } from '@ctc-hub/hmrc-sandbox';
import { spacingFor } from '@ctc-hub/queue';
import { deleteKeysWithPrefix, dropDatabase } from '@ctc-hub/testing';
import { sql } from 'kysely';
import { connectEori, startStack } from '../../scripts/stack.js';
import { benchStackSettings, percentiles, round } from './lib.js';
import { PollingClient } from './polling-client.js';
import { runIfMain, thousands, type Bench, type BenchTarget } from './report.js';

const eori = 'GB123456789000';
const pollerClientId = 'bench-polling-client';
const probeMs = 5;
const rateLimitPerSecond = 3;
/** Inbound NCTS messages of a departure, ~1-3 KB each (inline in the push). */
const messageTypes = ['IE060', 'IE029', 'IE035', 'IE055', 'IE182'] as const;

interface Plan {
  movements: number[];
  messages: number;
  windowSeconds: number;
  runSeconds: number;
}

const plans: Record<'quick' | 'full', Plan> = {
  quick: { movements: [10], messages: 12, windowSeconds: 2, runSeconds: 5 },
  full: { movements: [10, 100, 1000], messages: 60, windowSeconds: 40, runSeconds: 90 },
};

/** mulberry32: the same random schedule on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hexId = () => randomBytes(8).toString('hex');

/**
 * Percentiles of right-censored samples: `lower` treats a censored sample as its bound (elapsed
 * time), `upper` as infinite. Where they agree the value is exact; otherwise only `≥ lower` is
 * known (upper is null when it falls on a censored sample).
 */
function censoredPercentiles(
  exact: number[],
  censoredBounds: number[],
): Record<'p50' | 'p90' | 'p99' | 'max', { ms: number; exact: boolean; text: string }> {
  const lower = percentiles([...exact, ...censoredBounds]);
  const upper = percentiles([...exact, ...censoredBounds.map(() => Number.POSITIVE_INFINITY)]);
  const entry = (key: 'p50' | 'p90' | 'p99' | 'max') => {
    const isExact = lower[key] === upper[key];
    return {
      ms: Math.round(lower[key]),
      exact: isExact,
      text: `${isExact ? '' : '≥ '}${seconds(lower[key])}`,
    };
  };
  return { p50: entry('p50'), p90: entry('p90'), p99: entry('p99'), max: entry('max') };
}

const seconds = (ms: number) =>
  ms >= 10_000 ? `${round(ms / 1000, 0)} s` : `${round(ms / 1000, 2)} s`;

const callsOf = (before: StatsSnapshot, after: StatsSnapshot, clientId: string) => ({
  calls: (after.applications[clientId]?.calls ?? 0) - (before.applications[clientId]?.calls ?? 0),
  throttled:
    (after.applications[clientId]?.throttled ?? 0) -
    (before.applications[clientId]?.throttled ?? 0),
});

async function runOne(args: {
  sandbox: SandboxHandle;
  apiUrl: string;
  apiKey: string;
  hubClientId: string;
  pollerToken: string;
  countMessages: (ids: string[]) => Promise<number>;
  /** Per message id: when the receiver took the push, when the worker's batch stored it. */
  stageTimes: (messageIds: string[]) => Promise<Map<string, { received: number; stored: number }>>;
  movements: number;
  plan: Plan;
  seed: number;
}): Promise<Record<string, unknown>> {
  const { sandbox, plan } = args;
  const controls = sandbox.controls;
  const random = seededRandom(args.seed);
  const movementIds = Array.from({ length: args.movements }, hexId);

  // Set-up: every movement exists at HMRC (an IE028 allocates the MRN) and in our store.
  for (const id of movementIds)
    controls.injectMessage('departure', id, { generate: { messageType: 'IE028' }, eori });
  const setupDeadline = Date.now() + 60_000;
  while ((await args.countMessages(movementIds)) < movementIds.length) {
    if (Date.now() > setupDeadline) throw new Error('set-up messages were not stored in 60 s');
    await sleep(50);
  }
  await sleep(200);

  const before = controls.stats();
  const windowStart = Date.now();
  const poller = new PollingClient({
    baseUrl: sandbox.url,
    token: args.pollerToken,
    movementIds,
    since: new Date(windowStart),
    ratePerSecond: rateLimitPerSecond,
  });
  poller.start();

  interface Sent {
    movementId: string;
    messageId: string;
    received: number;
    pushVisibleAt?: number;
  }
  const sent = new Map<string, Sent>();
  const probes: Promise<void>[] = [];
  const runDeadline = windowStart + plan.runSeconds * 1000;
  const probe = async (message: Sent) => {
    const url = `${args.apiUrl}/customs/transits/movements/departures/${message.movementId}/messages/${message.messageId}`;
    while (Date.now() < runDeadline) {
      const response = await fetch(url, {
        headers: {
          authorization: `Bearer ${args.apiKey}`,
          accept: 'application/vnd.hmrc.2.1+json-xml',
        },
      });
      await response.arrayBuffer();
      if (response.status === 200) {
        message.pushVisibleAt = Date.now();
        return;
      }
      if (response.status !== 404) throw new Error(`our api answered ${response.status}`);
      await sleep(probeMs);
    }
  };
  const schedule = Array.from({ length: plan.messages }, (_, index) => ({
    at: random() * plan.windowSeconds * 1000,
    movementId: movementIds[Math.floor(random() * movementIds.length)]!,
    messageType: messageTypes[index % messageTypes.length]!,
  })).sort((a, b) => a.at - b.at);
  const injections = schedule.map(
    (entry) =>
      new Promise<void>((resolve) =>
        setTimeout(
          () => {
            const result = controls.injectMessage('departure', entry.movementId, {
              generate: { messageType: entry.messageType },
              eori,
            });
            const stored = controls
              .movement(entry.movementId)!
              .messages.find((message) => message.id === result.messageId)!;
            const message: Sent = {
              movementId: entry.movementId,
              messageId: result.messageId,
              received: stored.received,
            };
            sent.set(message.messageId, message);
            probes.push(probe(message));
            resolve();
          },
          Math.max(0, windowStart + entry.at - Date.now()),
        ),
      ),
  );
  await Promise.all(injections);
  while (Date.now() < runDeadline) {
    const pushDone = [...sent.values()].every((message) => message.pushVisibleAt !== undefined);
    const pollDone = [...sent.keys()].every((id) => poller.stored.has(id));
    if (pushDone && pollDone) break;
    await sleep(50);
  }
  const end = Date.now();
  await poller.stop();
  await Promise.all(probes);
  const after = controls.stats();

  const messages = [...sent.values()];
  const pushExact = messages.flatMap((m) =>
    m.pushVisibleAt === undefined ? [] : [m.pushVisibleAt - m.received],
  );
  const pushCensored = messages.flatMap((m) =>
    m.pushVisibleAt === undefined ? [end - m.received] : [],
  );
  const pollExact = messages.flatMap((m) => {
    const polled = poller.stored.get(m.messageId);
    return polled === undefined ? [] : [polled.storedAt - m.received];
  });
  const pollCensored = messages.flatMap((m) =>
    poller.stored.has(m.messageId) ? [] : [end - m.received],
  );
  const stages = await args.stageTimes(messages.map((m) => m.messageId));
  const stage = (pick: (m: Sent, t: { received: number; stored: number }) => number) =>
    round(
      percentiles(
        messages.flatMap((m) => {
          const t = stages.get(m.messageId);
          return t === undefined || m.pushVisibleAt === undefined ? [] : [pick(m, t)];
        }),
      ).p50,
      1,
    );
  const hub = callsOf(before, after, args.hubClientId);
  const polling = callsOf(before, after, pollerClientId);
  const push = percentiles(pushExact);
  const poll = censoredPercentiles(pollExact, pollCensored);
  const pushP50 = push.p50;
  return {
    movements: args.movements,
    messages: messages.length,
    windowSeconds: plan.windowSeconds,
    runSeconds: round((end - windowStart) / 1000),
    push: {
      stored: pushExact.length,
      notSeen: pushCensored.length,
      freshnessMs: Object.fromEntries(Object.entries(push).map(([k, v]) => [k, round(v, 1)])),
      /** Medians of each stage: HMRC → receiver, receiver → stored (queue, worker, batch), stored → readable (commit, probe). */
      stagesP50Ms: {
        pushToReceiver: stage((m, t) => t.received - m.received),
        receiverToStored: stage((_m, t) => t.stored - t.received),
        storedToReadable: stage((m, t) => m.pushVisibleAt! - t.stored),
      },
      hmrcCalls: hub.calls,
      throttled: hub.throttled,
      hmrcCallsPerStoredMessage: round(hub.calls / Math.max(1, pushExact.length), 2),
    },
    polling: {
      stored: pollExact.length,
      censored: pollCensored.length,
      freshness: poll,
      fullCycleSeconds: round(poller.cycleSeconds, 1),
      cyclesCompleted: round(poller.cycles, 2),
      hmrcCalls: polling.calls,
      callsByKind: { list: poller.counts.list, fetch: poller.counts.fetch },
      throttled: polling.throttled,
      errors: poller.counts.errors,
      hmrcCallsPerStoredMessage:
        pollExact.length === 0 ? null : round(polling.calls / pollExact.length, 1),
    },
    p50Ratio: {
      value: round(poll.p50.ms / Math.max(0.1, pushP50), 0),
      exact: poll.p50.exact,
      text: `${poll.p50.exact ? '' : '≥ '}${thousands(poll.p50.ms / Math.max(0.1, pushP50))}×`,
    },
  };
}

export const bench: Bench = async ({ quick }) => {
  const plan = plans[quick ? 'quick' : 'full'];
  const load = loadavg().map((value) => round(value, 2));
  const server = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const dbName = `ctc_bench_fresh_${Date.now()}`;
  const prefix = `{benchfresh${randomBytes(3).toString('hex')}}`;
  const stack = await startStack({
    ...benchStackSettings(`${server}/${dbName}`, prefix, rateLimitPerSecond),
    // Push path only: reconciliation would spend the budget on sweeps (a separate cost).
    RECONCILE_ENABLED: 'false',
  });
  const db = createDb({ url: `${server}/${dbName}`, poolMax: 2 });
  try {
    const sandbox = stack.sandbox!;
    await connectEori(stack, eori);
    const pollerToken = sandbox.controls.issueToken({
      eori,
      clientId: pollerClientId,
    }).access_token;
    const countMessages = async (ids: string[]) =>
      Number(
        (
          await sql<{ n: string }>`SELECT count(*) AS n FROM messages
            WHERE movement_type = 'departure' AND movement_id = ANY(${ids})`.execute(db)
        ).rows[0]!.n,
      );
    const stageTimes = async (messageIds: string[]) => {
      const rows = (
        await sql<{ message_id: string; received_at: Date; processed_at: Date }>`
          SELECT message_id, received_at, processed_at FROM notifications
           WHERE message_id = ANY(${messageIds})`.execute(db)
      ).rows;
      return new Map(
        rows.map((row) => [
          row.message_id,
          { received: row.received_at.getTime(), stored: row.processed_at.getTime() },
        ]),
      );
    };
    const runs: Record<string, unknown>[] = [];
    for (const [index, movements] of plan.movements.entries()) {
      process.stderr.write(`freshness: N = ${movements}…\n`);
      runs.push(
        await runOne({
          sandbox,
          apiUrl: stack.apiUrl,
          apiKey: stack.apiKey,
          hubClientId: stack.env.HMRC_CLIENT_ID!,
          pollerToken,
          countMessages,
          stageTimes,
          movements,
          plan,
          seed: 20_251_121 + index,
        }),
      );
      process.stderr.write(`${JSON.stringify(runs.at(-1))}\n`);
    }

    type Run = {
      movements: number;
      push: { freshnessMs: { p50: number; p99: number }; notSeen: number };
      polling: { freshness: Record<'p50' | 'p99', { ms: number; text: string }> };
      p50Ratio: { value: number; exact: boolean; text: string };
    };
    const typed = runs as unknown as Run[];
    for (const run of typed)
      if (run.push.notSeen > 0)
        throw new Error(
          `N=${run.movements}: ${run.push.notSeen} pushed messages never became readable`,
        );
    const targets: BenchTarget[] = [
      {
        what: `push freshness p50 (N = ${plan.movements.join(', ')})`,
        target: '≤ 50 ms at every N',
        measured: typed.map((run) => `${run.push.freshnessMs.p50} ms`).join(', '),
        met: typed.every((run) => run.push.freshnessMs.p50 <= 50),
      },
    ];
    const at100 = typed.find((run) => run.movements === 100);
    if (at100 !== undefined)
      targets.push({
        what: 'push vs polling freshness, p50 at N = 100',
        target: '≥ 100× fresher',
        measured: `${at100.p50Ratio.text} (${at100.polling.freshness.p50.text} vs ${at100.push.freshnessMs.p50} ms)`,
        met: at100.p50Ratio.value >= 100,
      });
    return {
      id: 'freshness',
      title: '3. Push vs polling freshness',
      quick,
      figures: {
        loadAverageAtStart: load,
        rateLimitPerSecond,
        pollerSpacingMs: spacingFor(rateLimitPerSecond),
        probeIntervalMs: probeMs,
        runs,
      },
      targets,
      notes: [
        `The sandbox limits each application to ${rateLimitPerSecond} requests in any sliding second (HMRC's 3/s per application). The poller is a second application with its own token, so push and polling share the sandbox and the messages but not the budget.`,
        'Polling freshness is bounded below by the cycle: N list calls at ~2.86/s (N × 350 ms) plus one fetch per new message, so about half a cycle at p50. Push freshness is bounded by the push, the receiver enqueue, the worker batch (INGEST_BATCH_MAX_WAIT_MS) and one commit, and includes up to the probe interval.',
        'Censored: a message the poller had not stored when the run stopped counts with the time elapsed, so percentiles marked "≥" are lower bounds (at N = 1,000 one cycle is ~6 minutes, far longer than the run).',
        'Reconciliation is off here (RECONCILE_ENABLED=false): its sweeps are a fixed background cost, not part of the push path, whose only HMRC calls are fetches of messages too large to inline (none here).',
      ],
    };
  } finally {
    await db.destroy();
    await stack.stop();
    await dropDatabase(server, dbName).catch(() => undefined);
    await deleteKeysWithPrefix(redisUrl, prefix).catch(() => undefined);
  }
};

await runIfMain(import.meta.url, bench);
