import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Clearance, PacedCall } from '@ctc-hub/hmrc-client';
import { pacerKey, RatePacer, spacingFor } from '@ctc-hub/queue';
import type { RedisConnection } from '@ctc-hub/queue';

/**
 * The budgets an HMRC call draws on, all shared through Redis by every worker replica:
 *  - every API call: the application's, HMRC_RATE_LIMIT_PER_SECOND in any sliding second;
 *  - a GET of a PPNS box's notifications, in addition: that box's, one call per
 *    PPNS_LIST_MIN_GAP_MS. HMRC's PPNS guide: "call the endpoint no more than once every 10
 *    seconds", said of "get a list of notifications"; the acknowledge PUT is another endpoint
 *    and counts only against the application's budget. Every GET counts: a pull's PENDING and
 *    FAILED lists and each further page are calls of their own.
 * Both are paced on the moment a request actually leaves (see RatePacer.acquire): a call held
 * up after its clearance keeps the others waiting instead of bunching with the next one.
 */

/**
 * Which lane the HMRC call being made belongs to, set around each hmrc job (handlers.ts) from its
 * priority. `gives-way`: fetches and reconciliation book a slot of the application's budget only
 * when it is at most one slot ahead, so a declaration (priority 1, `first`) booking after them
 * waits behind at most one of their calls, not behind every call the worker's concurrency has
 * queued into the schedule (8 jobs at 350 ms: up to 2.8 s). The budget stays as full: a caller
 * that gives way books as soon as the schedule is within a slot of now.
 */
export type HmrcLane = 'first' | 'gives-way';
export const hmrcLane = new AsyncLocalStorage<HmrcLane>();

const boxListPath = /^\/misc\/push-pull-notification\/box\/([0-9a-fA-F-]{36})\/notifications$/;

/** The box whose notification list a call reads, if it is one. */
export function boxListed(call: PacedCall): string | undefined {
  if (call.method !== 'GET') return undefined;
  return boxListPath.exec(call.path)?.[1]?.toLowerCase();
}

/** Redis key of one box's list pacer (same `{prefix}` hash tag as the application's). */
export const boxPacerKey = (queuePrefix: string, boxId: string): string =>
  `${queuePrefix}:hmrc:ppns-list:${boxId}`;

export interface PacingSettings {
  QUEUE_PREFIX: string;
  HMRC_RATE_LIMIT_PER_SECOND: number;
  PPNS_LIST_MIN_GAP_MS: number;
}

export interface HmrcPacing {
  /** The application's budget (pause() after a 429). */
  application: RatePacer;
  /** The transport's beforeRequest hook. */
  clear: (call: PacedCall) => Promise<Clearance>;
  /**
   * Milliseconds until a list call of the box booked now could leave, booking nothing: a pull
   * waits for its turn before it fixes its window (one fixed 10 s before the call is stale).
   */
  boxReadyIn: (boxId: string) => Promise<number>;
  /**
   * One pull per box at a time, across replicas: the release function, or undefined when
   * another pull holds the box (for at most `ttlMs`, should its process die).
   */
  lockBoxPull: (boxId: string, ttlMs: number) => Promise<(() => Promise<void>) | undefined>;
}

const releaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

export function createHmrcPacing(redis: RedisConnection, settings: PacingSettings): HmrcPacing {
  const application = new RatePacer(
    redis,
    pacerKey(settings.QUEUE_PREFIX),
    spacingFor(settings.HMRC_RATE_LIMIT_PER_SECOND),
  );
  const boxes = new Map<string, RatePacer>();
  const boxPacer = (boxId: string): RatePacer => {
    let pacer = boxes.get(boxId);
    if (pacer === undefined) {
      pacer = new RatePacer(redis, boxPacerKey(settings.QUEUE_PREFIX, boxId), {
        spacingMs: settings.PPNS_LIST_MIN_GAP_MS,
        minGapMs: settings.PPNS_LIST_MIN_GAP_MS,
        // The box is held while its call also waits for a slot of the application's budget,
        // which can take seconds when the queue is busy.
        holdMs: 60_000,
      });
      boxes.set(boxId, pacer);
    }
    return pacer;
  };

  return {
    application,
    boxReadyIn: (boxId) => boxPacer(boxId.toLowerCase()).readyIn(),
    lockBoxPull: async (boxId, ttlMs) => {
      const key = `${boxPacerKey(settings.QUEUE_PREFIX, boxId.toLowerCase())}:pull`;
      const token = randomUUID();
      const taken = await redis.set(key, token, 'PX', Math.max(1, Math.round(ttlMs)), 'NX');
      if (taken !== 'OK') return undefined;
      return async () => {
        await redis.eval(releaseScript, 1, key, token);
      };
    },
    clear: async (call) => {
      const givesWay =
        hmrcLane.getStore() === 'gives-way' ? { maxAheadMs: application.spacingMs } : {};
      const boxId = boxListed(call);
      if (boxId === undefined) return application.acquire(givesWay);
      // The box first: waiting up to 10 s for it must not sit on a slot of the shared budget.
      const box = await boxPacer(boxId).acquire();
      let app: Clearance;
      try {
        app = await application.acquire(givesWay);
      } catch (error) {
        await box.notSent().catch(() => undefined);
        throw error;
      }
      return {
        waitedMs: box.waitedMs + app.waitedMs,
        validUntil: Math.min(box.validUntil, app.validUntil),
        sent: async () => {
          await Promise.all([box.sent(), app.sent()]);
        },
        notSent: async () => {
          await Promise.all([box.notSent(), app.notSent()]);
        },
      };
    },
  };
}
