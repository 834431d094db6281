import type { RedisConnection } from './connections.js';

/**
 * Whether a Redis keeps the jobs it acknowledged. The receiver answers PPNS 200 once Redis has
 * the job, and PPNS never retries a notification answered 200: a Redis that forgets on restart
 * (no persistence) or deletes keys under memory pressure (any maxmemory-policy but noeviction)
 * loses those notifications silently. So every service that queues or holds jobs reads the
 * settings of the Redis it is given and says, in words, what a crash would lose.
 */
export type RedisDurabilityMode = 'check' | 'assume-durable' | 'allow-volatile';

export interface DurabilityPolicy {
  /** Unset counts as `check`. */
  mode: RedisDurabilityMode | undefined;
  /** REDIS_ACCEPTED_LOSS_SECONDS. */
  acceptedLossSeconds: number;
}

/** What Redis says about itself. */
export type DurabilityFacts =
  | {
      readable: true;
      appendonly: boolean;
      appendfsync: string;
      /** The `save` rules as CONFIG GET returns them ("3600 1 300 100"; "" = no snapshots). */
      save: string;
      maxmemoryPolicy: string;
    }
  | {
      /** CONFIG GET was refused (renamed away, ACL, a managed service). */
      readable: false;
      denied: string;
      /** From INFO memory when that is allowed. */
      maxmemoryPolicy: string | undefined;
    };

/** One way a Redis can lose acknowledged jobs: what it is, and the setting that fixes it. */
export interface DurabilityRisk {
  problem: string;
  fix: string;
}

/** A risk as one line of text (logs, /readyz, StartupError). */
export const describeRisk = (risk: DurabilityRisk): string => `${risk.problem}; ${risk.fix}`;

export interface DurabilityVerdict {
  mode: RedisDurabilityMode;
  /** May the service start and be ready. */
  acceptable: boolean;
  /** What this Redis keeps, in words (for logs, /readyz and the `pnpm start` banner). */
  state: string;
  /**
   * Ways it can lose acknowledged jobs, each naming the Redis setting and the fix. Non-empty and
   * acceptable only under allow-volatile (and, for persistence, assume-durable).
   */
  risks: DurabilityRisk[];
}

/** Linux writes dirty pages back after 30 s by default (vm.dirty_expire_centisecs = 3000). */
export const osFlushSeconds = 30;

const fixPersistence =
  'turn on AOF (appendonly yes, appendfsync everysec; see infra/redis/redis.conf)';

/**
 * The longest a single acknowledged write can wait for a snapshot under these save rules, or
 * undefined when some writes may never be snapshotted. A rule `<seconds> <changes>` snapshots
 * once `seconds` have passed with at least `changes` writes, so only rules needing one change
 * bound the wait of a lone write; busier traffic only makes snapshots come sooner.
 */
export function snapshotWindowSeconds(save: string): number | undefined {
  const numbers = save.trim().split(/\s+/).filter(Boolean).map(Number);
  let window: number | undefined;
  for (let index = 0; index + 1 < numbers.length; index += 2) {
    const [seconds, changes] = [numbers[index]!, numbers[index + 1]!];
    if (changes <= 1 && (window === undefined || seconds < window)) window = seconds;
  }
  return window;
}

interface Persistence {
  state: string;
  /** Seconds of acknowledged writes a crash can lose; undefined = no bound; null = everything. */
  lossSeconds: number | undefined | null;
  /** The fix when the loss is beyond what is accepted. */
  fix: string;
}

function persistenceOf(facts: Extract<DurabilityFacts, { readable: true }>): Persistence {
  if (facts.appendonly) {
    const fsync = facts.appendfsync;
    if (fsync === 'always')
      return {
        state: 'AOF, appendfsync always (nothing acknowledged is lost)',
        lossSeconds: 0,
        fix: '',
      };
    if (fsync === 'everysec')
      return {
        state:
          'AOF, appendfsync everysec (a Redis crash loses nothing, a machine crash up to ~1 s)',
        lossSeconds: 1,
        fix: 'set appendfsync always',
      };
    return {
      state: `AOF, appendfsync ${fsync} (a Redis crash loses nothing; a machine crash loses what the OS had not written yet: OS-dependent, ~${osFlushSeconds} s on Linux by default)`,
      lossSeconds: osFlushSeconds,
      fix: 'set appendfsync everysec',
    };
  }
  if (facts.save.trim() !== '') {
    const window = snapshotWindowSeconds(facts.save);
    return window === undefined
      ? {
          state: `RDB snapshots only (save "${facts.save}"): no rule snapshots a single write, so a quiet period's writes may never be saved`,
          lossSeconds: undefined,
          fix: `${fixPersistence}, or add a save rule "<seconds> 1"`,
        }
      : {
          state: `RDB snapshots only (save "${facts.save}"): a Redis crash loses the writes since the last snapshot, up to ${window} s`,
          lossSeconds: window,
          fix: `${fixPersistence}, or accept that window with REDIS_ACCEPTED_LOSS_SECONDS=${window}`,
        };
  }
  return {
    state:
      'no persistence (appendonly no, save ""): a Redis restart loses every queued job, notifications already answered 200 included',
    lossSeconds: null,
    fix: `${fixPersistence}; only for local development, REDIS_DURABILITY=allow-volatile runs anyway`,
  };
}

function evictionRisk(policy: string | undefined): DurabilityRisk | undefined {
  if (policy === undefined || policy === 'noeviction') return undefined;
  return {
    problem: `maxmemory-policy is ${policy}: when memory is full Redis deletes keys, queued jobs among them`,
    fix: 'set maxmemory-policy noeviction (writes then fail instead, the receiver answers 503 and PPNS retries)',
  };
}

/** Judges the facts under the operator's policy. Pure, so every rule is unit-tested. */
export function assessDurability(
  facts: DurabilityFacts,
  policy: DurabilityPolicy,
): DurabilityVerdict {
  const mode = policy.mode ?? 'check';
  const risks: DurabilityRisk[] = [];
  let persistenceRisk: DurabilityRisk | undefined;
  const parts: string[] = [];

  if (facts.readable) {
    const persistence = persistenceOf(facts);
    parts.push(persistence.state);
    const { lossSeconds } = persistence;
    if (lossSeconds === null) {
      persistenceRisk = { problem: persistence.state, fix: persistence.fix };
    } else if (lossSeconds === undefined || lossSeconds > policy.acceptedLossSeconds) {
      persistenceRisk = {
        problem: `${persistence.state}, more than REDIS_ACCEPTED_LOSS_SECONDS=${policy.acceptedLossSeconds}`,
        fix: persistence.fix,
      };
    }
  } else {
    parts.push(`CONFIG GET denied (${facts.denied})`);
    persistenceRisk = {
      problem: `Redis denies CONFIG GET (${facts.denied}), so its persistence cannot be checked`,
      fix: 'if your provider guarantees that acknowledged writes survive a restart and the eviction policy is noeviction, state it with REDIS_DURABILITY=assume-durable',
    };
  }
  const policyName = facts.maxmemoryPolicy;
  parts.push(
    policyName === undefined ? 'maxmemory-policy unknown' : `maxmemory-policy ${policyName}`,
  );
  const eviction = evictionRisk(policyName);

  if (persistenceRisk !== undefined) risks.push(persistenceRisk);
  if (eviction !== undefined) risks.push(eviction);

  // assume-durable takes the operator's word on persistence (a provider may keep writes by
  // means Redis does not show, such as synchronous replicas), never on an eviction policy we can
  // see: no guarantee makes evicting queue keys safe.
  const blocking =
    mode === 'allow-volatile'
      ? []
      : mode === 'assume-durable'
        ? eviction === undefined
          ? []
          : [eviction]
        : risks;
  const state =
    mode === 'check' ? parts.join('; ') : `${parts.join('; ')} [REDIS_DURABILITY=${mode}]`;
  return { mode, acceptable: blocking.length === 0, state, risks };
}

/** A Redis error reply (as opposed to a connection failure): the server refused the command. */
const isReply = (error: unknown) => (error as Error | undefined)?.name === 'ReplyError';

async function configGet(redis: RedisConnection, name: string): Promise<string> {
  // One parameter per call: Redis before 7 takes a single pattern.
  const reply = (await redis.call('CONFIG', 'GET', name)) as string[];
  return reply[1] ?? '';
}

/**
 * Reads the settings that decide durability. A refused CONFIG GET is a fact (reported as
 * `readable: false`); a connection failure is not, and rejects.
 */
export async function readDurabilityFacts(redis: RedisConnection): Promise<DurabilityFacts> {
  try {
    const [appendonly, appendfsync, save, maxmemoryPolicy] = await Promise.all(
      ['appendonly', 'appendfsync', 'save', 'maxmemory-policy'].map((name) =>
        configGet(redis, name),
      ),
    );
    return {
      readable: true,
      appendonly: appendonly === 'yes',
      appendfsync: appendfsync!,
      save: save!,
      maxmemoryPolicy: maxmemoryPolicy!,
    };
  } catch (error) {
    if (!isReply(error)) throw error;
    const denied = (error as Error).message;
    let maxmemoryPolicy: string | undefined;
    try {
      const info = await redis.info('memory');
      maxmemoryPolicy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
    } catch (infoError) {
      if (!isReply(infoError)) throw infoError;
    }
    return { readable: false, denied, maxmemoryPolicy };
  }
}
