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
export type * from './schema/replay-items.table.js';
export type * from './schema/guarantee-checks.table.js';
export { storeIngestBatch, storeInTransaction } from './inbound/store.js';
export { classifyStoreError, sqlStateOf, type StoreFailure } from './store-errors.js';
export {
  deadLetterKey,
  deadLetterKinds,
  type DeadLetterKind,
  type DeadLetterSubject,
} from './dead-letters/keys.js';
export {
  markDeadLetterReplayed,
  purgeDeadLetters,
  recordDeadLetters,
  resolveReplayedDeadLetters,
  resolveSettledDeadLetters,
  type DeadLetterFacts,
} from './dead-letters/letters.js';
export type * from './inbound/types.js';
export {
  createSubmission,
  getSubmission,
  implicitDedupeHours,
  submissionsToRelay,
  type CreateSubmissionResult,
  type NewSubmissionInput,
} from './submissions/submissions.js';
export { insertSubmissionEvent } from './submissions/events.js';
export {
  failSubmission,
  markSending,
  recordAttempt,
  recordInitiated,
  recordUploaded,
  recordUploadedFile,
  requeueFailedSubmission,
  settleSubmission,
  transitionsFrom,
  type HmrcAcceptance,
} from './submissions/transitions.js';
export { applyRetention, type RetentionReport } from './retention/retention.js';
export { compactCounts } from './counts/counts.js';
export type * from './schema/counts.table.js';
export {
  comparePositions,
  decodeCursor,
  encodeCursor,
  feedStart,
  positionBelow,
  type FeedPosition,
} from './feed/cursor.js';
export {
  feedHorizon,
  latestFeedPosition,
  nextEventTime,
  readEventFeed,
  type FeedEvent,
  type FeedPage,
  type ReadFeedOptions,
} from './feed/read.js';
export { feedEventJson, type FeedEventJson } from './feed/json.js';
export {
  advanceWebhookCursor,
  ensureWebhookCursor,
  recordWebhookDeadLetter,
  type CursorAdvance,
  type WebhookDeadLetter,
} from './webhooks/cursors.js';
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
} from './connections/connections.js';
export {
  addRecovered,
  claimDueScopes,
  ctcScope,
  highWaterMark,
  kindOfScope,
  noteError,
  ppnsScope,
  recordRun,
  releaseClaims,
  type ClaimedScope,
  type ReconcileKind,
  type RunOutcome,
} from './reconcile/state.js';
export type * from './schema/relay.table.js';
export * from './relay/index.js';
