import type { Db, MovementType } from '@ctc-hub/db';
import { sql } from 'kysely';
import { countedPage, type Page } from '../http/paging.js';
import { movementVisible, type EoriScope } from '../http/scope.js';
import type { MovementRow } from './queries.js';

/**
 * Message reads. `body` (the raw XML, up to megabytes, TOASTed) is never part of a list: only
 * findMessage (the JSON message endpoint), findMessageHead and readBodyChunk (the body endpoint)
 * read it.
 */
const messageListColumns = [
  'movement_type',
  'movement_id',
  'message_id',
  'message_type',
  'received_at',
  'hmrc_status',
  'box_id',
  'request_id',
] as const;

export interface MessageListRow {
  movement_type: MovementType;
  movement_id: string;
  message_id: string;
  message_type: string | null;
  received_at: Date;
  hmrc_status: string;
  box_id: string | null;
  request_id: string;
}

export interface MessageRow extends MessageListRow {
  /** PhaseID of the stored XML (NCTS5.1, NCTS6, …); null when it had none. */
  phase: string | null;
  body: Buffer;
  sha256: Buffer;
  size_bytes: number;
}

/** What locates a movement's messages: its key and the partition they live in. */
export type MovementKey = Pick<MovementRow, 'movement_type' | 'movement_id' | 'retention_month'>;

export interface ReceivedRange {
  /** received_at >= receivedSince (inclusive). */
  receivedSince?: Date;
  /** received_at < receivedBefore (exclusive; callers pass HMRC's inclusive receivedUntil + 1 ms). */
  receivedBefore?: Date;
}

/**
 * A movement's messages. `movement_month = retention_month` prunes to the one partition that
 * holds them; messages_movement_idx (movement_type, movement_id, received_at DESC) gives them
 * newest first, as HMRC lists them.
 */
export function movementMessagesQuery(db: Db, movement: MovementKey, range: ReceivedRange) {
  let query = db
    .selectFrom('messages')
    .where('movement_month', '=', movement.retention_month)
    .where('movement_type', '=', movement.movement_type)
    .where('movement_id', '=', movement.movement_id);
  if (range.receivedSince !== undefined)
    query = query.where('received_at', '>=', range.receivedSince);
  if (range.receivedBefore !== undefined)
    query = query.where('received_at', '<', range.receivedBefore);
  return query;
}

export function movementMessagesPageQuery(
  db: Db,
  movement: MovementKey,
  range: ReceivedRange,
  limit: number,
  offset: number,
) {
  return (
    movementMessagesQuery(db, movement, range)
      .select(messageListColumns)
      .orderBy('received_at', 'desc')
      // Two messages received in the same microsecond still page deterministically.
      .orderBy('message_id', 'desc')
      .limit(limit)
      .offset(offset)
  );
}

export function listMovementMessages(
  db: Db,
  movement: MovementKey,
  range: ReceivedRange,
  limit: number,
  offset: number,
): Promise<Page<MessageListRow>> {
  return countedPage(movementMessagesQuery(db, movement, range), offset, () =>
    movementMessagesPageQuery(db, movement, range, limit, offset).execute(),
  );
}

/** One message with its body: a primary-key lookup in one partition. */
export async function findMessage(
  db: Db,
  movement: MovementKey,
  messageId: string,
): Promise<MessageRow | undefined> {
  const row = await db
    .selectFrom('messages')
    .select([...messageListColumns, 'phase', 'sha256', 'size_bytes'])
    .select(sql<Buffer>`coalesce(body_large, body)`.as('body'))
    .where('movement_month', '=', movement.retention_month)
    .where('movement_type', '=', movement.movement_type)
    .where('movement_id', '=', movement.movement_id)
    .where('message_id', '=', messageId)
    .executeTakeFirst();
  return row as MessageRow | undefined;
}

/** Bodies up to this size come with findMessageHead in one round trip; larger ones in chunks. */
export const INLINE_BODY_MAX_BYTES = 1024 * 1024;
/**
 * Chunks of larger bodies. Each costs about 5× its size while it is in flight (hex text, string,
 * bytes); smaller chunks mean more queries. Bodies over 1 MiB are stored uncompressed in
 * body_large (migration 2026_12_06_1510), so a chunk reads only the TOAST rows it spans; on a
 * compressed value every chunk would decompress the value from its start (O(n²/chunk)).
 */
export const BODY_CHUNK_BYTES = 256 * 1024;

export interface MessageHeadRow extends MessageListRow {
  phase: string | null;
  sha256: Buffer;
  size_bytes: number;
  /** octet_length(body): what the body endpoint serves. */
  body_bytes: number;
  /** The whole body when it is at most INLINE_BODY_MAX_BYTES, else null (read it with readBodyChunk). */
  body: Buffer | null;
}

/**
 * One message without its body unless the body is small. A large body is never read whole: pg
 * returns bytea as hex text, so a 20 MB body would cost 40 MB of network buffer, a 40 MB string
 * and the 20 MB Buffer at once, and its hex decoding would block the event loop for tens of ms.
 */
export async function findMessageHead(
  db: Db,
  movement: MovementKey,
  messageId: string,
): Promise<MessageHeadRow | undefined> {
  const row = await db
    .selectFrom('messages')
    .select([...messageListColumns, 'phase', 'sha256', 'size_bytes'])
    .select(sql<number>`octet_length(coalesce(body_large, body))`.as('body_bytes'))
    .select(
      sql<Buffer | null>`CASE WHEN body_large IS NULL AND octet_length(body) <= ${INLINE_BODY_MAX_BYTES} THEN body END`.as(
        'body',
      ),
    )
    .where('movement_month', '=', movement.retention_month)
    .where('movement_type', '=', movement.movement_type)
    .where('movement_id', '=', movement.movement_id)
    .where('message_id', '=', messageId)
    .executeTakeFirst();
  return row as MessageHeadRow | undefined;
}

/**
 * `length` bytes of a message's body from `offset` (0-based); undefined when the message is gone
 * (its partition dropped by retention meanwhile). Each chunk is its own short query, so a slow
 * client never holds a pooled connection or a transaction (which would hold back the change
 * feed's horizon).
 */
export async function readBodyChunk(
  db: Db,
  movement: MovementKey,
  messageId: string,
  offset: number,
  length: number,
): Promise<Buffer | undefined> {
  const row = await db
    .selectFrom('messages')
    .select(
      sql<Buffer>`substring(coalesce(body_large, body) FROM ${offset + 1} FOR ${length})`.as(
        'chunk',
      ),
    )
    .where('movement_month', '=', movement.retention_month)
    .where('movement_type', '=', movement.movement_type)
    .where('movement_id', '=', movement.movement_id)
    .where('message_id', '=', messageId)
    .executeTakeFirst();
  return row?.chunk;
}

export interface LinkedMessagesFilter extends ReceivedRange {
  eoris: EoriScope;
  boxId?: string;
  requestId?: string;
  messageType?: string;
  movementType?: MovementType;
}

/**
 * Messages by PPNS box and/or request id (the movement path), across movements. Each filter has
 * its index (messages_box_idx, messages_request_idx, messages_type_idx, all ending in
 * received_at DESC), so newest-first pages are index scans merged across partitions. Scoped keys
 * see a message when they may see its movement.
 */
export function linkedMessagesQuery(db: Db, filter: LinkedMessagesFilter) {
  let query = db.selectFrom('messages');
  if (filter.boxId !== undefined) query = query.where('box_id', '=', filter.boxId);
  if (filter.requestId !== undefined) query = query.where('request_id', '=', filter.requestId);
  if (filter.messageType !== undefined)
    query = query.where('message_type', '=', filter.messageType);
  if (filter.movementType !== undefined)
    query = query.where('movement_type', '=', filter.movementType);
  if (filter.receivedSince !== undefined)
    query = query.where('received_at', '>=', filter.receivedSince);
  if (filter.receivedBefore !== undefined)
    query = query.where('received_at', '<', filter.receivedBefore);
  const eoris = filter.eoris;
  if (eoris !== undefined) {
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('movements as mv')
          .select(eb.lit(1).as('one'))
          .whereRef('mv.movement_type', '=', 'messages.movement_type')
          .whereRef('mv.movement_id', '=', 'messages.movement_id')
          .where(movementVisible('mv', eoris)),
      ),
    );
  }
  return query;
}

export function linkedMessagesPageQuery(
  db: Db,
  filter: LinkedMessagesFilter,
  limit: number,
  offset: number,
) {
  return linkedMessagesQuery(db, filter)
    .select(messageListColumns)
    .orderBy('received_at', 'desc')
    .orderBy('movement_id', 'desc')
    .orderBy('message_id', 'desc')
    .limit(limit)
    .offset(offset);
}

export function listLinkedMessages(
  db: Db,
  filter: LinkedMessagesFilter,
  limit: number,
  offset: number,
): Promise<Page<MessageListRow>> {
  const fromCounts =
    filter.eoris === undefined &&
    filter.requestId === undefined &&
    filter.receivedSince === undefined &&
    filter.receivedBefore === undefined;
  return countedPage(
    linkedMessagesQuery(db, filter),
    offset,
    () => linkedMessagesPageQuery(db, filter, limit, offset).execute(),
    fromCounts ? () => countedMessages(db, filter) : undefined,
  );
}

/**
 * The total of an unscoped key's box / message type / movement type filter from message_counts
 * (migration 2026_12_06_1520): a sum over its group rows, exactly count(*) in the same snapshot,
 * where count(*) of a box's messages grows with every message it ever received. A scoped key's
 * total depends on each message's movement (its EORIs, quarantine), a request id's or a time
 * range's is small: those are counted with count(*).
 */
async function countedMessages(db: Db, filter: LinkedMessagesFilter): Promise<number> {
  let query = db.selectFrom('message_counts').select(sql<string>`coalesce(sum(n), 0)`.as('total'));
  if (filter.boxId !== undefined) query = query.where('box_id', '=', filter.boxId);
  if (filter.messageType !== undefined)
    query = query.where('message_type', '=', filter.messageType);
  if (filter.movementType !== undefined)
    query = query.where('movement_type', '=', filter.movementType);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.total);
}
