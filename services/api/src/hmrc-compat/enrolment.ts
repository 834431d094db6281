import type { MovementType } from '@ctc-hub/db';
import type { ApiDeps } from '../deps.js';
import { canSeeEori, type ApiPrincipal } from '../http/auth.js';
import { noEnrolment } from '../http/hmrc-errors.js';
import { eoriPattern } from '../http/params.js';
import { findMovement } from '../movements/queries.js';
import { movementNotFound } from '../movements/visibility.js';
import type { ValidSubmission } from '../submissions/validate.js';

/**
 * HMRC's model on our API keys. At HMRC the bearer token is one trader's, and its CTC enrolment
 * names the EORI every write is made as. Here the key's EORI scope is the enrolment:
 *  - a key for one EORI writes as that EORI, whatever parties the message names (as a token
 *    does: the holder of a declaration need not be the declarant);
 *  - a key for several EORIs (or an operator's key for all) writes as the trader the message
 *    names: holder of the transit procedure (IE015), trader at destination (IE007), else an
 *    EORI-shaped messageSender; a follow-up on a movement we know writes as the movement's
 *    enrolment EORI;
 *  - a trader the key may not act for, or none at all, is HMRC's answer for a token without the
 *    enrolment: 403 FORBIDDEN "Current user doesn't have a valid EORI enrolment.";
 *  - a follow-up on a movement we know to be another enrolment's is HMRC's 404 for a movement
 *    that is not the caller's.
 * On the large-message route (an empty POST, the file uploaded later) there is no message to
 * read, so a key for several EORIs can act only on a movement we know: otherwise 403.
 * Whether the hub holds a usable HMRC connection for the EORI is decided when recording (a
 * repeat of an earlier declaration still finds it); without one the answer is the same 403.
 */

export function singleEori(principal: ApiPrincipal): string | undefined {
  if (principal.eoris === '*' || principal.eoris.size !== 1) return undefined;
  return [...principal.eoris][0];
}

export async function actingEori(
  deps: Pick<ApiDeps, 'db'>,
  principal: ApiPrincipal,
  target: { movementType: MovementType; movementId: string | null },
  /** Undefined on the large-message route, whose file comes later: only the key can say. */
  message: ValidSubmission | undefined,
): Promise<string> {
  const { movementType, movementId } = target;
  const only = singleEori(principal);
  if (movementId !== null) {
    const known = await findMovement(deps.db, movementType, movementId, undefined);
    const owner = known?.enrollment_eori ?? null;
    if (owner !== null) {
      if (!canSeeEori(principal, owner)) throw movementNotFound(movementType, movementId);
      return owner;
    }
  }
  if (only !== undefined) return only;
  if (message === undefined) throw noEnrolment();
  const named = message.messageEori?.trim().toUpperCase();
  if (named === undefined || !eoriPattern.test(named) || !canSeeEori(principal, named))
    throw noEnrolment();
  return named;
}
