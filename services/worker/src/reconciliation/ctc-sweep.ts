import type { MessageSummary } from '@ctc-hub/hmrc-client';
import { movementPath } from '@ctc-hub/ppns';
import {
  fetchMessageData,
  hmrcPriority,
  jobIds,
  jobOptions,
  jobs,
  reconcileMessagesData,
  reconcileMovementsData,
  type FetchMessageData,
  type ReconcileMessagesData,
  type ReconcileMovementsData,
} from '@ctc-hub/queue';
import type { Logger } from '@ctc-hub/telemetry';
import { DelayedError, type Job, type JobsOptions } from 'bullmq';
import { jobData, removedWhenFinished } from './jobs.js';
import {
  failWith,
  hmrcTime,
  HmrcSession,
  isRateLimitError,
  TokenUnavailable,
  traderTokens,
} from '../runtime/hmrc-session.js';
import { markConnectionVerified, ctcScope, noteError, ppnsScope, recordRun } from '@ctc-hub/db';
import { foreignMovement, reportMismatch, withMismatchCounter } from '../connections/mismatch.js';
import { RetryLater, type HmrcDeps } from '../runtime/deps.js';

/** HMRC's largest page of movements or messages. */
const pageSize = 500;
/** Statuses whose body HMRC can return: inbound from NCTS, or a submission it processed. */
const fetchableStatuses = new Set(['Received', 'Success']);

/**
 * A token only a person can fix (trader not connected, consent expired, key missing) ends the
 * job quietly with the scope's last_error saying so; anything else is thrown for BullMQ.
 */
async function settleFailure(
  deps: HmrcDeps,
  target: { scope: string; wholeRun: boolean },
  error: unknown,
  log: Logger,
): Promise<{ skipped: string }> {
  if (isRateLimitError(error)) throw error;
  const message = (error as Error).message;
  await (
    target.wholeRun
      ? recordRun(deps.db, target.scope, { ok: false, error: message })
      : noteError(deps.db, target.scope, message)
  ).catch(() => undefined);
  deps.metrics.reconcileRuns.add(1, { kind: 'ctc', outcome: 'error' });
  if (error instanceof TokenUnavailable) {
    if (error.retryable) throw new RetryLater('NO_TOKEN', error.message);
    log.warn({ error: error.message }, 'trader cannot be swept until they connect again');
    return { skipped: error.tokenError.kind };
  }
  throw error;
}

/**
 * `reconcile-movements`: one page (500) of a trader's departures or arrivals updated since the
 * scope's mark. Each movement gets a `reconcile-messages` job; the next page is queued while
 * totalCount says there is one. After the last page the mark moves to the sweep's start minus
 * the overlap — not to now: a movement updated while the sweep was paging may have moved to a
 * page already read, and the next sweep must see it.
 */
export function createReconcileMovementsProcessor(deps: HmrcDeps) {
  return async (job: Job): Promise<unknown> => {
    const data = jobData(reconcileMovementsData, job);
    const scope = ctcScope(data.eori, data.movementType);
    const log = deps.logger.child({ scope, page: data.page, job: 'reconcile-movements' });
    const v1 = deps.config.CTC_API_VERSION === '1.0';
    const session = new HmrcSession(deps, traderTokens(deps, data.eori));
    try {
      const result = await session.call((token) =>
        deps.hmrc.ctc.listMovements({
          type: data.movementType,
          token,
          updatedSince: data.updatedSince,
          // API 1.0 had no paging: one answer holds every movement.
          ...(v1 ? {} : { page: data.page, count: pageSize }),
        }),
      );
      // A page past the end (totalCount shrank as movements were archived) ends the sweep.
      const pastTheEnd =
        !result.ok &&
        result.error.kind === 'client-error' &&
        result.error.status === 404 &&
        data.page > 1;
      if (!result.ok && !pastTheEnd) failWith(result.error, `listing ${data.movementType}s`);
      const movements = result.ok ? result.list.movements : [];
      const totalCount = result.ok ? result.list.totalCount : 0;

      // Every movement HMRC lists for this token carries the token's enrolment EORI. One that
      // names another EORI means the token is someone else's: stop before fetching anything.
      const foreign = foreignMovement(data.eori, movements);
      if (foreign !== undefined) {
        const message = await reportMismatch(withMismatchCounter(deps), {
          connectionId: session.connectionId,
          eori: data.eori,
          observedEori: foreign.enrollmentEORINumber!.toUpperCase(),
          detail: `the sweep of ${data.movementType}s listed ${foreign.id} with enrollmentEORINumber ${foreign.enrollmentEORINumber}`,
        });
        await recordRun(deps.db, scope, { ok: false, error: message });
        deps.metrics.reconcileRuns.add(1, { kind: 'ctc', outcome: 'error' });
        return { skipped: 'mismatched' };
      }
      if (movements.length > 0 && session.connectionId !== null && !v1)
        await markConnectionVerified(deps.db, session.connectionId);

      if (movements.length > 0) {
        // Checks are queued already waiting as long as the box needs (see checkWait), so a
        // thousand of them after an outage do not each take a turn of the hmrc queue's limiter
        // just to find they must wait.
        const pulledUntil = await boxesPulledUntil(deps);
        const queuedAt = Date.now();
        await deps.hmrcQueue.addBulk(
          movements.map((movement) => {
            const updatedAt = hmrcTime(movement.updated);
            const updated = updatedAt?.toISOString();
            const delay =
              updatedAt === undefined
                ? 0
                : checkWait(deps, updatedAt.getTime(), queuedAt, pulledUntil);
            const messagesJob: ReconcileMessagesData = {
              eori: data.eori,
              movementType: data.movementType,
              movementId: movement.id,
              receivedSince: data.updatedSince,
              ...(updated === undefined ? {} : { updated }),
            };
            return {
              name: jobs.reconcileMessages.name,
              data: reconcileMessagesData.parse(messagesJob),
              opts: jobOptions(jobs.reconcileMessages, {
                jobId: jobIds.reconcileMessages(
                  data.movementType,
                  movement.id,
                  data.updatedSince,
                  updated,
                ),
                ...(updated === undefined ? removedWhenFinished : checkedOnce(deps)),
                ...(delay > 0 ? { delay } : {}),
              }),
            };
          }),
        );
      }
      const more = !v1 && !pastTheEnd && totalCount > data.page * pageSize;
      if (more) {
        const next: ReconcileMovementsData = { ...data, page: data.page + 1 };
        await deps.hmrcQueue.add(
          jobs.reconcileMovements.name,
          reconcileMovementsData.parse(next),
          jobOptions(jobs.reconcileMovements, {
            jobId: jobIds.reconcileMovements(
              data.eori,
              data.movementType,
              data.sweepStartedAt,
              next.page,
            ),
            // Page ids are unique per sweep: a failed page may stay for inspection.
            removeOnComplete: true,
          }),
        );
        return { movements: movements.length, totalCount, next: next.page };
      }
      const mark = new Date(
        new Date(data.sweepStartedAt).getTime() - deps.config.RECONCILE_OVERLAP_SECONDS * 1000,
      );
      await recordRun(deps.db, scope, { ok: true, mark });
      deps.metrics.reconcileRuns.add(1, { kind: 'ctc', outcome: 'ok' });
      log[totalCount > 0 ? 'info' : 'debug'](
        { movements: movements.length, totalCount, pages: data.page, mark },
        'CTC sweep listed every movement updated since the mark',
      );
      return { movements: movements.length, totalCount, mark: mark.toISOString() };
    } catch (error) {
      return settleFailure(deps, { scope, wholeRun: true }, error, log);
    }
  };
}

/**
 * A check keyed on HMRC's `updated` stays in Redis (completed) for as long as a later sweep can
 * list the movement with the same `updated` (its window reaches back the overlap, and sweeps
 * start every interval): adding it again is then a no-op, so a movement is listed once per change
 * at HMRC, not once per sweep. A failed check is removed at once, so the next sweep tries again.
 */
const checkedOnce = (deps: HmrcDeps): JobsOptions => ({
  removeOnComplete: {
    age: deps.config.RECONCILE_OVERLAP_SECONDS + 2 * deps.config.RECONCILE_INTERVAL_SECONDS + 60,
  },
  removeOnFail: true,
});

/**
 * PPNS creates a notification a moment after HMRC received the message; a pull covering the
 * movement's `updated` plus this much has seen every notification PPNS made for it.
 */
const notificationLagMs = 2_000;
/** How long a fetch the sweep queues waits, so ingest in flight stores the message first. */
const sweptFetchDelayMs = 2_000;

/**
 * Whether a check of this movement should wait, and how long before it looks again. Listing a
 * movement's messages costs an HMRC call; right after an outage, or while PPNS is still
 * re-pushing, that call would only find messages the box is about to hand over (by push, or by
 * the pull at 100 notifications a call). So the check waits until
 *  - the movement's last update at HMRC is older than the grace (a message newer than it would be
 *    left to the next sweep anyway), and
 *  - every PPNS box has been pulled past that update (reconcile_state's mark of each box: the
 *    pull took over everything PENDING up to it, and push delivered the rest), or
 *    RECONCILE_BOX_WAIT_SECONDS have passed since the sweep queued it (a pull that keeps failing).
 * Then it lists the messages as before, so a notification PPNS never had is still found: waiting
 * changes when the call is made, never whether.
 */
async function waitForBox(
  deps: HmrcDeps,
  data: ReconcileMessagesData,
  queuedAt: number,
): Promise<number> {
  if (data.updated === undefined) return 0;
  return checkWait(deps, new Date(data.updated).getTime(), queuedAt, await boxesPulledUntil(deps));
}

/** The least mark of the PPNS boxes (how far every box has been pulled); null if one has none. */
async function boxesPulledUntil(deps: HmrcDeps): Promise<number | null> {
  const boxes = deps.config.PPNS_BOX_IDS;
  if (boxes.length === 0) return Number.POSITIVE_INFINITY;
  const marks = await deps.db
    .selectFrom('reconcile_state')
    .select('high_water_mark')
    .where(
      'scope',
      'in',
      boxes.map((boxId) => ppnsScope(boxId)),
    )
    .execute();
  if (marks.length < boxes.length || marks.some((row) => row.high_water_mark === null)) return null;
  return Math.min(...marks.map((row) => row.high_water_mark!.getTime()));
}

/** Milliseconds a check of a movement updated at `updated` should still wait (0: list now). */
function checkWait(
  deps: HmrcDeps,
  updated: number,
  queuedAt: number,
  pulledUntil: number | null,
): number {
  const now = Date.now();
  const graceLeft = updated + deps.config.RECONCILE_GRACE_SECONDS * 1000 - now;
  const boxWaitLeft = queuedAt + deps.config.RECONCILE_BOX_WAIT_SECONDS * 1000 - now;
  const covered = pulledUntil !== null && pulledUntil >= updated + notificationLagMs;
  // Not covered yet: look again once the next pull is due (or when the wait runs out).
  const boxLeft =
    covered || boxWaitLeft <= 0
      ? 0
      : Math.min(boxWaitLeft, deps.config.PPNS_PULL_INTERVAL_SECONDS * 1000);
  const wait = Math.max(graceLeft, boxLeft);
  return wait > 0 ? Math.max(wait, 1000) : 0;
}

/**
 * `reconcile-messages`: the messages of one movement received since the sweep's lower bound,
 * compared with ours in one query; each one we lack gets a `fetch-message` job with the same job
 * id a push-triggered fetch would have, so a fetch already queued is not doubled. A 404 means
 * HMRC archived the movement (60 days) or never shows it to this trader: nothing to do.
 */
export function createReconcileMessagesProcessor(deps: HmrcDeps) {
  return async (job: Job, token?: string): Promise<unknown> => {
    const data = jobData(reconcileMessagesData, job);
    const scope = ctcScope(data.eori, data.movementType);
    const log = deps.logger.child({
      scope,
      movementId: data.movementId,
      job: 'reconcile-messages',
    });
    // Waiting for the box costs no HMRC call and no attempt: the job goes back to delayed.
    const waitMs = await waitForBox(deps, data, job.timestamp);
    if (waitMs > 0 && token !== undefined) {
      log.debug({ waitMs, updated: data.updated }, 'check waits for the PPNS box to be pulled');
      await job.moveToDelayed(Date.now() + waitMs, token);
      throw new DelayedError();
    }
    try {
      const listed = await listMessages(deps, data);
      if (listed === 'not-found') return { archived: true };
      // Too young to judge: push may still be delivering it, and the next sweep's window covers
      // it (RECONCILE_GRACE_SECONDS is at most the overlap).
      const settledBefore = Date.now() - deps.config.RECONCILE_GRACE_SECONDS * 1000;
      const candidates = listed.filter(
        (message) =>
          (message.status === undefined || fetchableStatuses.has(message.status)) &&
          (hmrcTime(message.received)?.getTime() ?? 0) <= settledBefore,
      );
      const missing = await missingMessages(deps, data, candidates);
      if (missing.length > 0) {
        await deps.hmrcQueue.addBulk(
          missing.map((message) => {
            const fetch: FetchMessageData = {
              movementType: data.movementType,
              movementId: data.movementId,
              messageId: message.id,
              messageUri: `${movementPath(data.movementType, data.movementId)}/messages/${message.id}`,
              eori: data.eori,
              notificationId: null,
              notificationCreatedAt: null,
              boxId: null,
              receivedAt: hmrcTime(message.received)?.toISOString() ?? null,
              messageType: message.type ?? null,
              source: 'reconcile',
              trace: {},
            };
            return {
              name: jobs.fetchMessage.name,
              data: fetchMessageData.parse(fetch),
              opts: jobOptions(jobs.fetchMessage, {
                jobId: jobIds.fetch(data.movementType, data.movementId, message.id),
                priority: hmrcPriority.reconcile,
                // Notifications the pull has just queued are still being ingested: a moment
                // later the fetch finds their messages stored and makes no call (fetch.ts).
                delay: sweptFetchDelayMs,
                attempts: deps.config.FETCH_MAX_ATTEMPTS,
              }),
            };
          }),
        );
        log.info(
          { missing: missing.map((message) => message.id) },
          'sweep found messages we do not hold; fetching them',
        );
      }
      return { listed: listed.length, missing: missing.length };
    } catch (error) {
      const lastAttempt =
        (error as Error).name === 'UnrecoverableError' ||
        job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (lastAttempt && !isRateLimitError(error))
        log.error(
          { err: error, receivedSince: data.receivedSince },
          'giving up on this movement: a message it received since then that push missed is found only if the movement changes again',
        );
      return settleFailure(deps, { scope, wholeRun: false }, error, log);
    }
  };
}

/** Every message received since the bound, all pages (HMRC lists newest first). */
async function listMessages(
  deps: HmrcDeps,
  data: ReconcileMessagesData,
): Promise<MessageSummary[] | 'not-found'> {
  const session = new HmrcSession(deps, traderTokens(deps, data.eori));
  const v1 = deps.config.CTC_API_VERSION === '1.0';
  const messages: MessageSummary[] = [];
  for (let page = 1; ; page += 1) {
    const result = await session.call((token) =>
      deps.hmrc.ctc.listMessages(
        data.movementType,
        data.movementId,
        { receivedSince: data.receivedSince, ...(v1 ? {} : { page, count: pageSize }) },
        token,
      ),
    );
    if (!result.ok) {
      if (result.error.kind === 'client-error' && result.error.status === 404) {
        // Page 1: the movement is gone. A later page: the list shrank while we paged.
        return page === 1 ? 'not-found' : messages;
      }
      failWith(result.error, `listing the messages of ${data.movementType} ${data.movementId}`);
    }
    messages.push(...result.list.messages);
    if (v1 || result.list.totalCount <= page * pageSize || result.list.messages.length === 0)
      return messages;
  }
}

/** The listed messages we do not hold, in one query. */
async function missingMessages(
  deps: HmrcDeps,
  data: ReconcileMessagesData,
  listed: readonly MessageSummary[],
): Promise<MessageSummary[]> {
  if (listed.length === 0) return [];
  const held = await deps.db
    .selectFrom('messages')
    .select('message_id')
    .where('movement_type', '=', data.movementType)
    .where('movement_id', '=', data.movementId)
    .where(
      'message_id',
      'in',
      listed.map((message) => message.id),
    )
    .execute();
  const heldIds = new Set(held.map((row) => row.message_id));
  const unique = new Map(listed.map((message) => [message.id, message]));
  return [...unique.values()].filter((message) => !heldIds.has(message.id));
}
