export { createDb, createPool, pingDb, type Db, type DbOptions } from './connection.js';
export {
  ensureDatabaseExists,
  ensurePartitions,
  migrateToLatest,
  prepareDatabase,
} from './admin.js';
export type { Database } from './schema/database.js';
export type * from './schema/movements.table.js';
export type * from './schema/notifications.table.js';
export type * from './schema/messages.table.js';
export type * from './schema/events.table.js';
export type * from './schema/oauth.table.js';
export type * from './schema/dead-letters.table.js';
export type * from './schema/submissions.table.js';
export type * from './schema/operations.table.js';
export type * from './schema/guarantee-checks.table.js';
export { storeIngestBatch, storeInTransaction } from './queries/ingest.js';
export type * from './queries/ingest-types.js';
export {
  createSubmission,
  getSubmission,
  implicitDedupeHours,
  insertSubmissionEvent,
  markSending,
  recordAttempt,
  settleSubmission,
  submissionsToRelay,
  type CreateSubmissionResult,
  type NewSubmissionInput,
} from './queries/submissions.js';
export { applyRetention, type RetentionReport } from './queries/retention.js';
