import type { Request } from 'express';
import { auditOf, writeAudit, type AuditEntry } from '../audit/queries.js';
import type { ApiDeps } from '../deps.js';
import { principalOf } from '../http/auth.js';
import { ApiError, badRequest } from '../http/errors.js';
import {
  countByKind,
  createReplay,
  databaseNow,
  purgeLetters,
  runningReplays,
  summariseSet,
} from './action-queries.js';
import { confirmationTtlMs, type Confirmations } from './confirmation.js';
import {
  bulkActionBody,
  canonicalFilter,
  parseBody,
  queryFilter,
  replayLimitError,
  type CanonicalFilter,
} from './filter.js';

export interface BulkActionDeps extends ApiDeps {
  confirmations: Confirmations;
  /** Queues the replay job; on failure ends the replay, audits it and throws 503. */
  enqueueReplay: (replayId: string, audit: AuditEntry) => Promise<void>;
}

type Action = 'replay' | 'purge';

export interface BulkResult {
  status: number;
  body: Record<string, unknown>;
}

/** Canonical JSON with sorted keys: two filters bind equal exactly when they mean the same. */
const filterKey = (filter: CanonicalFilter): string =>
  JSON.stringify(Object.entries(filter).sort(([a], [b]) => (a < b ? -1 : 1)));

/**
 * A bulk replay or purge by filter, in two steps. `{"dryRun": true, ...filter}` counts the
 * letters (as of now) and returns a confirmation binding the action, the key, the filter, the
 * count and a digest of the ids. `{...filter, "confirmation": …}` then acts on exactly that set:
 * the set is taken again in a REPEATABLE READ transaction, compared with the digest, and acted on
 * in the same snapshot, so the action never covers a letter the dry run did not count. A changed
 * set is 409 SET_CHANGED (run the dry run again).
 */
export async function bulkAction(
  deps: BulkActionDeps,
  request: Request,
  action: Action,
): Promise<BulkResult> {
  const principal = principalOf(request);
  const body = parseBody(bulkActionBody, request);
  if (body.dryRun === true && body.confirmation !== undefined)
    throw badRequest('Send either "dryRun": true or the "confirmation" of a dry run, not both');
  if (body.dryRun !== true && body.confirmation === undefined)
    throw badRequest(
      `Run the ${action} with "dryRun": true first, then send the same filter with the ` +
        '"confirmation" it returns',
    );
  const filter = canonicalFilter(body);
  if (action === 'replay' && (filter.status === 'resolved' || filter.status === 'purged'))
    throw badRequest('Only open or replayed dead letters can be replayed');
  if (action === 'purge' && filter.status === 'purged')
    throw badRequest('Those dead letters are purged already');
  const scoped = queryFilter(filter, principal);
  const verb = action === 'replay' ? 'dead-letter.replay' : 'dead-letter.purge';

  if (body.dryRun === true) {
    const asOf = await databaseNow(deps.db);
    const [summary, byKind] = await Promise.all([
      summariseSet(deps.db, scoped, asOf),
      countByKind(deps.db, scoped, asOf),
    ]);
    const expiresAt = Date.now() + confirmationTtlMs;
    const confirmation = deps.confirmations.issue({
      action,
      keyId: principal.keyId,
      filter: filterKey(filter),
      count: summary.count,
      digest: summary.digest,
      asOf: asOf.toISOString(),
      expiresAt,
    });
    await writeAudit(deps.db, {
      ...auditOf(principal, `${verb}.dry-run`, { filter }),
      outcome: 'ok',
      details: { count: summary.count, byKind },
    });
    return {
      status: 200,
      body: {
        dryRun: true,
        action,
        filter,
        count: summary.count,
        byKind,
        asOf: asOf.toISOString(),
        confirmation,
        expiresAt: new Date(expiresAt).toISOString(),
      },
    };
  }

  const audit = auditOf(principal, `${verb}.bulk`, { filter });
  const refuse = async (status: number, code: string, message: string, extra = {}) => {
    await writeAudit(deps.db, { ...audit, outcome: 'refused', details: { code, ...extra } });
    return new ApiError(status, code, message, extra);
  };
  const verified = deps.confirmations.verify(body.confirmation!);
  if (!verified.ok) {
    throw verified.reason === 'expired'
      ? await refuse(
          409,
          'CONFIRMATION_EXPIRED',
          'The confirmation has expired: run the dry run again',
        )
      : await refuse(400, 'INVALID_CONFIRMATION', 'The confirmation is not one this api issued');
  }
  const claims = verified.claims;
  if (
    claims.action !== action ||
    claims.keyId !== principal.keyId ||
    claims.filter !== filterKey(filter)
  ) {
    throw await refuse(
      409,
      'CONFIRMATION_MISMATCH',
      'The confirmation was issued for another action, API key or filter: send the filter of ' +
        'the dry run unchanged, or run a new dry run',
    );
  }
  const asOf = new Date(claims.asOf);
  const maxRunning = deps.config.REPLAY_MAX_RUNNING_PER_KEY;

  const outcome = await deps.db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const current = await summariseSet(trx, scoped, asOf);
      if (current.count !== claims.count || current.digest !== claims.digest)
        return { changed: current.count } as const;
      if (action === 'purge') {
        const purged = await purgeLetters(trx, { filter: scoped, asOf });
        await writeAudit(trx, { ...audit, details: { count: purged.length } });
        return { purged: purged.length } as const;
      }
      if (claims.count === 0) {
        await writeAudit(trx, { ...audit, outcome: 'no-op', details: { count: 0 } });
        return { replayId: null } as const;
      }
      if (maxRunning > 0 && (await runningReplays(trx, principal.keyId)) >= maxRunning)
        return { limited: true } as const;
      const replay = await createReplay(trx, {
        requestedBy: principal.keyId,
        filter: { ...filter, asOf: claims.asOf },
        letters: { filter: scoped, asOf },
        total: claims.count,
      });
      await writeAudit(trx, {
        ...audit,
        target: { ...audit.target, replayId: replay.id },
        details: { count: claims.count },
      });
      return { replayId: replay.id } as const;
    });

  if ('changed' in outcome) {
    throw await refuse(
      409,
      'SET_CHANGED',
      `The dead letters matching the filter changed since the dry run (${claims.count} then, ` +
        `${outcome.changed} now): run the dry run again`,
      { dryRunCount: claims.count, count: outcome.changed },
    );
  }
  if ('limited' in outcome) {
    // The confirmation stays good until it expires: the same call succeeds once one finishes.
    const limited = replayLimitError(maxRunning);
    await writeAudit(deps.db, {
      ...audit,
      outcome: 'refused',
      details: { code: limited.code, maxRunning },
    });
    throw limited;
  }
  if ('purged' in outcome) {
    return { status: 200, body: { action, filter, purged: outcome.purged } };
  }
  if (outcome.replayId === null) {
    return { status: 200, body: { action, filter, replayId: null, total: 0 } };
  }
  await deps.enqueueReplay(outcome.replayId, {
    ...audit,
    target: { ...audit.target, replayId: outcome.replayId },
  });
  return {
    status: 202,
    body: {
      action,
      filter,
      replayId: outcome.replayId,
      total: claims.count,
      status: 'running',
      _links: { self: { href: `/v1/replays/${outcome.replayId}` } },
    },
  };
}
