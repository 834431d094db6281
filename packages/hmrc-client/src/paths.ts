import { parseMessageUri, type MovementType } from '@ctc-hub/ppns';
import type { HmrcError } from './errors.js';

/**
 * Invariant 5: the only URLs we fetch are `${HMRC_API_BASE_URL}${path}` where `path` comes from
 * one of these builders. Each validates its inputs against a strict pattern and rebuilds the path
 * from the parsed parts (never echoing the input), and the transport checks the result once more
 * with `isSafePath` before sending.
 */

export type PathResult = { ok: true; path: string } | { ok: false; error: HmrcError };

const refuse = (message: string): PathResult => ({
  ok: false,
  error: { kind: 'refused', message },
});

/** Movement ids: 16 lower-case hex in v2; v1 used small integers. Same rule as parseMessageUri. */
const movementIdPattern = /^[0-9A-Za-z]{1,32}$/;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Guarantee reference number (Guarantee Balance OAS). */
const grnPattern = /^[0-9]{2}[A-Z]{2}[A-Z0-9]{12}[0-9]$/;

/** Plain segments of letters, digits, `-`, `_`: no dots, `%`, `\`, `:`, `@` or empty segments. */
const safePathPattern = /^(\/[A-Za-z0-9_-]+)+$/;

export function isSafePath(path: string): boolean {
  return path.length <= 300 && safePathPattern.test(path);
}

export function isMovementType(value: unknown): value is MovementType {
  return value === 'departure' || value === 'arrival';
}

export function movementsPath(type: MovementType): PathResult {
  if (!isMovementType(type)) return refuse('movement type must be departure or arrival');
  return {
    ok: true,
    path: `/customs/transits/movements/${type === 'departure' ? 'departures' : 'arrivals'}`,
  };
}

export function movementPath(type: MovementType, movementId: string): PathResult {
  const collection = movementsPath(type);
  if (!collection.ok) return collection;
  if (typeof movementId !== 'string' || !movementIdPattern.test(movementId)) {
    return refuse('movementId must be 1-32 letters or digits');
  }
  return { ok: true, path: `${collection.path}/${movementId}` };
}

export function movementMessagesPath(type: MovementType, movementId: string): PathResult {
  const movement = movementPath(type, movementId);
  return movement.ok ? { ok: true, path: `${movement.path}/messages` } : movement;
}

export type MessagePathResult =
  { ok: true; path: string; movementType: MovementType } | { ok: false; error: HmrcError };

/** A messageUri from a notification or a listing, checked with the PPNS package's SSRF guard. */
export function messagePath(messageUri: unknown): MessagePathResult {
  const parts = parseMessageUri(messageUri);
  if (parts === undefined) {
    return {
      ok: false,
      error: {
        kind: 'refused',
        message:
          'messageUri is not a CTC message path (/customs/transits/movements/{type}/{id}/messages/{id})',
      },
    };
  }
  return {
    ok: true,
    path: `${parts.movementPath}/messages/${parts.messageId}`,
    movementType: parts.movementType,
  };
}

export function boxNotificationsPath(boxId: string): PathResult {
  if (typeof boxId !== 'string' || !uuidPattern.test(boxId)) return refuse('boxId must be a UUID');
  return {
    ok: true,
    path: `/misc/push-pull-notification/box/${boxId.toLowerCase()}/notifications`,
  };
}

export function guaranteeBalancePath(grn: string): PathResult {
  if (typeof grn !== 'string' || !grnPattern.test(grn)) {
    return refuse('GRN must match ^[0-9]{2}[A-Z]{2}[A-Z0-9]{12}[0-9]$');
  }
  return { ok: true, path: `/customs/guarantees/${grn}/balance` };
}

/** CTC API 1.0 only: the application's PPNS box (application-restricted). */
export const v1BoxPath = '/customs/transits/movements/push-pull-notifications/box';

/** v1 movement and message ids: Ints in HMRC's routes. */
export const v1IdPattern = /^[0-9]{1,9}$/;

export const tokenPath = '/oauth/token';
export const authorizePath = '/oauth/authorize';
