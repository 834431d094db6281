import type { Database, Db } from '@ctc-hub/db';
import type { Transaction } from 'kysely';

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
