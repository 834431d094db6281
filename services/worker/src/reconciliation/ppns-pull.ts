import { setTimeout as sleep } from 'node:timers/promises';
import type { BoxNotifications, PpnsStatusFilter } from '@ctc-hub/hmrc-client';
import type { PpnsEnvelope } from '@ctc-hub/ppns';
import {
  ingestNotificationData,
  jobIds,
  jobOptions,
  jobs,
  ppnsPullData,
  type IngestNotificationData,
} from '@ctc-hub/queue';
import type { Logger } from '@ctc-hub/telemetry';
import type { Job } from 'bullmq';
import { jobData } from './jobs.js';
import {
  applicationTokens,
  failWith,
  HmrcSession,
  isRateLimitError,
  TokenUnavailable,
} from '../runtime/hmrc-session.js';
import { highWaterMark, ppnsScope, recordRun } from './state.js';
import { RetryLater, type HmrcDeps } from '../runtime/deps.js';

/** PPNS returns at most 100 notifications per call, and acknowledges at most 100 per PUT. */
const pageSize = 100;
/**
 * PENDING: not delivered yet. FAILED: push gave up after its retry window, which PPNS measures
 * from the notification's createdDateTime: 6 hours in its code (`RetryPushNotificationsJob`,
 * `numberOfHoursToRetry`), "a few hours" in its guide. So a window younger than an hour holds no
 * FAILED notification, and its FAILED list is not asked for: each list call is one of the box's
 * calls HMRC allows every 10 seconds (runtime/pacing.ts), and in steady state a pull then costs one.
 */
const failedNotYoungerThanMs = 3600_000;
const statusesFor = (from: Date, now: number): readonly PpnsStatusFilter[] =>
  from.getTime() < now - failedNotYoungerThanMs ? ['PENDING', 'FAILED'] : ['PENDING'];

interface PullContext {
  deps: HmrcDeps;
  session: HmrcSession;
  boxId: string;
  log: Logger;
  totals: PullTotals;
}

interface PullTotals {
  pages: number;
  pulled: number;
  queued: number;
  acknowledged: number;
  acknowledgeErrors: string[];
}

/**
 * `ppns-pull`: lists one box's PENDING notifications (and FAILED ones when the window reaches back
 * an hour or more), oldest first, and puts every one we do not hold on the ingest queue exactly as
 * the receiver would (job id = notification id, so a push arriving at the same moment is the same
 * job), then acknowledges them so PPNS stops re-pushing and the next pull does not see them
 * again. Acknowledging comes only after Redis has the ingest jobs: a crash in between leaves them
 * PENDING, to be pulled again. Every list call waits for the box's turn (one per
 * PPNS_LIST_MIN_GAP_MS across replicas, runtime/pacing.ts), so a pull with several pages takes ten
 * seconds per further page.
 *
 * The window is [mark − overlap, now − grace]: the mark is where the last complete pull ended, the
 * overlap covers clock skew at the boundary, the grace leaves pushes in flight to push.
 */
export function createPpnsPullProcessor(deps: HmrcDeps) {
  return async (
    job: Job,
  ): Promise<(PullTotals & { coveredUntil: string }) | { skipped: string }> => {
    const { boxId } = jobData(ppnsPullData, job);
    const scope = ppnsScope(boxId);
    const log = deps.logger.child({ boxId, job: 'ppns-pull' });
    const totals: PullTotals = {
      pages: 0,
      pulled: 0,
      queued: 0,
      acknowledged: 0,
      acknowledgeErrors: [],
    };
    // A pull of this box already running on any replica (a retry, a pull queued twice) would
    // only repeat its calls ten seconds apart each: this one gives way; the next starts from
    // the mark anyway.
    const release = await deps.boxPulls.lockBoxPull(boxId, pullLockMs(deps));
    if (release === undefined) {
      log.debug('another pull of this box is running; this one gives way');
      return { skipped: 'another pull of this box is running' };
    }
    const context: PullContext = {
      deps,
      session: new HmrcSession(deps, applicationTokens(deps)),
      boxId,
      log,
      totals,
    };
    try {
      const config = deps.config;
      // One list call per box every PPNS_LIST_MIN_GAP_MS (runtime/pacing.ts): wait for the box's
      // turn before fixing the window, so it reaches up to the moment of the call.
      const readyInMs = await deps.boxPulls.boxReadyIn(boxId);
      if (readyInMs > 0) await sleep(readyInMs);
      const now = Date.now();
      const mark = await highWaterMark(deps.db, scope);
      const from = new Date(
        mark !== null
          ? mark.getTime() - config.RECONCILE_OVERLAP_SECONDS * 1000
          : now - config.RECONCILE_INITIAL_LOOKBACK_HOURS * 3600_000,
      );
      const to = new Date(now - config.RECONCILE_GRACE_SECONDS * 1000);
      // Each status is covered up to where its paging stopped; the next pull starts from the
      // least of them, so a status cut short by the page bound loses nothing.
      let coveredUntil = to;
      for (const status of statusesFor(from, now)) {
        const reached = await pullStatus(context, status, from, to);
        if (reached < coveredUntil) coveredUntil = reached;
      }
      if (totals.acknowledgeErrors.length > 0) {
        await recordRun(deps.db, scope, {
          ok: false,
          mark: coveredUntil,
          error: `acknowledge failed: ${totals.acknowledgeErrors[0]}`,
        });
        deps.metrics.reconcileRuns.add(1, { kind: 'ppns', outcome: 'error' });
      } else {
        await recordRun(deps.db, scope, { ok: true, mark: coveredUntil });
        deps.metrics.reconcileRuns.add(1, { kind: 'ppns', outcome: 'ok' });
      }
      // Quiet pulls are the norm (every 10 s per box): only ones that found something are info.
      log[totals.pulled > 0 ? 'info' : 'debug']({ ...totals, coveredUntil }, 'PPNS box pulled');
      return { ...totals, coveredUntil: coveredUntil.toISOString() };
    } catch (error) {
      if (isRateLimitError(error)) throw error;
      await recordRun(deps.db, scope, { ok: false, error: (error as Error).message }).catch(
        () => undefined,
      );
      deps.metrics.reconcileRuns.add(1, { kind: 'ppns', outcome: 'error' });
      if (error instanceof TokenUnavailable)
        throw new RetryLater('NO_APPLICATION_TOKEN', error.message);
      throw error;
    } finally {
      await release().catch((error: unknown) =>
        log.warn({ err: error }, 'could not release the pull lock (it expires by itself)'),
      );
    }
  };
}

/** Longest a pull can take: every page of both statuses at one list call per gap, plus slack. */
const pullLockMs = (deps: HmrcDeps): number =>
  (2 * deps.config.PPNS_PULL_MAX_PAGES + 1) * deps.config.PPNS_LIST_MIN_GAP_MS +
  deps.config.HMRC_REQUEST_TIMEOUT_MS +
  60_000;

/**
 * Pages one status by fromDate, which is inclusive: the boundary notification comes back and is
 * skipped by id. A full page of notifications we have all seen (100 sharing one timestamp that
 * acknowledging did not take out of the list) would repeat forever, so the date then moves one
 * millisecond on. Returns how far this status is covered.
 */
async function pullStatus(
  context: PullContext,
  status: PpnsStatusFilter,
  from: Date,
  to: Date,
): Promise<Date> {
  const { deps, session, boxId, log, totals } = context;
  const seen = new Set<string>();
  let fromDate = from;
  for (let page = 1; page <= deps.config.PPNS_PULL_MAX_PAGES; page += 1) {
    // PPNS answers 400 when fromDate is not before toDate.
    if (fromDate >= to) return to;
    const result = await session.call((token) =>
      deps.hmrc.ctc.listBoxNotifications(boxId, { status, fromDate, toDate: to }, token),
    );
    if (!result.ok) failWith(result.error, `listing ${status} notifications of box ${boxId}`);
    totals.pages += 1;
    const fresh = result.notifications.filter(
      (notification) => !seen.has(notification.notificationId),
    );
    for (const notification of fresh) seen.add(notification.notificationId);
    await takeOver(context, fresh, result.invalid);

    const last = result.notifications.at(-1);
    if (result.notifications.length + result.invalid.length < pageSize) return to;
    if (last === undefined) {
      // A full page of entries we cannot read: nothing to page on. They were quarantined
      // where they had an id; the rest waits for the next pull.
      log.error({ status }, 'a full page of unreadable PPNS notifications; paging stops');
      return fromDate;
    }
    if (fresh.length === 0) {
      log.error(
        { status, createdDateTime: last.createdDateTime },
        'PPNS keeps returning the same full page (one timestamp, acknowledgements not applied); skipping a millisecond',
      );
      fromDate = new Date(last.createdAt.getTime() + 1);
    } else {
      fromDate = last.createdAt;
    }
  }
  // Page bound reached: covered up to the last page's end; the next pull carries on from there.
  return fromDate;
}

/** The envelope as PPNS sent it (its `message` untouched), for the ingest path to parse. */
function envelopeText(notification: PpnsEnvelope): string {
  return JSON.stringify({
    notificationId: notification.notificationId,
    boxId: notification.boxId,
    messageContentType: notification.messageContentType,
    message: notification.message,
    status: notification.status,
    createdDateTime: notification.createdDateTime,
  });
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Queues what we do not hold, then acknowledges everything handled on this page. */
async function takeOver(
  context: PullContext,
  notifications: readonly PpnsEnvelope[],
  invalid: BoxNotifications['invalid'],
): Promise<void> {
  const { deps, boxId, log, totals } = context;
  const receivedAt = new Date().toISOString();
  const held = await heldNotifications(deps, notifications);
  const ingest: IngestNotificationData[] = notifications
    .filter((notification) => !held.has(notification.notificationId))
    .map((notification) => ({
      notificationId: notification.notificationId,
      boxId,
      source: 'pull',
      receivedAt,
      envelope: envelopeText(notification),
      trace: {},
    }));
  const acknowledge = notifications.map((notification) => notification.notificationId);
  // An entry that fails validation but has an id goes in too: the ingest path quarantines it
  // with its raw JSON (visible and replayable) instead of it being skipped on every pull.
  for (const entry of invalid) {
    const raw = entry.raw as { notificationId?: unknown } | null;
    const id = typeof raw?.notificationId === 'string' ? raw.notificationId.toLowerCase() : '';
    if (!uuidPattern.test(id) || acknowledge.includes(id)) {
      log.error({ error: entry.error }, 'PPNS returned a notification without a usable id');
      continue;
    }
    ingest.push({
      notificationId: id,
      boxId,
      source: 'pull',
      receivedAt,
      envelope: JSON.stringify(entry.raw),
      trace: {},
    });
    acknowledge.push(id);
  }
  totals.pulled += notifications.length + invalid.length;

  if (ingest.length > 0) {
    await deps.ingestQueue.addBulk(
      ingest.map((data) => ({
        name: jobs.ingestNotification.name,
        data: ingestNotificationData.parse(data),
        opts: jobOptions(jobs.ingestNotification, { jobId: jobIds.ingest(data.notificationId) }),
      })),
    );
    totals.queued += ingest.length;
    log.info({ queued: ingest.length }, 'pulled notifications queued for ingest');
  }

  for (let start = 0; start < acknowledge.length; start += pageSize) {
    const batch = acknowledge.slice(start, start + pageSize);
    const result = await context.session.call((token) =>
      deps.hmrc.ctc.acknowledgeNotifications(boxId, batch, token),
    );
    if (result.ok) {
      totals.acknowledged += batch.length;
    } else {
      // Not fatal: what was queued stays queued, and the mark still moves on, so a box whose
      // acknowledgements fail (e.g. the write:notifications scope is missing) is still pulled.
      totals.acknowledgeErrors.push(`${result.error.kind}: ${result.error.message}`);
      log.warn({ error: result.error, count: batch.length }, 'could not acknowledge notifications');
    }
  }
}

/** Which of these notifications we already hold (any status): one query, partitions pruned. */
async function heldNotifications(
  deps: HmrcDeps,
  notifications: readonly PpnsEnvelope[],
): Promise<Set<string>> {
  if (notifications.length === 0) return new Set();
  const times = notifications.map((notification) => notification.createdAt.getTime());
  const rows = await deps.db
    .selectFrom('notifications')
    .select('notification_id')
    .where(
      'notification_id',
      'in',
      notifications.map((notification) => notification.notificationId),
    )
    .where('created_at', '>=', new Date(Math.min(...times)))
    .where('created_at', '<=', new Date(Math.max(...times)))
    .execute();
  return new Set(rows.map((row) => row.notification_id));
}
