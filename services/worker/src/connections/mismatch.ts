import { markConnectionMismatched, type Db } from '@ctc-hub/db';
import type { MovementSummary } from '@ctc-hub/hmrc-client';
import type { Counter, Logger } from '@ctc-hub/telemetry';

/**
 * What the worker does when HMRC's answers show a connection's token acts for another EORI than
 * it is filed under (see connections/verify.ts for how that is found).
 */

/**
 * The movements HMRC listed for a token filed under `eori`: the first one naming another
 * enrolment EORI, if any. Movements without the field (API 1.0) say nothing.
 */
export function foreignMovement(
  eori: string,
  movements: readonly MovementSummary[],
): MovementSummary | undefined {
  return movements.find(
    (movement) =>
      movement.enrollmentEORINumber !== undefined &&
      movement.enrollmentEORINumber.toUpperCase() !== eori.toUpperCase(),
  );
}

/** What an operator is told about a mismatched connection, and how to fix it. */
export function mismatchMessage(eori: string, observedEori: string, detail: string): string {
  return (
    `HMRC shows the token filed under ${eori} belongs to ${observedEori} (${detail}). ` +
    `It is no longer used and what came through it is quarantined. Fix: resolve the connection ` +
    `(POST /v1/connections/${eori}/resolve, releasing or discarding the quarantined movements), ` +
    `then have the trader of ${eori} connect again, signing in at HMRC as ${eori}.`
  );
}

/**
 * Records what HMRC's answers showed about a connection: marks it mismatched (token never used
 * again), quarantines what came through it, audits, counts and logs it once. `eori` is the EORI
 * the connection is filed under when the caller knows it. Returns the operator's message.
 */
export async function reportMismatch(
  deps: { db: Db; logger: Logger; mismatches?: Pick<Counter, 'add'> | undefined },
  input: { connectionId: string | null; eori?: string; observedEori: string; detail: string },
): Promise<string> {
  if (input.connectionId === null)
    return mismatchMessage(input.eori ?? 'an unknown connection', input.observedEori, input.detail);
  const result = await markConnectionMismatched(deps.db, {
    connectionId: input.connectionId,
    observedEori: input.observedEori,
    detail: input.detail,
  });
  const eori = result.eori ?? input.eori ?? 'a replaced connection';
  const message = mismatchMessage(eori, input.observedEori, input.detail);
  if (result.marked) {
    deps.mismatches?.add(1);
    deps.logger.error(
      { eori, observedEori: input.observedEori, quarantinedMovements: result.quarantined },
      message,
    );
  }
  return message;
}

/** The worker's collaborators as reportMismatch takes them (its metric among the ingest metrics). */
export const withMismatchCounter = (deps: {
  db: Db;
  logger: Logger;
  metrics: { connectionMismatches: Pick<Counter, 'add'> };
}) => ({ db: deps.db, logger: deps.logger, mismatches: deps.metrics.connectionMismatches });
