import type { Db } from '@ctc-hub/db';

/**
 * oauth_states: one row per connect flow in progress, keyed by the hash of its `state` (routes.ts
 * says why only hashes are kept).
 */

export interface NewState {
  stateHash: string;
  eori: string;
  expiresAt: Date;
  /** sha256 of the secret in the flow's binding cookie. */
  bindingHash: string;
  /** The API key id that started the flow. */
  startedBy: string;
  startedByOperator: boolean;
}

export async function saveState(db: Db, state: NewState): Promise<void> {
  await db
    .insertInto('oauth_states')
    .values({
      state: state.stateHash,
      eori: state.eori,
      expires_at: state.expiresAt,
      binding_hash: state.bindingHash,
      started_by: state.startedBy,
      started_by_operator: state.startedByOperator,
    })
    .execute();
}

/** Drops flows that expired before `before`. */
export async function sweepStates(db: Db, before: Date): Promise<void> {
  await db.deleteFrom('oauth_states').where('expires_at', '<', before).execute();
}

/**
 * Takes a flow's state, once: DELETE … RETURNING, so of two callbacks racing with the same
 * state only one gets it. Undefined when it is unknown or already used.
 */
export function consumeState(db: Db, stateHash: string) {
  return db
    .deleteFrom('oauth_states')
    .where('state', '=', stateHash)
    .returning(['eori', 'expires_at', 'binding_hash', 'started_by', 'started_by_operator'])
    .executeTakeFirst();
}
