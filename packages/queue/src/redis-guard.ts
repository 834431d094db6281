import { StartupError } from '@ctc-hub/config';
import { ReadinessDetail, type Logger, type Meter } from '@ctc-hub/telemetry';
import type { Redis } from 'ioredis';
import { connectAtStartup, describeRedisTarget, type RedisStartupSettings } from './connections.js';
import {
  assessDurability,
  describeRisk,
  readDurabilityFacts,
  type DurabilityVerdict,
  type RedisDurabilityMode,
} from './durability.js';

/** The REDIS_* settings a service is given (see redisConcern). */
export interface RedisSettings extends RedisStartupSettings {
  REDIS_DURABILITY?: RedisDurabilityMode | undefined;
  REDIS_ACCEPTED_LOSS_SECONDS: number;
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
    private readonly redis: Redis,
    private readonly settings: RedisSettings,
    private readonly logger: Logger,
    /** The verdict at start-up. */
    readonly verdict: DurabilityVerdict,
  ) {
    this.lastState = verdict.state;
  }

  static async open(settings: RedisSettings, logger: Logger): Promise<RedisDurabilityGuard> {
    const redis = await connectAtStartup(settings);
    const where = describeRedisTarget(settings);
    let verdict: DurabilityVerdict;
    try {
      verdict = assessDurability(await readDurabilityFacts(redis), policyOf(settings));
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
    const verdict = readDurabilityFacts(this.redis).then((facts) =>
      assessDurability(facts, policyOf(this.settings)),
    );
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
