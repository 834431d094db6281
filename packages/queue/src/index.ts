export {
  createRedis,
  redisTargetOptions,
  waitForRedis,
  type RedisRole,
  type RedisTarget,
} from './connections.js';
export {
  fetchMessageData,
  guaranteeBalanceData,
  hmrcPriority,
  ingestNotificationData,
  jobIds,
  jobs,
  queueNames,
  submitData,
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
  type IngestNotificationData,
  type JobDefinition,
  type QueueName,
} from './catalogue.js';
export { backoffType, jitteredBackoff } from './backoff.js';
export { MicroBatcher, type MicroBatcherOptions } from './micro-batcher.js';
export { addJob, createQueue, defaultJobOptions, jobOptions } from './queues.js';
export { pacerKey, RatePacer, spacingFor, type Departure, type RatePacerOptions } from './pacer.js';
