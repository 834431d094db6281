import { sql } from 'kysely';
import type { Db } from '../connection.js';
import type { RelayConsumer, RelayStatus } from '../schema/relay.table.js';
import { resumePushes } from './delivery.js';
import { narrowRelayBox } from './fan-out.js';

/**
 * The encryption context of a consumer's secret (api writes, worker reads): a ciphertext copied
 * to another consumer's row fails to decrypt.
 */
export const relaySecretContext = (consumerId: string): string =>
  `relay_consumers:${consumerId}:secret`;

/** The operator's view of a consumer: never its secret. */
export type RelayConsumerView = Omit<RelayConsumer, 'secret'> & {
  hasSecret: boolean;
  counts: Record<RelayStatus, number>;
};

const viewColumns = [
  'id',
  'name',
  'box_id',
  'callback_url',
  'eoris',
  'enabled',
  'validated_url',
  'validated_at',
  'created_by',
  'created_at',
  'updated_at',
] as const;

export interface NewRelayConsumer {
  id: string;
  name: string;
  boxId: string;
  callbackUrl: string | null;
  /** Already encrypted. */
  secret: string | null;
  eoris: string[] | null;
  createdBy: string;
  /** The callback URL's challenge was answered just now. */
  validated: boolean;
}

export async function insertRelayConsumer(db: Db, input: NewRelayConsumer): Promise<void> {
  await db
    .insertInto('relay_consumers')
    .values({
      id: input.id,
      name: input.name,
      box_id: input.boxId,
      callback_url: input.callbackUrl,
      secret: input.secret,
      eoris: input.eoris,
      validated_url: input.validated ? input.callbackUrl : null,
      validated_at: input.validated ? new Date() : null,
      created_by: input.createdBy,
    })
    .execute();
}

export async function getRelayConsumerRow(db: Db, id: string): Promise<RelayConsumer | undefined> {
  return db.selectFrom('relay_consumers').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function relayConsumerByBox(
  db: Db,
  boxId: string,
): Promise<RelayConsumer | undefined> {
  return db
    .selectFrom('relay_consumers')
    .selectAll()
    .where('box_id', '=', boxId)
    .executeTakeFirst();
}

export async function listRelayConsumers(db: Db, id?: string): Promise<RelayConsumerView[]> {
  let query = db
    .selectFrom('relay_consumers as c')
    .select(viewColumns.map((column) => `c.${column}` as const))
    .select((eb) => [
      eb('c.secret', 'is not', null).as('has_secret'),
      sql<string>`(SELECT count(*) FROM relay_notifications r WHERE r.consumer_id = c.id AND r.status = 'PENDING')`.as(
        'pending',
      ),
      sql<string>`(SELECT count(*) FROM relay_notifications r WHERE r.consumer_id = c.id AND r.status = 'ACKNOWLEDGED')`.as(
        'acknowledged',
      ),
      sql<string>`(SELECT count(*) FROM relay_notifications r WHERE r.consumer_id = c.id AND r.status = 'FAILED')`.as(
        'failed',
      ),
    ])
    .orderBy('c.created_at')
    .orderBy('c.id');
  if (id !== undefined) query = query.where('c.id', '=', id);
  const rows = await query.execute();
  return rows.map(({ has_secret, pending, acknowledged, failed, ...row }) => ({
    ...row,
    hasSecret: has_secret === true,
    counts: {
      PENDING: Number(pending),
      ACKNOWLEDGED: Number(acknowledged),
      FAILED: Number(failed),
    },
  }));
}

export interface RelayConsumerChange {
  name?: string;
  callbackUrl?: string | null;
  /** Already encrypted. */
  secret?: string;
  eoris?: string[] | null;
  enabled?: boolean;
  /** The (new) callback URL answered the challenge just now. */
  validated?: boolean;
}

/**
 * Applies an operator's change. A consumer that has a validated callback URL afterwards gets its
 * PENDING notifications that were waiting for one (a pull-only consumer turned push, a consumer
 * re-enabled) pushed again from now.
 */
export async function updateRelayConsumer(
  db: Db,
  id: string,
  change: RelayConsumerChange,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('relay_consumers')
      .set({
        ...(change.name !== undefined && { name: change.name }),
        ...(change.callbackUrl !== undefined && { callback_url: change.callbackUrl }),
        ...(change.secret !== undefined && { secret: change.secret }),
        ...(change.eoris !== undefined && { eoris: change.eoris }),
        ...(change.enabled !== undefined && { enabled: change.enabled }),
        ...(change.validated === true && {
          validated_url: change.callbackUrl ?? sql`callback_url`,
          validated_at: sql`now()`,
        }),
        updated_at: sql`now()`,
      })
      .where('id', '=', id)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return false;
    if (change.eoris !== undefined) await narrowRelayBox(trx, id);
    await resumePushes(trx, id);
    return true;
  });
}

export async function deleteRelayConsumer(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom('relay_consumers').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}
