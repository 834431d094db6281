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
export { deadLetterKinds } from './schema/dead-letters.table.js';
export type * from './schema/submissions.table.js';
export type * from './schema/operations.table.js';
export type * from './schema/replay-items.table.js';
export type * from './schema/guarantee-checks.table.js';
export { storeIngestBatch, storeInTransaction } from './queries/ingest.js';
export { classifyStoreError, sqlStateOf, type StoreFailure } from './store-errors.js';
export { resolveReplayedDeadLetters } from './queries/dead-letters.js';
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
export {
  comparePositions,
  decodeCursor,
  encodeCursor,
  feedStart,
  positionBelow,
  type FeedPosition,
} from './queries/event-cursor.js';
export {
  feedHorizon,
  latestFeedPosition,
  nextEventTime,
  readEventFeed,
  type FeedEvent,
  type FeedPage,
  type ReadFeedOptions,
} from './queries/event-feed.js';
export { feedEventJson, type FeedEventJson } from './queries/event-json.js';
export {
  advanceWebhookCursor,
  ensureWebhookCursor,
  upsertWebhookDeadLetter,
  webhookDedupeKey,
  type CursorAdvance,
  type WebhookDeadLetter,
} from './queries/webhooks.js';
export {
  listConnections,
  markConnectionMismatched,
  markConnectionVerified,
  resolveMismatchedConnection,
  vouchForConnection,
  type ConnectionRow,
  type MismatchInput,
  type MismatchResult,
  type QuarantineResolution,
  type ResolveResult,
} from './queries/connections.js';
