import { StartupError } from '@ctc-hub/config';
import { ReadinessDetail, type Logger, type Meter } from '@ctc-hub/telemetry';
import type { RedisConnection } from './connections.js';
import { Cluster } from 'ioredis';
import {
  clusterNodesOf,
  connectAtStartup,
  describeRedisTarget,
  type RedisStartupSettings,
} from './connections.js';
import {
  assessDurability,
  describeRisk,
  readDurabilityFacts,
  type DurabilityPolicy,
  type DurabilityVerdict,
  type RedisDurabilityMode,
} from './durability.js';

/** The REDIS_* settings a service is given (see redisConcern). */
export interface RedisSettings extends RedisStartupSettings {
  REDIS_DURABILITY?: RedisDurabilityMode | undefined;
  REDIS_ACCEPTED_LOSS_SECONDS: number;
  /** Checked for a hash tag when REDIS_CLUSTER_NODES is set. */
  QUEUE_PREFIX?: string;
}

/** Redis Cluster's hash tag of a key: the text between the first `{` and the next `}`, if any. */
export function hashTagOf(key: string): string | undefined {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/**
 * The verdict on a connection. On a Redis Cluster every node is read, replicas included (a
 * replica becomes the primary of its slots after a failover, so it must keep what it is given
 * as well): the weakest node decides, and is named.
 */
export async function assessConnection(
  redis: RedisConnection,
  policy: DurabilityPolicy,
): Promise<DurabilityVerdict> {
  if (!(redis instanceof Cluster))
    return assessDurability(await readDurabilityFacts(redis), policy);
  const nodes = redis.nodes('all');
  if (nodes.length === 0) throw new Error('no Redis Cluster node is known yet');
  const verdicts = await Promise.all(
    nodes.map(async (node) => ({
      node: `${node.options.host}:${node.options.port}`,
      verdict: assessDurability(await readDurabilityFacts(node), policy),
    })),
  );
  const weakest =
    verdicts.find((entry) => !entry.verdict.acceptable) ??
    verdicts.find((entry) => entry.verdict.risks.length > 0) ??
    verdicts[0]!;
  const same = verdicts.every((entry) => entry.verdict.state === weakest.verdict.state);
  return {
    ...weakest.verdict,
    risks: same
      ? weakest.verdict.risks
      : weakest.verdict.risks.map((risk) => ({
          ...risk,
          problem: `cluster node ${weakest.node}: ${risk.problem}`,
        })),
    state: same
      ? `${weakest.verdict.state} (all ${verdicts.length} cluster nodes)`
      : `${weakest.verdict.state} (cluster node ${weakest.node}; others differ)`,
  };
}

/** How long a durability verdict is reused by /readyz: probes and scrapes come every few seconds. */
const verdictTtlMs = 5000;

/**
 * The start-up gate and the runtime check on the Redis a service is given. `open` waits at most
 * REDIS_STARTUP_TIMEOUT_SECONDS for Redis to answer, then reads its persistence and eviction
 * settings; either failing is a StartupError that names the variable and the fix. `readiness`
 * re-reads them (at most every 5 s) so that a Redis whose persistence is turned off at runtime
 * makes the service not ready (under `check`) instead of silently losing what it accepts.
 */
export class RedisDurabilityGuard {
  private cached: { at: number; verdict: Promise<DurabilityVerdict> } | undefined;
  private lastState: string;
  private stopObserving: (() => void) | undefined;

  private constructor(
    private readonly redis: RedisConnection,
    private readonly settings: RedisSettings,
    private readonly logger: Logger,
    /** The verdict at start-up. */
    readonly verdict: DurabilityVerdict,
  ) {
    this.lastState = verdict.state;
  }

  static async open(settings: RedisSettings, logger: Logger): Promise<RedisDurabilityGuard> {
    if (
      clusterNodesOf(settings).length > 0 &&
      settings.QUEUE_PREFIX !== undefined &&
      hashTagOf(settings.QUEUE_PREFIX) === undefined
    )
      throw new StartupError(
        `QUEUE_PREFIX "${settings.QUEUE_PREFIX}" has no hash tag, but REDIS_CLUSTER_NODES points at a Redis Cluster: BullMQ's scripts touch several keys of a queue at once, which a Cluster allows only within one slot. Wrap it in braces, e.g. QUEUE_PREFIX={${settings.QUEUE_PREFIX.replace(/[{}]/g, '')}} (drain the queues first if jobs wait under the old prefix).`,
      );
    const redis = await connectAtStartup(settings);
    const where = describeRedisTarget(settings);
    let verdict: DurabilityVerdict;
    try {
      verdict = await assessConnection(redis, policyOf(settings));
    } catch (error) {
      redis.disconnect();
      throw new StartupError(
        `could not read the settings of Redis at ${where}: ${(error as Error).message}`,
      );
    }
    if (!verdict.acceptable) {
      redis.disconnect();
      throw new StartupError(
        [
          `Refusing to start: the Redis at ${where} can lose jobs it has acknowledged.`,
          ...verdict.risks.map((risk) => `  - ${describeRisk(risk)}`),
          '  (REDIS_DURABILITY in docs/OPERATIONS.md, "Redis durability", explains the choices.)',
        ].join('\n'),
      );
    }
    if (verdict.risks.length > 0) {
      logger.warn(
        { redis: verdict.state, risks: verdict.risks.map(describeRisk) },
        `Redis can lose acknowledged jobs; running anyway because REDIS_DURABILITY=${verdict.mode}`,
      );
    } else {
      logger.info({ redis: verdict.state }, 'Redis keeps acknowledged jobs');
    }
    return new RedisDurabilityGuard(redis, settings, logger, verdict);
  }

  /** The current verdict, read at most every 5 s (concurrent callers share one read). */
  current(): Promise<DurabilityVerdict> {
    const now = Date.now();
    if (this.cached !== undefined && now - this.cached.at < verdictTtlMs)
      return this.cached.verdict;
    const verdict = assessConnection(this.redis, policyOf(this.settings));
    const entry = { at: now, verdict };
    this.cached = entry;
    // A failed read (Redis away) is not kept: the next probe tries again.
    verdict.then(
      (fresh) => this.noticeChange(fresh),
      () => {
        if (this.cached === entry) this.cached = undefined;
      },
    );
    return verdict;
  }

  /** A /readyz check: fails when the verdict is not acceptable, reports the state otherwise. */
  readonly readiness = async (): Promise<ReadinessDetail> => {
    const verdict = await this.current();
    if (!verdict.acceptable) throw new Error(verdict.risks.map(describeRisk).join('; '));
    return new ReadinessDetail(verdict.state);
  };

  /**
   * `ctc_redis_durability_ok` on the service's /metrics: 1 while its Redis is acceptable under
   * REDIS_DURABILITY, 0 when it can lose acknowledged jobs (persistence or noeviction turned off
   * at runtime); nothing while Redis does not answer. Alert CtcRedisCanLoseJobs watches it,
   * because a not-ready pod is easy to miss.
   */
  observeWith(meter: Meter): void {
    const gauge = meter.createObservableGauge('ctc_redis_durability_ok', {
      description:
        'Whether the Redis this service uses keeps the jobs it acknowledged (1) or can lose them (0), under REDIS_DURABILITY',
    });
    const observe = async (result: { observe: (value: number) => void }) => {
      try {
        result.observe((await this.current()).acceptable ? 1 : 0);
      } catch {
        // Redis unreachable: report nothing rather than a value that would look like a verdict.
      }
    };
    gauge.addCallback(observe);
    this.stopObserving = () => gauge.removeCallback(observe);
  }

  private noticeChange(verdict: DurabilityVerdict): void {
    if (verdict.state === this.lastState) return;
    this.lastState = verdict.state;
    const fields = { redis: verdict.state, risks: verdict.risks.map(describeRisk) };
    if (!verdict.acceptable)
      this.logger.error(fields, 'Redis can now lose acknowledged jobs: not ready');
    else if (verdict.risks.length > 0) this.logger.warn(fields, 'Redis settings changed');
    else this.logger.info(fields, 'Redis settings changed; it keeps acknowledged jobs');
  }

  close(): void {
    this.stopObserving?.();
    this.redis.disconnect();
  }
}

const policyOf = (settings: RedisSettings) => ({
  mode: settings.REDIS_DURABILITY,
  acceptedLossSeconds: settings.REDIS_ACCEPTED_LOSS_SECONDS,
});
