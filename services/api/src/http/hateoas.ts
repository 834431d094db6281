import { movementPath, type MovementType } from '@ctc-hub/ppns';

/**
 * Links and times as HMRC's CTC Traders API v2.1 writes them (`models/responses/hateoas/*` in
 * common-transit-convention-traders, reference §3.3), shared by every capability that points at
 * a movement or a message. The movement and message bodies are movements/present.ts.
 */

/** ISO 8601 in UTC with milliseconds and `Z`, as HMRC writes `created`, `updated`, `received`. */
export const iso = (date: Date): string => date.toISOString();
export const isoOrNull = (date: Date | null): string | null => (date === null ? null : iso(date));

export const collectionOf = (movementType: MovementType): 'departures' | 'arrivals' =>
  movementType === 'departure' ? 'departures' : 'arrivals';

/** `departureId` or `arrivalId`: HMRC names the movement id field after its type. */
export const movementIdField = (movementType: MovementType): 'departureId' | 'arrivalId' =>
  movementType === 'departure' ? 'departureId' : 'arrivalId';

export const movementsPath = (movementType: MovementType): string =>
  `/customs/transits/movements/${collectionOf(movementType)}`;

export const messagesPath = (movementType: MovementType, movementId: string): string =>
  `${movementPath(movementType, movementId)}/messages`;

export const messagePath = (
  movementType: MovementType,
  movementId: string,
  messageId: string,
): string => `${messagesPath(movementType, movementId)}/${messageId}`;
