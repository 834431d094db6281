/**
 * Change-feed positions and their opaque cursors.
 *
 * A position is (xid, id): the inserting transaction's id (xid8, 64-bit, never wraps) and the
 * event's bigserial id. The feed is ordered by that pair; see event-feed.ts for why it is safe to
 * resume after any position. Clients get the position as an opaque cursor so the encoding can
 * change: one version byte and both numbers big-endian, base64url (23 characters).
 */
export interface FeedPosition {
  xid: bigint;
  id: bigint;
}

const version = 1;
const cursorBytes = 17;
const maxId = (1n << 63n) - 1n;

/** Before every event: the feed from the start of what retention has kept. */
export const feedStart: FeedPosition = { xid: 0n, id: 0n };

/**
 * Just after every event of transactions below `horizon` (the oldest transaction that was still
 * running): the largest id stands for "all events of transaction horizon - 1".
 */
export function positionBelow(horizon: bigint): FeedPosition {
  return horizon <= 0n ? feedStart : { xid: horizon - 1n, id: maxId };
}

export function comparePositions(a: FeedPosition, b: FeedPosition): number {
  if (a.xid !== b.xid) return a.xid < b.xid ? -1 : 1;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return 0;
}

export const laterOf = (a: FeedPosition, b: FeedPosition): FeedPosition =>
  comparePositions(a, b) >= 0 ? a : b;

export function encodeCursor(position: FeedPosition): string {
  const bytes = Buffer.alloc(cursorBytes);
  bytes.writeUInt8(version, 0);
  bytes.writeBigUInt64BE(position.xid, 1);
  bytes.writeBigUInt64BE(position.id, 9);
  return bytes.toString('base64url');
}

/** The position of a cursor we issued; undefined for anything else (a 400 for the client). */
export function decodeCursor(cursor: string): FeedPosition | undefined {
  if (!/^[A-Za-z0-9_-]{23}$/.test(cursor)) return undefined;
  const bytes = Buffer.from(cursor, 'base64url');
  // Base64 has several spellings of the last character's spare bits; accept only ours, so one
  // position has exactly one cursor.
  if (bytes.length !== cursorBytes || bytes.toString('base64url') !== cursor) return undefined;
  if (bytes.readUInt8(0) !== version) return undefined;
  const xid = bytes.readBigUInt64BE(1);
  const id = bytes.readBigUInt64BE(9);
  if (id > maxId) return undefined;
  return { xid, id };
}
