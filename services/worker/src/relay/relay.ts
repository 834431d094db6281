import {
  claimDuePushes,
  fanOutRelay,
  pruneRelayBoxes,
  relaySecretContext,
  settleDelivered,
  settlePush,
  type ClaimedPush,
  type Db,
  type PushSettlement,
} from '@ctc-hub/db';
import type { TokenCipher } from '@ctc-hub/hmrc-client';
import { ppnsNotificationJson, relayedNotification } from '@ctc-hub/ppns';
import type { Logger } from '@ctc-hub/telemetry';
import type { RelayMetrics } from './metrics.js';
import { pushNotification } from './push.js';

export interface RelaySettings {
  retryIntervalMs: number;
  retryWindowSeconds: number;
  pushTimeoutMs: number;
  parallelism: number;
  retentionDays: number;
}

export interface RelayOptions extends RelaySettings {
  db: Db;
  cipher: TokenCipher;
  logger: Logger;
  metrics: RelayMetrics;
}

const fanOutBatch = 500;
const pruneEveryMs = 3_600_000;
const claimRounds = 5;

/**
 * The relay's delivery, in every worker replica: take newly stored notifications into the
 * consumers' boxes, then push what is due, `parallelism` at a time. Replicas share the work
 * through row locks (outbox) and claims (due pushes), never through memory. PPNS's rules: a
 * push is tried as soon as the notification is stored, then every `retryIntervalMs` while it
 * fails, until `retryWindowSeconds` after it entered the box; then it is FAILED and a `relay`
 * dead letter. Failed pushes do not hold back the others (PPNS promises no order either).
 * `runOnce` is one pass (task.ts runs it every RELAY_POLL_MS); `abort` ends pushes in flight
 * when the worker stops (their claims run out and they are pushed again).
 */
export function createRelay(options: RelayOptions): {
  runOnce: () => Promise<void>;
  abort: () => void;
} {
  const log = options.logger.child({ component: 'relay' });
  const stopping = new AbortController();
  let lastPrune = 0;

  function settlementFor(push: ClaimedPush, error: { code: string; message: string }) {
    const at = new Date();
    const age = (at.getTime() - push.queuedAt.getTime()) / 1000;
    if (age >= options.retryWindowSeconds) {
      const entry = { at: at.toISOString(), ...error, attempt: push.attempts + 1 };
      return { kind: 'failed', error: entry, history: [entry] } satisfies PushSettlement;
    }
    // A little jitter, so a consumer that comes back is not hit by every retry at once.
    const retryInMs = Math.round(options.retryIntervalMs * (0.9 + Math.random() * 0.2));
    return { kind: 'retry', error: `${error.code}: ${error.message}`, retryInMs } as const;
  }

  /** Pushes one claimed notification; a 200 is returned for settling with its batch. */
  async function pushOne(push: ClaimedPush): Promise<'delivered' | undefined> {
    const url = push.callbackUrl;
    if (!push.enabled || url === null || push.secret === null || push.validatedUrl !== url) {
      options.metrics.push('parked');
      await settlePush(options.db, push, {
        kind: 'parked',
        reason: 'the consumer is disabled or has no validated callback URL',
      });
      return;
    }
    const secret = options.cipher.decrypt(push.secret, relaySecretContext(push.consumerId));
    const notification =
      push.envelope === null
        ? undefined
        : relayedNotification(push.envelope, push.boxId, 'PENDING');
    let outcome: PushSettlement;
    if (!secret.ok) {
      log.error(
        { consumerId: push.consumerId, error: secret.error.code },
        'relay consumer secret cannot be decrypted; check TOKEN_ENCRYPTION_KEYS',
      );
      outcome = settlementFor(push, { code: 'SECRET_UNREADABLE', message: secret.error.message });
    } else if (notification === undefined) {
      // Retention removed it (or it cannot be read): no retry can succeed.
      const entry = {
        at: new Date().toISOString(),
        code: 'NOTIFICATION_GONE',
        message: 'the notification is no longer stored or cannot be read',
        attempt: push.attempts + 1,
      };
      outcome = { kind: 'failed', error: entry, history: [entry] };
    } else {
      const result = await pushNotification(
        url,
        ppnsNotificationJson(notification),
        secret.plaintext,
        {
          timeoutMs: options.pushTimeoutMs,
          signal: stopping.signal,
        },
      );
      if (result.ok) {
        options.metrics.push('delivered');
        options.metrics.delivered((Date.now() - push.queuedAt.getTime()) / 1000);
        return 'delivered';
      } else if (result.code === 'STOPPED') {
        // The claim's lease runs out and another replica (or this one, restarted) pushes it.
        return;
      } else {
        outcome = settlementFor(push, result);
        log.warn(
          {
            consumerId: push.consumerId,
            notificationId: push.notificationId,
            attempt: push.attempts + 1,
            code: result.code,
            outcome: outcome.kind,
          },
          outcome.kind === 'failed'
            ? 'relay push failed past the retry window; dead-lettered'
            : 'relay push failed; will retry',
        );
      }
    }
    options.metrics.push(outcome.kind === 'retry' ? 'retried' : outcome.kind);
    await settlePush(options.db, push, outcome);
    return undefined;
  }

  async function runOnce(): Promise<void> {
    while (
      !stopping.signal.aborted &&
      (await fanOutRelay(options.db, fanOutBatch)) === fanOutBatch
    );
    if (Date.now() - lastPrune > pruneEveryMs) {
      lastPrune = Date.now();
      const pruned = await pruneRelayBoxes(options.db, options.retentionDays);
      if (pruned > 0) log.info({ pruned }, 'relay boxes pruned past RELAY_RETENTION_DAYS');
    }
    // A claim covers a batch of several rounds of `parallelism` pushes; its lease outlasts the
    // slowest possible batch, so no other replica takes a row while it is still queued here.
    const batch = options.parallelism * claimRounds;
    const leaseMs = options.pushTimeoutMs * claimRounds + 30_000;
    while (!stopping.signal.aborted) {
      const claimed = await claimDuePushes(options.db, batch, leaseMs);
      const delivered: ClaimedPush[] = [];
      let next = 0;
      const worker = async () => {
        while (next < claimed.length) {
          const push = claimed[next++]!;
          try {
            if ((await pushOne(push)) === 'delivered') delivered.push(push);
          } catch (error) {
            log.error({ err: error, consumerId: push.consumerId }, 'relay push failed');
          }
        }
      };
      await Promise.all(Array.from({ length: options.parallelism }, worker));
      await settleDelivered(options.db, delivered);
      if (claimed.length < batch) break;
    }
  }

  return { runOnce, abort: () => stopping.abort() };
}
