import type { Database, Db } from '@ctc-hub/db';
import { sql, type Transaction } from 'kysely';
import type { ApiPrincipal } from '../http/auth.js';

export interface AuditEntry {
  /** The API key id (principal.keyId), never the key. */
  actor: string;
  /** e.g. dead-letter.replay, dead-letter.purge.bulk */
  action: string;
  target: Record<string, unknown>;
  /** accepted | no-op | refused | not-found | failed | ok */
  outcome: string;
  details?: Record<string, unknown>;
}

/**
 * Appends one operator action to audit_log. Pass the action's own transaction when there is one,
 * so an action is never committed without its entry (nor an entry without its action).
 */
export async function writeAudit(db: Db | Transaction<Database>, entry: AuditEntry): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      actor: entry.actor,
      action: entry.action,
      target: JSON.stringify(entry.target),
      outcome: entry.outcome,
      details: JSON.stringify(entry.details ?? {}),
    })
    .execute();
}

/** An audit entry of `principal` doing `action` to `target`; callers set the outcome. */
export function auditOf(
  principal: ApiPrincipal,
  action: string,
  target: Record<string, unknown>,
): AuditEntry {
  return { actor: principal.keyId, action, target, outcome: 'accepted' };
}

export interface AuditFilter {
  /** The action or any action below it: `dead-letter.purge` also finds `dead-letter.purge.bulk`. */
  action?: string;
  actor?: string;
  outcome?: string;
  /** at >= from */
  from?: Date;
  /** at < before (exclusive; callers pass the inclusive `to` + 1 ms) */
  before?: Date;
}

/** One page of audit entries, newest first, and how many match. */
export async function listAuditEntries(db: Db, filter: AuditFilter, limit: number, offset: number) {
  let query = db.selectFrom('audit_log');
  const action = filter.action;
  if (action !== undefined)
    query = query.where((eb) =>
      eb.or([
        eb('action', '=', action),
        eb('action', 'like', `${action.replace(/[\\%_]/g, '\\$&')}.%`),
      ]),
    );
  if (filter.actor !== undefined) query = query.where('actor', '=', filter.actor);
  if (filter.outcome !== undefined) query = query.where('outcome', '=', filter.outcome);
  if (filter.from !== undefined) query = query.where('at', '>=', filter.from);
  if (filter.before !== undefined) query = query.where('at', '<', filter.before);
  const [items, total] = await Promise.all([
    query.selectAll().orderBy('id', 'desc').limit(limit).offset(offset).execute(),
    query.select(sql<number>`count(*)::int`.as('count')).executeTakeFirstOrThrow(),
  ]);
  return { items, totalCount: Number(total.count) };
}
