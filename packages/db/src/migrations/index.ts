import type { Migration, MigrationProvider } from 'kysely';
import * as createCoreTables from './2026_11_21_0900_create_core_tables.js';
import * as createSubmissions from './2026_11_21_1200_create_submissions.js';
import * as createGuaranteeChecks from './2026_11_21_1400_create_guarantee_checks.js';
import * as createOperationsTables from './2026_11_21_1600_create_operations_tables.js';
import * as createReplayItems from './2026_11_21_1700_create_replay_items.js';
import * as indexEventsCreatedAt from './2026_11_21_1900_index_events_created_at.js';
import * as dropNotificationsIdIdx from './2026_11_21_2100_drop_notifications_id_idx.js';
import * as addConnectionVerification from './2026_12_06_1200_add_connection_verification.js';

import * as keyGuaranteeWindowsByEori from './2026_12_06_1000_key_guarantee_windows_by_eori.js';
import * as indexWorkInFlightPerKey from './2026_12_06_1010_index_work_in_flight_per_key.js';
import * as addSubmissionUploadState from './2026_12_06_1330_add_submission_upload_state.js';
import * as createRelayTables from './2026_12_06_1400_create_relay_tables.js';
import * as recordRefreshRefusal from './2026_12_06_1410_record_refresh_refusal.js';
import * as addSubmissionHmrcReply from './2026_12_06_1430_add_submission_hmrc_reply.js';
import * as storeLargeBodiesUncompressed from './2026_12_06_1510_store_large_bodies_uncompressed.js';
import * as countMovementsAndMessages from './2026_12_06_1520_count_movements_and_messages.js';
import * as indexHmrcListableMovements from './2026_12_06_1530_index_hmrc_listable_movements.js';

// Migrations are listed here rather than read from the directory so that they are bundled with
// the services and run the same from source and from the production build.
const migrations: Record<string, Migration> = {
  '2026_11_21_0900_create_core_tables': createCoreTables,
  '2026_11_21_1200_create_submissions': createSubmissions,
  '2026_11_21_1400_create_guarantee_checks': createGuaranteeChecks,
  '2026_11_21_1600_create_operations_tables': createOperationsTables,
  '2026_11_21_1700_create_replay_items': createReplayItems,
  '2026_11_21_1900_index_events_created_at': indexEventsCreatedAt,
  '2026_11_21_2100_drop_notifications_id_idx': dropNotificationsIdIdx,
  '2026_12_06_1200_add_connection_verification': addConnectionVerification,

  '2026_12_06_1000_key_guarantee_windows_by_eori': keyGuaranteeWindowsByEori,
  '2026_12_06_1010_index_work_in_flight_per_key': indexWorkInFlightPerKey,
  '2026_12_06_1330_add_submission_upload_state': addSubmissionUploadState,
  '2026_12_06_1400_create_relay_tables': createRelayTables,
  '2026_12_06_1410_record_refresh_refusal': recordRefreshRefusal,
  '2026_12_06_1430_add_submission_hmrc_reply': addSubmissionHmrcReply,
  '2026_12_06_1510_store_large_bodies_uncompressed': storeLargeBodiesUncompressed,
  '2026_12_06_1520_count_movements_and_messages': countMovementsAndMessages,
  '2026_12_06_1530_index_hmrc_listable_movements': indexHmrcListableMovements,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
