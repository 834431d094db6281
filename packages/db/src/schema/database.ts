import type { MessageCountsTable, MovementCountsTable } from './counts.table.js';
import type { DeadLettersTable } from './dead-letters.table.js';
import type { EventsTable } from './events.table.js';
import type { GuaranteeChecksTable, GuaranteeWindowsTable } from './guarantee-checks.table.js';
import type { MessagesTable } from './messages.table.js';
import type { MovementsTable } from './movements.table.js';
import type { NotificationsTable } from './notifications.table.js';
import type { OauthStatesTable, OauthTokensTable } from './oauth.table.js';
import type {
  RelayConsumersTable,
  RelayNotificationsTable,
  RelayOutboxTable,
} from './relay.table.js';
import type { ReplayItemsTable } from './replay-items.table.js';
import type { SubmissionsTable } from './submissions.table.js';
import type {
  AuditLogTable,
  ReconcileStateTable,
  ReplaysTable,
  WebhookCursorsTable,
} from './operations.table.js';

export interface Database {
  movements: MovementsTable;
  notifications: NotificationsTable;
  messages: MessagesTable;
  events: EventsTable;
  oauth_tokens: OauthTokensTable;
  oauth_states: OauthStatesTable;
  dead_letters: DeadLettersTable;
  submissions: SubmissionsTable;
  reconcile_state: ReconcileStateTable;
  audit_log: AuditLogTable;
  replays: ReplaysTable;
  replay_items: ReplayItemsTable;
  webhook_cursors: WebhookCursorsTable;
  guarantee_checks: GuaranteeChecksTable;
  guarantee_windows: GuaranteeWindowsTable;
  relay_consumers: RelayConsumersTable;
  relay_outbox: RelayOutboxTable;
  relay_notifications: RelayNotificationsTable;
  movement_counts: MovementCountsTable;
  message_counts: MessageCountsTable;
}
