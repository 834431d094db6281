import type { ErrorHistoryEntry } from '@ctc-hub/db';
import {
  advanceWebhookCursor,
  decodeCursor,
  ensureWebhookCursor,
  feedEventJson,
  feedStart,
  readEventFeed,
  recordWebhookDeadLetter,
  type Db,
  type FeedEvent,
} from '@ctc-hub/db';
import { jitteredBackoff } from '@ctc-hub/queue';
import type { Logger } from '@ctc-hub/telemetry';
import { sql } from 'kysely';
import { postWebhook, webhookBody } from './deliver.js';
import type { WebhookMetrics } from './metrics.js';
import { webhookKey } from './signature.js';

export interface WebhookDispatcherOptions {
  db: Db;
  logger: Logger;
  urls: readonly string[];
  /** `whsec_` + base64. */
  secret: string;
  /** POSTs of one event before it is dead-lettered (EVENT_WEBHOOK_MAX_ATTEMPTS). */
  maxAttempts: number;
  backoffBaseMs: number;
  timeoutMs: number;
  metrics: WebhookMetrics;
  backoffCapMs?: number;
  /** Events read per batch (one lock, one read, then one POST each). */
  batchSize?: number;
  /** Idle polling starts here after a delivery and doubles up to pollMaxMs. */
  pollMinMs?: number;
  pollMaxMs?: number;
}

export interface WebhookDispatcher {
  /** Ends the loops: the event in flight is not acknowledged and goes out again after restart. */
  stop: () => Promise<void>;
}

type BatchResult = 'delivered' | 'idle' | 'busy';
type EventOutcome =
  { kind: 'delivered' } | { kind: 'dead'; history: ErrorHistoryEntry[] } | { kind: 'stopped' };

/**
 * Delivers the change feed to each configured URL, in feed order, from the URL's cursor in
 * `webhook_cursors`; at least once (a crash between a 2xx and the cursor update sends that event
 * again, under the same webhook-id).
 *
 * One replica per URL at a time: each batch runs under a session advisory lock keyed by the URL,
 * on one pinned connection, and every cursor update is a compare-and-set. Not a `SELECT … FOR
 * UPDATE` held across the batch: a row lock gives the transaction an xid, and an open
 * transaction with an xid holds back the change feed's horizon, so a slow receiver (retries
 * take minutes) would stall the feed for every reader, the other URLs included. An advisory lock
 * needs no xid; the cost is a pool connection per URL while its batch runs.
 *
 * A failed POST is retried in process with exponential backoff and jitter (the receiver's
 * Retry-After when it gives one, within the cap); after maxAttempts the event becomes a `webhook`
 * dead letter (payload: the URL and the event as sent) and the cursor moves on, so one bad
 * event does not block the feed. Later events wait while one is retried: order is kept.
 */
export function startWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const key = webhookKey(options.secret);
  const stopping = new AbortController();
  const batchSize = options.batchSize ?? 100;
  const pollMinMs = options.pollMinMs ?? 200;
  const pollMaxMs = options.pollMaxMs ?? 2000;
  const backoffCapMs = options.backoffCapMs ?? 60_000;
  const log = options.logger.child({ component: 'webhooks' });

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopping.signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        stopping.signal.removeEventListener('abort', done);
        resolve();
      }
      stopping.signal.addEventListener('abort', done);
    });

  async function deliver(url: string, event: FeedEvent): Promise<EventOutcome> {
    const body = webhookBody(feedEventJson(event));
    const history: ErrorHistoryEntry[] = [];
    for (let attempt = 1; ; attempt += 1) {
      const result = await postWebhook(url, event.cursor, body, {
        key,
        timeoutMs: options.timeoutMs,
        signal: stopping.signal,
      });
      if (result.ok) {
        options.metrics.delivery('delivered', url);
        return { kind: 'delivered' };
      }
      if (result.code === 'STOPPED') return { kind: 'stopped' };
      history.push({
        at: new Date().toISOString(),
        code: result.code,
        message: result.message,
        attempt,
      });
      if (attempt >= options.maxAttempts) {
        options.metrics.delivery('dead_lettered', url);
        return { kind: 'dead', history };
      }
      options.metrics.delivery('retried', url);
      const backoff = jitteredBackoff(attempt, {
        baseMs: options.backoffBaseMs,
        capMs: backoffCapMs,
      });
      log.warn(
        { url, cursor: event.cursor, attempt, code: result.code, retryInMs: backoff },
        'webhook delivery failed; will retry',
      );
      await sleep(Math.min(backoffCapMs, Math.max(backoff, result.retryAfterMs ?? 0)));
      if (stopping.signal.aborted) return { kind: 'stopped' };
    }
  }

  /** One batch for one URL, if no other replica holds it. */
  async function runBatch(url: string): Promise<BatchResult> {
    return options.db.connection().execute(async (connection) => {
      const lockName = `ctc-hub:webhook:${url}`;
      const { rows } = await sql<{
        locked: boolean;
      }>`SELECT pg_try_advisory_lock(hashtextextended(${lockName}, 0)) AS locked`.execute(
        connection,
      );
      if (rows[0]?.locked !== true) return 'busy';
      try {
        // Read under the lock: whatever another replica delivered before is behind it.
        let stored = await ensureWebhookCursor(connection, url);
        const after = stored === null ? feedStart : decodeCursor(stored);
        if (after === undefined)
          throw new Error(`webhook_cursors.cursor of ${url} is not a feed cursor: ${stored}`);
        const page = await readEventFeed(connection, { after, limit: batchSize });
        if (page.events.length === 0) return 'idle';

        for (const event of page.events) {
          const outcome = await deliver(url, event);
          if (outcome.kind === 'stopped') return 'busy';
          const advance = { url, from: stored, to: event.cursor };
          const moved =
            outcome.kind === 'delivered'
              ? await advanceWebhookCursor(connection, { ...advance, outcome: 'delivered' })
              : await deadLetter(connection, url, event, outcome.history, advance);
          if (!moved) {
            // Only if we lost the lock (our connection dropped and came back): stand down.
            log.warn({ url }, 'webhook cursor moved by someone else; ending this batch');
            return 'busy';
          }
          stored = event.cursor;
        }
        return 'delivered';
      } finally {
        await sql`SELECT pg_advisory_unlock(hashtextextended(${lockName}, 0))`.execute(connection);
      }
    });
  }

  async function runUrl(url: string): Promise<void> {
    let delayMs = pollMinMs;
    while (!stopping.signal.aborted) {
      let result: BatchResult = 'idle';
      try {
        result = await runBatch(url);
      } catch (error) {
        log.error({ err: error, url }, 'webhook batch failed');
        delayMs = pollMaxMs;
      }
      if (result === 'delivered') {
        delayMs = pollMinMs;
        continue;
      }
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, pollMaxMs);
    }
  }

  const loops = options.urls.map((url) => runUrl(url));
  log.info({ urls: options.urls.length }, 'webhook delivery started');
  return {
    stop: async () => {
      stopping.abort();
      await Promise.allSettled(loops);
    },
  };
}

/** The dead letter and the cursor move commit together, or neither does. */
async function deadLetter(
  db: Db,
  url: string,
  event: FeedEvent,
  history: ErrorHistoryEntry[],
  advance: { url: string; from: string | null; to: string },
): Promise<boolean> {
  const last = history.at(-1)!;
  return db.transaction().execute(async (trx) => {
    const moved = await advanceWebhookCursor(trx, {
      ...advance,
      outcome: 'dead_lettered',
      error: `${last.code}: ${last.message}`,
    });
    if (!moved) return false;
    await recordWebhookDeadLetter(trx, {
      url,
      event: feedEventJson(event),
      errorCode: last.code,
      errorMessage: last.message,
      history,
      eori: event.eori,
      movementType: event.movementType,
      movementId: event.movementId,
      messageId: event.messageId,
    });
    return true;
  });
}
