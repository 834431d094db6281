import type { MovementType } from '@ctc-hub/db';
import type { Request } from 'express';
import type { ApiDeps } from '../deps.js';
import { eoriFilter, principalOf } from '../http/auth.js';
import { hmrcNotFound } from '../http/hmrc-errors.js';
import { findMovement, type MovementRow } from './queries.js';

const capitalised = (movementType: MovementType) =>
  movementType === 'departure' ? 'Departure' : 'Arrival';

/** HMRC's words (ConvertError.scala): "Departure movement with ID … was not found". */
export const movementNotFound = (movementType: MovementType, movementId: string) =>
  hmrcNotFound(`${capitalised(movementType)} movement with ID ${movementId} was not found`);

/** HMRC's words for a message that is missing or not the caller's. */
export const messageNotFound = (movementId: string, messageId: string) =>
  hmrcNotFound(`Message with ID ${messageId} for movement ${movementId} was not found`);

/**
 * The movement `movementId` (already validated by the caller) if this API key may see it; 404
 * otherwise. A scoped key learns nothing about movements of other traders, not even that they
 * exist (HMRC answers 404 too).
 */
export async function visibleMovement(
  deps: ApiDeps,
  movementType: MovementType,
  movementId: string,
  request: Request,
): Promise<MovementRow> {
  const eoris = eoriFilter(principalOf(request));
  const movement = await findMovement(deps.db, movementType, movementId, eoris);
  if (movement === undefined) throw movementNotFound(movementType, movementId);
  return movement;
}
