export type MovementType = 'departure' | 'arrival';

export interface MessageUriParts {
  movementType: MovementType;
  movementId: string;
  messageId: string;
  /** The movement path, e.g. /customs/transits/movements/departures/{id} (v1's requestId). */
  movementPath: string;
}

/**
 * The only shape of messageUri we will ever fetch: a path (no scheme, host or query) under
 * /customs/transits/movements/, with plain alphanumeric ids. Anything with `%`, `..`, `//`, `\`,
 * `?`, `#` or a scheme fails the pattern, so encoded traversal and SSRF targets cannot pass.
 */
const messageUriPattern =
  /^\/customs\/transits\/movements\/(departures|arrivals)\/([0-9A-Za-z]{1,32})\/messages\/([0-9A-Za-z]{1,32})$/;

export function parseMessageUri(uri: unknown): MessageUriParts | undefined {
  if (typeof uri !== 'string' || uri.length > 200) return undefined;
  const match = messageUriPattern.exec(uri);
  if (match === null) return undefined;
  const [, collection, movementId, messageId] = match as unknown as [
    string,
    string,
    string,
    string,
  ];
  return {
    movementType: collection === 'departures' ? 'departure' : 'arrival',
    movementId,
    messageId,
    movementPath: `/customs/transits/movements/${collection}/${movementId}`,
  };
}

export function movementPath(movementType: MovementType, movementId: string): string {
  return `/customs/transits/movements/${movementType === 'departure' ? 'departures' : 'arrivals'}/${movementId}`;
}
