import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { addJob, jobIds, jobs } from '@ctc-hub/queue';
import { currentTraceCarrier } from '@ctc-hub/telemetry';
import express, { Router, type Request } from 'express';
import { unusableConnection } from '../connections/not-connected.js';
import type { ApiDeps } from '../deps.js';
import { canSeeEori, principalOf } from '../http/auth.js';
import { ApiError, forbidden, route } from '../http/errors.js';
import { accessCodeKey, accessCodes, sameHmac, type AccessCodes } from './access-code.js';
import { abandonCheck, checkState, claimWindow, windowHolder, type CheckState } from './queries.js';
import {
  keyLimitReply,
  notConnectedReply,
  replyFor,
  throttledReply,
  timeoutReply,
  type BalanceSource,
  type Reply,
} from './replies.js';
import { accessCodeOf, guaranteeReference, traderEori } from './request.js';

/**
 * POST /v1/guarantees/{grn}/balance  `{"accessCode": "ABC1"}`, header X-Trader-EORI
 *   → 200 `{ grn, balance, currency, checkedAt, ageSeconds, source: 'hmrc' | 'cache' }`
 *
 * HMRC allows one request per minute per user and GRN and spends that minute even when the
 * request fails (reference §5: its lock is SHA-256(internalId + GRN), taken before the access
 * code is checked). The user is the trader whose token we send, so each (EORI, GRN) has one
 * window row in Postgres, claimed atomically (queries.ts); one trader's checks never spend
 * another's minute, nor tell them that the GRN was checked:
 *  - the request that claims it records a check and queues a `guarantee-balance` job on the
 *    hmrc queue (so the call shares the one HMRC rate budget), then waits for the check's row;
 *  - a request inside its trader's window gets that check's result only if it brings the same
 *    access code (compared by keyed hash): the finished balance, with its age, or, while the call
 *    is still running, its outcome when it lands. Anything else is 429 with Retry-After, and
 *    HMRC is not called. An answer is never shown for another EORI than the one it was asked for.
 *
 * Every tenant shares the application's HMRC budget (3 requests/s), so an API key may have at
 * most GUARANTEE_BALANCE_MAX_IN_FLIGHT_PER_KEY checks queued or calling at once; beyond that it
 * gets 429 KEY_LIMIT_REACHED and nothing is claimed, so a key checking hundreds of GRNs cannot
 * push everyone else's checks (and declarations, which share the priority) back by minutes.
 *
 * Waiting polls the check's row rather than BullMQ's QueueEvents: the row is where the outcome
 * lives for the cache anyway, a request joining another replica's check has no job handle of its
 * own, a job's return value leaves Redis with the job while the row stays, and polling needs no
 * extra blocking Redis connection per replica. The cost is a primary-key read every ≤ 250 ms per
 * waiting request, and the per-key cap keeps the number of waiting requests small.
 */

const built = new WeakMap<ApiDeps, AccessCodes>();

// Built once per deps (the HMAC key derivation is not free), so ApiDeps needs no new member.
function accessCodesOf(deps: ApiDeps): AccessCodes {
  let codes = built.get(deps);
  if (codes === undefined) {
    codes = accessCodes(deps.config);
    built.set(deps, codes);
  }
  return codes;
}

/** How long handing the check to Redis may take before the request fails with 503. */
const queueDeadlineMs = 2000;
/** Claim attempts when a window ends between our claim and our look at its holder. */
const maxClaims = 3;

export function guaranteeRoutes(deps: ApiDeps): Router {
  const codes = accessCodesOf(deps);
  const router = Router();
  router.post(
    '/v1/guarantees/:grn/balance',
    express.raw({ type: () => true, limit: '16kb' }),
    route(async (request, response) => {
      // A balance is the trader's business: no shared cache may keep it.
      response.setHeader('cache-control', 'no-store');
      const abort = new AbortController();
      response.on('close', () => {
        if (!response.writableFinished) abort.abort();
      });
      const reply = await checkBalance(deps, codes, request, abort.signal);
      // undefined: the client went away while waiting; the check itself carries on.
      if (reply === undefined || abort.signal.aborted) return;
      for (const [name, value] of Object.entries(reply.headers)) response.setHeader(name, value);
      response.status(reply.status).json(reply.body);
    }),
  );
  return router;
}

async function checkBalance(
  deps: ApiDeps,
  codes: AccessCodes,
  request: Request,
  signal: AbortSignal,
): Promise<Reply | undefined> {
  const principal = principalOf(request);
  const eori = traderEori(request);
  if (!canSeeEori(principal, eori)) {
    throw forbidden(`This API key may not check guarantee balances for EORI ${eori}`);
  }
  const grn = guaranteeReference(request);
  const accessCode = accessCodeOf(request.body);

  // Checked before claiming: an EORI that cannot call HMRC must not spend the GRN's minute.
  const unusable = await unusableConnection(deps, eori);
  if (unusable !== undefined) return notConnectedReply(unusable);

  const windowSeconds = deps.config.GUARANTEE_BALANCE_WINDOW_SECONDS;
  const accessCodeHmac = codes.hmac(grn, eori, accessCode);
  const deadline = Date.now() + deps.config.GUARANTEE_BALANCE_TIMEOUT_MS;
  const log = deps.logger.child({ grn, eori, keyId: principal.keyId });

  const maxInFlight = deps.config.GUARANTEE_BALANCE_MAX_IN_FLIGHT_PER_KEY;
  for (let attempt = 0; attempt < maxClaims; attempt += 1) {
    const checkId = randomUUID();
    const check = { checkId, grn, eori, apiKeyId: principal.keyId, accessCodeHmac, windowSeconds };
    const claim = await claimWindow(deps.db, check, maxInFlight);
    if (claim === 'claimed') {
      await enqueue(deps, codes, { checkId, eori, grn }, accessCode);
      log.info({ checkId }, 'guarantee balance check queued');
      return awaitReply(deps, checkId, 'hmrc', deadline, signal);
    }

    const holder = await windowHolder(deps.db, eori, grn, windowSeconds);
    // The window ended between the claim and this read: claim again.
    if (holder === undefined || holder.secondsLeft <= 0) {
      if (claim === 'key-limit') return keyLimitReply(maxInFlight);
      continue;
    }
    // The window is per EORI, so the holder is this trader's; the EORI is compared all the same:
    // an answer must never reach another trader than the one it was asked for.
    const sameQuestion =
      holder.eori === eori &&
      holder.accessCodeHmac !== null &&
      sameHmac(holder.accessCodeHmac, accessCodeHmac);
    const running = holder.status === 'queued' || holder.status === 'calling';
    if (!sameQuestion) {
      log.info({ holder: holder.checkId }, 'guarantee balance throttled: window held by another');
      // A running check moves the window's start to HMRC's answer, so a full window is left.
      return throttledReply(
        running ? Math.max(holder.secondsLeft, windowSeconds) : holder.secondsLeft,
      );
    }
    // The same question is already on its way to HMRC: share its answer (no new HMRC call, so
    // the key's cap does not apply).
    if (running) return awaitReply(deps, holder.checkId, 'cache', deadline, signal);
    const state = await checkState(deps.db, holder.checkId, windowSeconds);
    if (state?.outcome === 'balance') return replyFor(state, 'cache');
    return throttledReply(holder.secondsLeft);
  }
  return throttledReply(1);
}

/** Leaves the code for the worker and queues the job; 503 (window given back) if Redis fails. */
async function enqueue(
  deps: ApiDeps,
  codes: AccessCodes,
  check: { checkId: string; eori: string; grn: string },
  accessCode: string,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Redis did not answer within ${queueDeadlineMs} ms`)),
      queueDeadlineMs,
    );
  });
  try {
    await Promise.race([
      (async () => {
        await codes.handOver(deps.redis, deps.config.QUEUE_PREFIX, check.checkId, accessCode);
        await addJob(
          deps.hmrcQueue,
          jobs.guaranteeBalance,
          { checkId: check.checkId, trace: currentTraceCarrier() },
          { jobId: jobIds.guaranteeBalance(check.checkId) },
        );
      })(),
      deadline,
    ]);
  } catch (error) {
    deps.logger.warn(
      { err: error, grn: check.grn, checkId: check.checkId },
      'could not queue a guarantee balance check',
    );
    // If the job did reach Redis after all, the worker finds the check completed and skips it.
    // Not awaited: Redis may be the thing that is not answering (the code expires anyway).
    void deps.redis
      .del(accessCodeKey(deps.config.QUEUE_PREFIX, check.checkId))
      .catch(() => undefined);
    await abandonCheck(deps.db, check, 'QUEUE_UNAVAILABLE', 'the hmrc queue could not be reached');
    throw new ApiError(
      503,
      'SERVICE_UNAVAILABLE',
      'The balance check could not be queued. HMRC was not called: try again shortly.',
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Polls the check until it completes, the deadline passes (504) or the client leaves. */
async function awaitReply(
  deps: ApiDeps,
  checkId: string,
  source: BalanceSource,
  deadline: number,
  signal: AbortSignal,
): Promise<Reply | undefined> {
  const windowSeconds = deps.config.GUARANTEE_BALANCE_WINDOW_SECONDS;
  let pause = 20;
  for (;;) {
    const state: CheckState | undefined = await checkState(deps.db, checkId, windowSeconds);
    if (state?.status === 'completed') return replyFor(state, source);
    if (signal.aborted) return undefined;
    const left = deadline - Date.now();
    if (left <= 0) return timeoutReply(checkId, deps.config.GUARANTEE_BALANCE_TIMEOUT_MS);
    await sleep(Math.min(pause, left), undefined, { signal }).catch(() => undefined);
    pause = Math.min(pause * 2, 250);
  }
}
