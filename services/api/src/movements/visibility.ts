import type { MovementType } from '@ctc-hub/db';
import type { Request } from 'express';
import type { ApiDeps } from '../deps.js';
import { eoriFilter, principalOf } from '../http/auth.js';
import { notFound } from '../http/errors.js';
import { movementIdField } from '../http/hateoas.js';
import { hmrcIdParam } from '../http/params.js';
import { findMovement, type MovementRow } from './queries.js';

const capitalised = (movementType: MovementType) =>
  movementType === 'departure' ? 'Departure' : 'Arrival';

/** HMRC's words (ConvertError.scala): "Departure movement with ID … was not found". */
export const movementNotFound = (movementType: MovementType, movementId: string) =>
  notFound(`${capitalised(movementType)} movement with ID ${movementId} was not found`);

/**
 * The movement named in the path, if this API key may see it; 404 otherwise. A scoped key learns
 * nothing about movements of other traders, not even that they exist (HMRC answers 404 too).
 */
export async function visibleMovement(
  deps: ApiDeps,
  movementType: MovementType,
  request: Request,
): Promise<MovementRow> {
  const movementId = hmrcIdParam(request, movementIdField(movementType));
  const eoris = eoriFilter(principalOf(request));
  const movement = await findMovement(deps.db, movementType, movementId, eoris);
  if (movement === undefined) throw movementNotFound(movementType, movementId);
  return movement;
}
