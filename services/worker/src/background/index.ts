import type { OpsDeps } from '../ops/deps.js';
import { relaySecretReencryptionTask } from '../relay/secrets.js';
import { relayTask } from '../relay/task.js';
import { operationalGaugesTask } from './operational-gauges.js';
import { reconcileSchedulerTask } from './reconcile-scheduler.js';
import { replayWatchdogTask } from './replay-watchdog.js';
import { retentionTask } from './retention.js';
import { tokenReencryptionTask } from './token-reencryption.js';
import { webhooksTask } from './webhooks.js';

/** A long-running part of the worker, started with it and stopped (in reverse order) with it. */
export interface BackgroundTask {
  name: string;
  start: (deps: OpsDeps) => Promise<{ stop: () => Promise<void> }>;
}

export const backgroundTasks: readonly BackgroundTask[] = [
  reconcileSchedulerTask,
  webhooksTask,
  relayTask,
  retentionTask,
  operationalGaugesTask,
  replayWatchdogTask,
  tokenReencryptionTask,
  relaySecretReencryptionTask,
];
