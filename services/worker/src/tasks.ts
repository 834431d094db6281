import type { BackgroundTask } from './runtime/deps.js';
import { countsCompactionTask } from './housekeeping/counts.js';
import { operationalGaugesTask } from './housekeeping/operational-gauges.js';
import { partitionsTask } from './housekeeping/partitions.js';
import { outboxRelayTask } from './submissions/outbox-relay.js';
import { reconcileSchedulerTask } from './reconciliation/scheduler.js';
import { replayWatchdogTask } from './dead-letters/replay-watchdog.js';
import { retentionTask } from './housekeeping/retention.js';
import { tokenReencryptionTask } from './connections/token-reencryption.js';
import { relaySecretReencryptionTask } from './relay/secrets.js';
import { relayTask } from './relay/task.js';
import { webhooksTask } from './webhooks/task.js';

/** The worker's long-running tasks, started in this order and stopped in reverse. */
export const backgroundTasks: readonly BackgroundTask[] = [
  outboxRelayTask,
  partitionsTask,
  reconcileSchedulerTask,
  webhooksTask,
  relayTask,
  retentionTask,
  countsCompactionTask,
  operationalGaugesTask,
  replayWatchdogTask,
  tokenReencryptionTask,
  relaySecretReencryptionTask,
];
