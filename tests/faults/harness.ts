// The fault-injection harness: receiver(s), worker(s) and api(s) as separate processes, each
// started from its main.ts with environment configuration as in production, against a database
// and a Redis of the test's own; the HMRC sandbox in the test process (its controls count what
// HMRC produced and received); a recording PPNS front door; a steady load; and the checkers run
// once the system has settled after a fault. See docs/RELIABILITY.md.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { type Env } from '@ctc-hub/config';
import { createDb, type Db } from '@ctc-hub/db';
import { loadSandboxConfig, startSandbox, type SandboxHandle } from '@ctc-hub/hmrc-sandbox';
import { createRedis, jobIds, queueNames, type RedisConnection } from '@ctc-hub/queue';
import { createLogger } from '@ctc-hub/telemetry';
import {
  createTestDatabase,
  freePort,
  RedisCluster,
  repoRoot,
  TcpProxy,
  waitFor,
  type TestDatabase,
} from '@ctc-hub/testing';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { connectEori } from '../../scripts/stack.js';
import { PpnsGateway } from './gateway.js';
import { OwnPostgres, startOwnRedis, type OwnRedis } from './infra.js';
import { defaultLoad, LoadGenerator, type LoadOptions } from './load.js';
import { ServiceProcess, type ServiceKind } from './processes.js';

export const traderEori = 'GB123456789000';
const apiKey = 'faults-api-key';
const boxId = '5e1d9b2c-6a0e-4a57-9d63-3f0c2f8a1b7e';
const pushSecret = 'FAULTSUITEPUSHSECRET000000000000';
const clientId = 'ctc-hub-faults';
const clientSecret = 'ctc-hub-faults-secret';
/** Test-only key, 32 bytes hex. */
const tokenKey = '6661756c74732d73756974652d6f6e6c792d746f6b656e2d6b65792d21212121';

export const outputDir = path.join(repoRoot, 'test-output', 'faults');

/** Peak resident memory a service process may reach (tsx-compiled sources included). */
export const rssLimitBytes = 640 * 1024 * 1024;

export interface HarnessOptions {
  name: string;
  receivers?: number;
  workers?: number;
  apis?: number;
  /** 'own': a PostgreSQL cluster of the test's own (so it can be stopped); else a database on the shared server. */
  postgres?: 'own' | 'shared';
  /** Services reach Redis through a TcpProxy the test can cut. */
  redisProxy?: boolean;
  queuePrefix?: string;
  /**
   * Run on a real Redis Cluster of the test's own (3 primaries + 3 replicas) instead of one
   * redis-server; the services get REDIS_CLUSTER_NODES. Needs a hash-tagged queuePrefix.
   */
  redisCluster?: { nodeTimeoutMs?: number };
  /** HMRC's rate limit per application, enforced by the sandbox and configured in the workers. */
  rateLimitPerSecond?: number;
  /** Extra service environment. */
  env?: Env;
  load?: Partial<LoadOptions>;
}

export interface FaultRecord {
  fault: string;
  startedAt: number;
  endedAt: number;
  durationMs: number;
  /** From the end of the fault until every message HMRC had produced by then was stored. */
  recoveryMs?: number;
  detail?: Record<string, unknown>;
}

export interface Report {
  name: string;
  date: string;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string };
  processes: Record<string, number>;
  durationMs: number;
  load: ReturnType<LoadGenerator['figures']>;
  faults: FaultRecord[];
  settleMs: number;
  notifications: {
    acknowledged200: number;
    lost: number;
    duplicated: number;
    ackedButNotQueued: number;
    unverified: number;
    gatewayAnswers: Record<string, number>;
  };
  messages: { producedAtHmrc: number; stored: number; lost: number; duplicated: number };
  submissions: {
    accepted: number;
    reachedHmrcOnce: number;
    lost: number;
    duplicated: number;
    notAcceptedButAtHmrc: number;
    final: Record<string, number>;
  };
  hmrc: {
    rateLimitPerSecond: number;
    callsLetThrough: number;
    throttledByRateLimit: number;
    throttledAfterSandboxStall: number;
    sandboxStallsOver25Ms: number;
    peakCallsPerSecond: number;
    sandboxLoopDelayMs: { p99: number; max: number };
    injected: Record<string, number>;
    pushes: Record<string, number>;
  };
  processesHealth: {
    crashes: { process: string; code: number | null; signal: string | null }[];
    kills: number;
    peakRssMb: Record<string, number>;
  };
  /** Extra figures a test adds. */
  extra: Record<string, unknown>;
  lost: number;
  duplicated: number;
}

export class Harness {
  readonly startedAt = Date.now();
  readonly faults: FaultRecord[] = [];
  readonly extra: Record<string, unknown> = {};
  receivers: ServiceProcess[] = [];
  workers: ServiceProcess[] = [];
  apis: ServiceProcess[] = [];
  sandbox!: SandboxHandle;
  gateway!: PpnsGateway;
  load!: LoadGenerator;
  /** The single redis-server (not set when redisCluster is). */
  redis!: OwnRedis;
  redisCluster: RedisCluster | undefined;
  redisProxy: TcpProxy | undefined;
  postgres: OwnPostgres | undefined;
  private testDb: TestDatabase | undefined;
  db!: Db;
  databaseUrl!: string;
  checkRedis!: RedisConnection;
  queuePrefix: string;
  rateLimit: number;
  private rssTimer: NodeJS.Timeout | undefined;
  private rateTimer: NodeJS.Timeout | undefined;
  private callWindow: { at: number; calls: number }[] = [];
  peakCallsPerSecond = 0;
  private lastSampleAt = 0;
  private lastRefused = 0;
  private readonly stalls: { at: number; ms: number }[] = [];
  /** 429s from the sandbox's rate limit that followed a stall of the sandbox's own event loop. */
  refusedAfterStall = 0;
  /** Event-loop delay of this process (it hosts the sandbox, whose clock the rate limit uses). */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });
  private logDir: string;
  private settleMs = 0;

  private constructor(readonly options: HarnessOptions) {
    this.queuePrefix = options.queuePrefix ?? 'ctc';
    this.rateLimit = options.rateLimitPerSecond ?? 5;
    this.logDir = path.join(outputDir, 'logs', options.name);
  }

  get all(): ServiceProcess[] {
    return [...this.receivers, ...this.workers, ...this.apis];
  }

  static async start(options: HarnessOptions): Promise<Harness> {
    const harness = new Harness(options);
    try {
      await harness.boot();
    } catch (error) {
      await harness.stop().catch(() => undefined);
      throw error;
    }
    return harness;
  }

  private async boot(): Promise<void> {
    const options = this.options;
    await mkdir(this.logDir, { recursive: true });

    // Infrastructure of our own.
    const [redis, database] = await Promise.all([
      options.redisCluster
        ? RedisCluster.start(options.redisCluster).then((cluster) => (this.redisCluster = cluster))
        : startOwnRedis(),
      (async () => {
        if (options.postgres === 'own') {
          this.postgres = await OwnPostgres.create();
          return this.postgres.createDatabase();
        }
        this.testDb = await createTestDatabase();
        return this.testDb.url;
      })(),
    ]);
    if (!(redis instanceof RedisCluster)) this.redis = redis;
    this.databaseUrl = database;
    this.db = this.testDb?.db ?? createDb({ url: database, poolMax: 3 });
    const redisUrl = redis instanceof RedisCluster ? `redis://${redis.seeds[0]}` : redis.url;
    let servicesRedisUrl = redisUrl;
    if (options.redisProxy) {
      this.redisProxy = TcpProxy.forUrl(redisUrl);
      await this.redisProxy.start();
      servicesRedisUrl = this.redisProxy.rewrite(redisUrl);
    }
    const checkOptions = {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: () => 200,
    };
    if (redis instanceof RedisCluster) {
      this.checkRedis = createRedis(
        { REDIS_URL: redisUrl, REDIS_CLUSTER_NODES: redis.seeds },
        'client',
        checkOptions,
      );
    } else {
      this.checkRedis = new Redis(redisUrl, checkOptions);
      this.checkRedis.on('error', () => undefined);
    }

    // The PPNS front door, then HMRC.
    const receiverPorts = await Promise.all(
      Array.from({ length: options.receivers ?? 1 }, () => freePort()),
    );
    this.gateway = new PpnsGateway({
      receivers: receiverPorts.map((port) => `http://127.0.0.1:${port}`),
      isQueuedOrStored: (id) => this.isQueuedOrStored(id),
    });
    await this.gateway.start();
    this.sandbox = await startSandbox(
      loadSandboxConfig({
        SANDBOX_PORT: '0',
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        SANDBOX_CALLBACK_URL: this.gateway.callbackUrl,
        SANDBOX_PUSH_SECRET: pushSecret,
        SANDBOX_BOX_ID: boxId,
        SANDBOX_CLIENT_ID: clientId,
        SANDBOX_CLIENT_SECRET: clientSecret,
        SANDBOX_RATE_LIMIT_PER_SECOND: String(this.rateLimit),
        SANDBOX_NCTS_STEP_MS: '100',
        SANDBOX_PUSH_RETRY_INTERVAL_MS: '1000',
        SANDBOX_PUSH_TIMEOUT_MS: '5000',
      }),
      { skipTelemetry: true, logger: createLogger({ service: 'sandbox', level: 'silent' }) },
    );

    const env: Env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TMPDIR: process.env.TMPDIR,
      LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'warn',
      HTTP_HOST: '127.0.0.1',
      DATABASE_URL: database,
      DATABASE_POOL_MAX: '5',
      REDIS_URL: servicesRedisUrl,
      ...(this.redisCluster ? { REDIS_CLUSTER_NODES: this.redisCluster.seeds.join(',') } : {}),
      QUEUE_PREFIX: this.queuePrefix,
      PPNS_BOX_IDS: boxId,
      PPNS_PUSH_SECRETS: pushSecret,
      HMRC_API_BASE_URL: this.sandbox.url,
      HMRC_CLIENT_ID: clientId,
      HMRC_CLIENT_SECRET: clientSecret,
      HMRC_DEFAULT_EORI: traderEori,
      HMRC_RATE_LIMIT_PER_SECOND: String(this.rateLimit),
      HMRC_REQUEST_TIMEOUT_MS: '5000',
      TOKEN_ENCRYPTION_KEY: tokenKey,
      API_KEYS: apiKey,
      SUBMIT_BACKOFF_BASE_MS: '500',
      FETCH_MAX_ATTEMPTS: '12',
      // A killed worker's jobs are handed on within ~10 s (production default: 30 s).
      WORKER_JOB_LOCK_MS: '5000',
      // Declarations accepted while Redis was away are queued within ~6 s (production: ~45 s).
      OUTBOX_RELAY_SECONDS: '2',
      RECONCILE_ENABLED: 'true',
      RECONCILE_TICK_SECONDS: '1',
      PPNS_PULL_INTERVAL_SECONDS: '10',
      RECONCILE_INTERVAL_SECONDS: '30',
      RECONCILE_OVERLAP_SECONDS: '10',
      RECONCILE_GRACE_SECONDS: '2',
      ...options.env,
    };
    const make = (kind: ServiceKind, count: number, ports?: number[]) =>
      Promise.all(
        Array.from({ length: count }, async (_, index) => {
          const port = ports?.[index] ?? (await freePort());
          return new ServiceProcess(`${kind}-${index + 1}`, kind, port, env, this.logDir);
        }),
      );
    this.receivers = await make('receiver', receiverPorts.length, receiverPorts);
    this.workers = await make('worker', options.workers ?? 1);
    this.apis = await make('api', options.apis ?? 1);
    await Promise.all(this.all.map((service) => service.start()));
    // The suite's Redis is configured as production's: every service checked it (REDIS_DURABILITY
    // is left at `check`) and must report it durable, so the faults run on the durable path.
    await Promise.all(this.all.map((service) => this.expectDurableRedis(service)));
    await connectEori({ apiUrl: this.apis[0]!.url, apiKey }, traderEori);
    this.extra.bootMs = Date.now() - this.startedAt;

    this.rssTimer = setInterval(() => {
      for (const service of this.all) void service.sampleRss();
    }, 1000);
    this.rateTimer = setInterval(() => this.sampleRate(), 100);
    this.loopDelay.enable();

    this.load = new LoadGenerator(
      this.sandbox.controls,
      () => this.apis.map((service) => service.url),
      apiKey,
      traderEori,
      { ...defaultLoad, ...options.load },
    );
  }

  private async expectDurableRedis(service: ServiceProcess): Promise<void> {
    const state = await waitFor(
      async () => {
        const response = await fetch(`${service.url}/readyz`);
        const body = (await response.json()) as { checks: Record<string, string> };
        return response.status === 200 ? body.checks.redisDurability : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `${service.name} to be ready` },
    );
    if (!state?.startsWith('ok: AOF, appendfsync everysec'))
      throw new Error(`${service.name} does not report a durable Redis: ${state}`);
  }

  /**
   * Calls per second the sandbox let through for our application, sampled every 100 ms over a
   * sliding second (the sandbox itself refuses anything above the limit with 429).
   */
  private sampleRate(): void {
    const now = Date.now();
    // This process hosts the sandbox, which timestamps a call when its event loop gets to it: a
    // stall here (CPU starvation on a loaded machine) queues arrivals and stamps them together,
    // shortening the gaps the workers left. Over ~25 ms that alone can fill a sliding second.
    const lateMs = this.lastSampleAt === 0 ? 0 : now - this.lastSampleAt - 100;
    this.lastSampleAt = now;
    if (lateMs >= 25) this.stalls.push({ at: now, ms: lateMs });
    const stats = this.sandbox.controls.stats();
    const refused = stats.applications[clientId]?.throttled ?? 0;
    if (refused > this.lastRefused) {
      const stalled = this.stalls.some((stall) => stall.at >= now - 1200);
      if (stalled) this.refusedAfterStall += refused - this.lastRefused;
      this.lastRefused = refused;
    }
    const calls = stats.applications[clientId]?.calls ?? 0;
    this.callWindow.push({ at: now, calls });
    while (this.callWindow.length > 0 && this.callWindow[0]!.at < now - 1000)
      this.callWindow.shift();
    const first = this.callWindow[0]!;
    this.peakCallsPerSecond = Math.max(this.peakCallsPerSecond, calls - first.calls);
  }

  private async isQueuedOrStored(notificationId: string): Promise<boolean> {
    let redisError: unknown;
    try {
      const key = `${this.queuePrefix}:${queueNames.ingest}:${jobIds.ingest(notificationId)}`;
      if ((await this.checkRedis.exists(key)) === 1) return true;
    } catch (error) {
      redisError = error;
    }
    const row = await this.db
      .selectFrom('notifications')
      .select('notification_id')
      .where('notification_id', '=', notificationId)
      .executeTakeFirst();
    if (row !== undefined) return true;
    if (redisError !== undefined) throw redisError;
    return false;
  }

  /** Runs `inject`, timing it, and records it as one fault. */
  async fault(
    name: string,
    inject: () => Promise<Record<string, unknown> | void>,
  ): Promise<FaultRecord> {
    const startedAt = Date.now();
    const detail = (await inject()) ?? undefined;
    const endedAt = Date.now();
    const record: FaultRecord = {
      fault: name,
      startedAt,
      endedAt,
      durationMs: endedAt - startedAt,
      ...(detail ? { detail } : {}),
    };
    this.faults.push(record);
    return record;
  }

  /** Every message HMRC has produced so far, as `movementId/messageId`. */
  producedAtHmrc(): Set<string> {
    const keys = new Set<string>();
    for (const movement of this.sandbox.controls.movements())
      for (const message of movement.messages) keys.add(`${movement.id}/${message.id}`);
    return keys;
  }

  async storedMessages(): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('messages')
      .select(['movement_id', 'message_id', sql<number>`count(*)::int`.as('rows')])
      .groupBy(['movement_type', 'movement_id', 'message_id'])
      .execute();
    const stored = new Map<string, number>();
    for (const row of rows) {
      const key = `${row.movement_id}/${row.message_id}`;
      stored.set(key, (stored.get(key) ?? 0) + row.rows);
    }
    return stored;
  }

  /**
   * Waits until every message HMRC had produced when `fault` ended is stored, and records how
   * long that took after the fault ended (recovery time). Runs while the load continues.
   */
  async recovered(fault: FaultRecord, timeoutMs = 45_000): Promise<number> {
    const wanted = this.producedAtHmrc();
    let missing: string[] = [];
    const trace: string[] = [];
    let lastTrace = 0;
    await waitFor(
      async () => {
        const stored = await this.storedMessages();
        missing = [...wanted].filter((key) => !stored.has(key));
        if (Date.now() - lastTrace > 3000 && missing.length > 0) {
          lastTrace = Date.now();
          trace.push(`+${Date.now() - fault.endedAt} ms: ${await this.diagnose(missing)}`);
        }
        fault.detail = { ...fault.detail, recoveryTrace: trace };
        return missing.length === 0;
      },
      { timeoutMs, intervalMs: 250, what: `recovery after ${fault.fault}` },
    ).catch(async (error: unknown) => {
      throw new Error(`${(error as Error).message}: ${await this.diagnose(missing)}`);
    });
    fault.recoveryMs = Date.now() - fault.endedAt;
    return fault.recoveryMs;
  }

  /** What we know about messages that are not stored, for a failure message. */
  async diagnose(keys: string[]): Promise<string> {
    const box = this.sandbox.controls.notifications();
    const lines: string[] = [];
    for (const key of keys.slice(0, 5)) {
      const [movementId, messageId] = key.split('/') as [string, string];
      const notification = box.find((entry) => {
        const payload = JSON.parse(entry.message as string) as Record<string, string>;
        return payload.messageId === messageId;
      });
      const id = notification?.notificationId as string | undefined;
      const row =
        id === undefined
          ? undefined
          : await this.db
              .selectFrom('notifications')
              .select(['status', 'error'])
              .where('notification_id', '=', id)
              .executeTakeFirst();
      const job =
        id === undefined
          ? undefined
          : await this.checkRedis
              .hmget(
                `${this.queuePrefix}:${queueNames.ingest}:${jobIds.ingest(id)}`,
                'processedOn',
                'finishedOn',
                'failedReason',
                'attemptsMade',
              )
              .catch(() => undefined);
      const letters = await this.db
        .selectFrom('dead_letters')
        .select(['kind', 'error_code'])
        .where('message_id', '=', messageId)
        .execute();
      lines.push(
        `${movementId}/${messageId}: ppns=${notification?.status}/${notification?.attempts} ` +
          `acked=${id ? this.gateway.acknowledged.get(id) : '-'} row=${JSON.stringify(row)} ` +
          `job=${JSON.stringify(job)} letters=${JSON.stringify(letters)}`,
      );
    }
    return `${keys.length} missing; ${lines.join('; ')}`;
  }

  /** Lets the load run for `ms`. */
  async run(ms: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  /**
   * Stops the load and waits for the system to settle: PPNS idle (nothing in flight or due for
   * retry), every message HMRC holds stored, every acknowledged notification recorded, every
   * accepted declaration at HMRC and every submission in a final state.
   */
  async settle(timeoutMs = 50_000): Promise<void> {
    const started = Date.now();
    await this.load.stop();
    const accepted = this.load.submissions.filter((submission) => submission.accepted);
    let last = 'nothing checked yet';
    const trace: string[] = [];
    let traced = '';
    await waitFor(
      async () => {
        const reason = last.replace(/:.*/, '');
        if (reason !== traced) trace.push(`${Date.now() - started} ms: ${(traced = reason)}`);
        if (!(await this.sandboxIdle())) return ((last = 'PPNS pushes in flight'), false);
        const stored = await this.storedMessages();
        const missing = [...this.producedAtHmrc()].filter((key) => !stored.has(key));
        if (missing.length > 0)
          return ((last = `messages not stored: ${await this.diagnose(missing)}`), false);
        const notifications = await this.notificationRows();
        const unrecorded = [...this.gateway.acknowledged.keys()].filter(
          (id) => !notifications.has(id),
        );
        if (unrecorded.length > 0)
          return ((last = `${unrecorded.length} acknowledged notifications not stored`), false);
        const lrns = this.lrnsAtHmrc();
        const unsent = accepted.filter((submission) => !lrns.has(submission.lrn));
        if (unsent.length > 0) return ((last = `${unsent.length} declarations not at HMRC`), false);
        const open = await this.db
          .selectFrom('submissions')
          .select(sql<number>`count(*)::int`.as('open'))
          .where('status', 'not in', ['accepted', 'rejected', 'failed'])
          .executeTakeFirstOrThrow();
        if (open.open > 0) return ((last = `${open.open} submissions not final`), false);
        return true;
      },
      { timeoutMs, intervalMs: 250, what: 'the system to settle' },
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message} (last: ${last})`);
    });
    await this.gateway.checksDone();
    this.settleMs = Date.now() - started;
    this.extra.settleTrace = trace;
  }

  private async sandboxIdle(): Promise<boolean> {
    try {
      await this.sandbox.controls.settle(10);
      return true;
    } catch {
      return false;
    }
  }

  async notificationRows(): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('notifications')
      .select(['notification_id', sql<number>`count(*)::int`.as('rows')])
      .groupBy('notification_id')
      .execute();
    return new Map(rows.map((row) => [row.notification_id, row.rows]));
  }

  /** LRN → number of movements HMRC holds with it. */
  lrnsAtHmrc(): Map<string, number> {
    const lrns = new Map<string, number>();
    for (const movement of this.sandbox.controls.movements())
      if (movement.lrn !== undefined) lrns.set(movement.lrn, (lrns.get(movement.lrn) ?? 0) + 1);
    return lrns;
  }

  /** Runs the checkers (after settle) and writes test-output/faults/<name>.json. */
  async check(): Promise<Report> {
    const stats = this.sandbox.controls.stats();
    const acknowledged = [...this.gateway.acknowledged.keys()];
    const notifications = await this.notificationRows();
    const produced = this.producedAtHmrc();
    const stored = await this.storedMessages();
    const lrns = this.lrnsAtHmrc();
    const accepted = this.load.submissions.filter((submission) => submission.accepted);
    const finals = await this.db
      .selectFrom('submissions')
      .select(['status', sql<number>`count(*)::int`.as('count')])
      .groupBy('status')
      .execute();

    const notificationsLost = acknowledged.filter((id) => !notifications.has(id)).length;
    const notificationsDuplicated = [...notifications.values()].filter((rows) => rows > 1).length;
    const messagesLost = [...produced].filter((key) => !stored.has(key)).length;
    const messagesDuplicated = [...stored.values()].filter((rows) => rows > 1).length;
    const submissionsLost = accepted.filter((submission) => !lrns.has(submission.lrn)).length;
    const submissionsDuplicated = [...lrns.values()].filter((count) => count > 1).length;
    const notAcceptedButAtHmrc = this.load.submissions.filter(
      (submission) => !submission.accepted && lrns.has(submission.lrn),
    ).length;
    const peakRssMb: Record<string, number> = {};
    for (const service of this.all)
      peakRssMb[service.name] = Math.round(Math.max(0, ...service.rss) / (1024 * 1024));
    const crashes = this.all.flatMap((service) =>
      service.crashes.map((exit) => ({
        process: service.name,
        code: exit.code,
        signal: exit.signal,
      })),
    );
    const injected: Record<string, number> = {};
    for (const [key, value] of Object.entries(stats.faults)) if (value > 0) injected[key] = value;
    if (stats.throttled.fault > 0) injected.throttle = stats.throttled.fault;

    const report: Report = {
      name: this.options.name,
      date: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memoryGb: Math.round(os.totalmem() / 1024 ** 3),
        node: process.version,
      },
      processes: {
        receivers: this.receivers.length,
        workers: this.workers.length,
        apis: this.apis.length,
      },
      durationMs: Date.now() - this.startedAt,
      load: this.load.figures(),
      faults: this.faults,
      settleMs: this.settleMs,
      notifications: {
        acknowledged200: acknowledged.length,
        lost: notificationsLost,
        duplicated: notificationsDuplicated,
        ackedButNotQueued: this.gateway.ackedButMissing.length,
        unverified: this.gateway.unverified.length,
        gatewayAnswers: { ...this.gateway.answers },
      },
      messages: {
        producedAtHmrc: produced.size,
        stored: stored.size,
        lost: messagesLost,
        duplicated: messagesDuplicated,
      },
      submissions: {
        accepted: accepted.length,
        reachedHmrcOnce: accepted.filter((submission) => lrns.get(submission.lrn) === 1).length,
        lost: submissionsLost,
        duplicated: submissionsDuplicated,
        notAcceptedButAtHmrc,
        final: Object.fromEntries(finals.map((row) => [row.status, row.count])),
      },
      hmrc: {
        rateLimitPerSecond: this.rateLimit,
        callsLetThrough: stats.applications[clientId]?.calls ?? 0,
        throttledByRateLimit: stats.throttled.rateLimit,
        throttledAfterSandboxStall: this.refusedAfterStall,
        sandboxStallsOver25Ms: this.stalls.length,
        peakCallsPerSecond: this.peakCallsPerSecond,
        sandboxLoopDelayMs: {
          p99: Math.round(this.loopDelay.percentile(99) / 1e6),
          max: Math.round(this.loopDelay.max / 1e6),
        },
        injected,
        pushes: { ...stats.pushes },
      },
      processesHealth: {
        crashes,
        kills: this.all.reduce(
          (sum, service) => sum + service.exits.filter((exit) => exit.expected).length,
          0,
        ),
        peakRssMb,
      },
      extra: this.extra,
      lost: notificationsLost + messagesLost + submissionsLost,
      duplicated: notificationsDuplicated + messagesDuplicated + submissionsDuplicated,
    };
    await mkdir(outputDir, { recursive: true });
    await writeFile(
      path.join(outputDir, `${this.options.name}.json`),
      `${JSON.stringify(report, null, 2)}\n`,
    );
    return report;
  }

  async stop(): Promise<void> {
    if (this.rssTimer) clearInterval(this.rssTimer);
    if (this.rateTimer) clearInterval(this.rateTimer);
    this.loopDelay.disable();
    await this.load?.stop().catch(() => undefined);
    await Promise.all(this.all.map((service) => service.dispose().catch(() => undefined)));
    await this.sandbox?.stop().catch(() => undefined);
    await this.gateway?.stop().catch(() => undefined);
    this.checkRedis?.disconnect();
    await this.redisProxy?.stop().catch(() => undefined);
    await this.redis?.destroy().catch(() => undefined);
    await this.redisCluster?.destroy().catch(() => undefined);
    if (this.testDb !== undefined) await this.testDb.destroy().catch(() => undefined);
    else await this.db?.destroy().catch(() => undefined);
    await this.postgres?.destroy().catch(() => undefined);
  }
}

/** The assertions every fault test makes on a report (lost = 0, duplicated = 0, no crash…). */
export function expectHealthy(report: Report): void {
  expect(report.notifications.lost).toBe(0);
  expect(report.notifications.duplicated).toBe(0);
  expect(report.notifications.ackedButNotQueued).toBe(0);
  expect(report.notifications.unverified).toBe(0);
  expect(report.messages.lost).toBe(0);
  expect(report.messages.duplicated).toBe(0);
  expect(report.submissions.lost).toBe(0);
  expect(report.submissions.duplicated).toBe(0);
  expect(report.processesHealth.crashes).toEqual([]);
  for (const [name, mb] of Object.entries(report.processesHealth.peakRssMb))
    expect({ name, mb, bounded: mb * 1024 * 1024 < rssLimitBytes }).toMatchObject({
      bounded: true,
    });
  expect(report.load.messagesInjected).toBeGreaterThan(0);
}
