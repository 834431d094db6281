export {
  clusterNodesOf,
  connectAtStartup,
  createRedis,
  describeRedisTarget,
  redisTargetOptions,
  waitForRedis,
  type RedisConnection,
  type RedisRole,
  type RedisStartupSettings,
  type RedisTarget,
} from './connections.js';
export {
  assessDurability,
  describeRisk,
  osFlushSeconds,
  readDurabilityFacts,
  snapshotWindowSeconds,
  type DurabilityFacts,
  type DurabilityPolicy,
  type DurabilityRisk,
  type DurabilityVerdict,
  type RedisDurabilityMode,
} from './durability.js';
export {
  assessConnection,
  hashTagOf,
  RedisDurabilityGuard,
  type RedisSettings,
} from './redis-guard.js';
export {
  fetchMessageData,
  guaranteeBalanceData,
  hmrcPriority,
  ingestNotificationData,
  jobIds,
  jobs,
  queueNames,
  submitData,
  verifyConnectionData,
  ppnsPullData,
  reconcileMovementsData,
  reconcileMessagesData,
  reconcileTickData,
  replayData,
  type PpnsPullData,
  type ReconcileMovementsData,
  type ReconcileMessagesData,
  type ReplayData,
  type FetchMessageData,
  type GuaranteeBalanceData,
  type SubmitData,
  type VerifyConnectionData,
  type IngestNotificationData,
  type JobDefinition,
  type QueueName,
} from './catalogue.js';
export { backoffType, jitteredBackoff } from './backoff.js';
export { MicroBatcher, type MicroBatcherOptions } from './micro-batcher.js';
export { addJob, createQueue, defaultJobOptions, jobOptions } from './queues.js';
export {
  pacerKey,
  RatePacer,
  spacingFor,
  type AcquireOptions,
  type Departure,
  type RatePacerOptions,
} from './pacer.js';
