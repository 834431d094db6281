import type { ColumnType, Generated, Selectable } from 'kysely';

/** A PPNS consumer of the relay, configured by the operator. */
export interface RelayConsumersTable {
  id: Generated<string>;
  name: string;
  /** The box id presented to the consumer (PPNS's boxId). */
  box_id: string;
  /** Where notifications are pushed; null for a consumer that only pulls. */
  callback_url: string | null;
  /** Its push secret, encrypted (TokenCipher, context `relay_consumers:<id>:secret`). */
  secret: string | null;
  /** The EORIs it may see; null: every EORI. */
  eoris: string[] | null;
  enabled: Generated<boolean>;
  /** The callback URL that last answered PPNS's challenge; pushes go only to that URL. */
  validated_url: string | null;
  validated_at: Date | null;
  /** API key id of the operator who configured it. */
  created_by: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface RelayOutboxTable {
  id: Generated<string>;
  notification_id: string;
  notification_created_at: Date;
  queued_at: Generated<Date>;
}

export type RelayStatus = 'PENDING' | 'ACKNOWLEDGED' | 'FAILED';

export interface RelayNotificationsTable {
  consumer_id: string;
  notification_id: string;
  notification_created_at: Date;
  status: ColumnType<RelayStatus, RelayStatus | undefined, RelayStatus>;
  /** When it entered the consumer's box: the retry window runs from here. */
  queued_at: Generated<Date>;
  attempts: Generated<number>;
  next_attempt_at: Date | null;
  pushed_at: Date | null;
  acknowledged_at: Date | null;
  last_error: string | null;
}

export type RelayConsumer = Selectable<RelayConsumersTable>;
export type RelayNotification = Selectable<RelayNotificationsTable>;
