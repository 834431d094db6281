import type { DeadLetterStatus } from '@ctc-hub/db';
import { addJob, jobIds, jobs } from '@ctc-hub/queue';
import express, { Router } from 'express';
import { auditOf, writeAudit, type AuditEntry } from '../audit/queries.js';
import type { ApiDeps } from '../deps.js';
import { eoriFilter, isOperator, principalOf, type ApiPrincipal } from '../http/auth.js';
import { ApiError, notFound, route } from '../http/errors.js';
import { iso, isoOrNull } from '../http/hateoas.js';
import { uuidParam } from '../http/params.js';
import {
  abandonReplay,
  createReplay,
  findReplay,
  purgeLetters,
  runningReplays,
} from './action-queries.js';
import { bulkAction, type BulkActionDeps } from './bulk.js';
import { confirmations, type Confirmations } from './confirmation.js';
import { parseBody, replayLimitError } from './filter.js';
import { singleReplayBody } from './openapi.js';
import { findDeadLetter, type DeadLetterRow } from './queries.js';

/**
 * Operator actions on dead letters, every one EORI-scoped like the reads (a key limited to some
 * EORIs acts only on their letters, and anything else is 404 to it) and written to audit_log,
 * refusals included:
 *
 *   POST   /v1/dead-letters/{id}/replay   202 {replayId} — queued; 200 when it is resolved or
 *          purged (nothing to do); 409 NOT_REPLAYABLE for a kind that cannot be re-run, 409
 *          ALREADY_REPLAYED while an earlier replay is in flight (body {"force": true} to insist)
 *   POST   /v1/dead-letters/replay        {"dryRun": true, ...filter} → 200 {count, confirmation};
 *          {...same filter, "confirmation"} → 202 {replayId, total}; 409 if the set changed
 *   GET    /v1/replays/{id}               progress: total, replayed, skipped, failed, pending
 *   DELETE /v1/dead-letters/{id}          purge one: 200 (also when already purged)
 *   POST   /v1/dead-letters/purge         purge by filter, dry run first as for replay → 200
 *
 * A key may have REPLAY_MAX_RUNNING_PER_KEY replays running at once (single or bulk); beyond
 * that a new one is 429 KEY_LIMIT_REACHED with Retry-After, audited as refused.
 *
 * A replay (one letter or many) is a `replays` row whose letters are fixed when it is created;
 * the worker's replay job re-queues them at REPLAY_RATE_PER_SECOND (services/worker/src/ops).
 */

/**
 * Kinds refused up front, with the reason. What can be replayed is decided by the worker's
 * table (services/worker/src/handlers.ts, `replayers`); a kind it does not know is counted as failed.
 */
const notReplayable: Record<string, string> = {
  message:
    'the database refused this record and only its references were kept; fix the cause, then ' +
    'let reconciliation fetch the message again',
};

/** Request bodies are small JSON objects; any content type is read as JSON. */
const jsonBody = express.json({ limit: '16kb', type: () => true });

const confirmationsFor = new WeakMap<ApiDeps, Confirmations>();

export function deadLetterActionRoutes(deps: ApiDeps): Router {
  let tokens = confirmationsFor.get(deps);
  if (tokens === undefined) {
    tokens = confirmations(deps.config);
    confirmationsFor.set(deps, tokens);
  }
  const bulk: BulkActionDeps = { ...deps, confirmations: tokens, enqueueReplay: queueReplay };
  const router = Router();

  async function queueReplay(replayId: string, audit: AuditEntry): Promise<void> {
    try {
      await addJob(deps.opsQueue, jobs.replay, { replayId }, { jobId: jobIds.replay(replayId) });
    } catch (error) {
      deps.logger.error({ err: error, replayId }, 'could not queue a replay');
      await abandonReplay(deps.db, replayId);
      await writeAudit(deps.db, {
        ...audit,
        outcome: 'failed',
        details: { ...audit.details, error: (error as Error).message },
      });
      throw new ApiError(
        503,
        'SERVICE_UNAVAILABLE',
        'The replay could not be queued; nothing was replayed. Try again.',
        { replayId },
      );
    }
  }

  for (const action of ['replay', 'purge'] as const)
    router.post(
      `/v1/dead-letters/${action}`,
      jsonBody,
      route(async (request, response) => {
        const result = await bulkAction(bulk, request, action);
        response.status(result.status).json(result.body);
      }),
    );

  router.post(
    '/v1/dead-letters/:deadLetterId/replay',
    jsonBody,
    route(async (request, response) => {
      const principal = principalOf(request);
      const id = uuidParam(request, 'deadLetterId');
      const body = parseBody(singleReplayBody, request);
      const { letter, audit } = await letterToActOn(deps, principal, id, 'dead-letter.replay');
      const refusal = notReplayable[letter.kind];
      if (refusal !== undefined)
        throw await refused(
          deps,
          audit,
          { code: 'NOT_REPLAYABLE' },
          new ApiError(
            409,
            'NOT_REPLAYABLE',
            `Dead letters of kind ${letter.kind} cannot be replayed: ${refusal}`,
            { deadLetterId: id, kind: letter.kind },
          ),
        );
      if (letter.status === 'resolved' || letter.status === 'purged') {
        await writeAudit(deps.db, {
          ...audit,
          outcome: 'no-op',
          details: { status: letter.status },
        });
        response.status(200).json({
          replayId: null,
          deadLetterId: id,
          status: letter.status,
          message: `Nothing to replay: the dead letter is ${letter.status}`,
        });
        return;
      }
      if (letter.status === 'replayed' && body.force !== true)
        throw await refused(
          deps,
          audit,
          { code: 'ALREADY_REPLAYED' },
          new ApiError(
            409,
            'ALREADY_REPLAYED',
            'The dead letter was replayed and its outcome is not known yet; send {"force": true} ' +
              'to replay it again',
            {
              deadLetterId: id,
              replayedAt: isoOrNull(letter.replayed_at),
              replayCount: letter.replay_count,
            },
          ),
        );
      const maxRunning = deps.config.REPLAY_MAX_RUNNING_PER_KEY;
      if (maxRunning > 0 && (await runningReplays(deps.db, principal.keyId)) >= maxRunning)
        throw await refused(
          deps,
          audit,
          { code: 'KEY_LIMIT_REACHED', maxRunning },
          replayLimitError(maxRunning),
        );
      const accepted: AuditEntry = {
        ...audit,
        outcome: 'accepted',
        details: { status: letter.status, ...(body.force === true && { force: true }) },
      };
      const replay = await deps.db.transaction().execute(async (trx) => {
        const created = await createReplay(trx, {
          requestedBy: principal.keyId,
          filter: { deadLetterId: id, ...(body.force === true && { force: true }) },
          letters: { id },
          total: 1,
        });
        await writeAudit(trx, {
          ...accepted,
          target: { ...accepted.target, replayId: created.id },
        });
        return created;
      });
      await queueReplay(replay.id, accepted);
      response
        .status(202)
        .location(`/v1/replays/${replay.id}`)
        .json({
          replayId: replay.id,
          deadLetterId: id,
          total: 1,
          status: replay.status,
          _links: {
            self: { href: `/v1/replays/${replay.id}` },
            deadLetter: { href: `/v1/dead-letters/${id}` },
          },
        });
    }),
  );

  router.delete(
    '/v1/dead-letters/:deadLetterId',
    route(async (request, response) => {
      const principal = principalOf(request);
      const id = uuidParam(request, 'deadLetterId');
      const { letter, audit } = await letterToActOn(deps, principal, id, 'dead-letter.purge');
      const previous: DeadLetterStatus = letter.status;
      const purged = await deps.db.transaction().execute(async (trx) => {
        const ids = await purgeLetters(trx, { id });
        await writeAudit(trx, {
          ...audit,
          outcome: ids.length > 0 ? 'accepted' : 'no-op',
          details: { previousStatus: previous },
        });
        return ids.length > 0;
      });
      response.status(200).json({
        deadLetterId: id,
        status: 'purged',
        previousStatus: previous,
        purged,
        _links: { self: { href: `/v1/dead-letters/${id}` } },
      });
    }),
  );

  router.get(
    '/v1/replays/:replayId',
    route(async (request, response) => {
      const principal = principalOf(request);
      const id = uuidParam(request, 'replayId');
      // A key limited to some EORIs sees the replays it asked for; an unscoped key sees all.
      const view = await findReplay(
        deps.db,
        id,
        isOperator(principal) ? undefined : principal.keyId,
      );
      if (view === undefined) throw notFound(`Replay ${id} was not found`);
      const { replay } = view;
      response.json({
        _links: { self: { href: `/v1/replays/${id}` } },
        replayId: replay.id,
        status: replay.status,
        requestedBy: replay.requested_by,
        filter: replay.filter,
        total: replay.total,
        replayed: replay.replayed,
        skipped: replay.skipped,
        failed: replay.failed,
        pending: view.pending,
        createdAt: iso(replay.created_at),
        finishedAt: isoOrNull(replay.finished_at),
        problems: view.problems,
      });
    }),
  );

  return router;
}

/**
 * The letter an action names, with the action's audit entry; a letter the key may not see (or
 * that does not exist) is audited as not-found and answered 404.
 */
async function letterToActOn(
  deps: ApiDeps,
  principal: ApiPrincipal,
  id: string,
  action: string,
): Promise<{ letter: DeadLetterRow; audit: AuditEntry }> {
  const letter = await findDeadLetter(deps.db, id, eoriFilter(principal));
  const audit = auditOf(principal, action, {
    deadLetterId: id,
    ...(letter !== undefined && { kind: letter.kind, eori: letter.eori }),
  });
  if (letter === undefined) {
    await writeAudit(deps.db, { ...audit, outcome: 'not-found' });
    throw notFound(`Dead letter ${id} was not found`);
  }
  return { letter, audit };
}

/** Audits the request as refused, with `details`, and gives back `error` for the caller to throw. */
async function refused(
  deps: ApiDeps,
  audit: AuditEntry,
  details: Record<string, unknown>,
  error: ApiError,
): Promise<ApiError> {
  await writeAudit(deps.db, { ...audit, outcome: 'refused', details });
  return error;
}
