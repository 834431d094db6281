import { periodicTask } from '../runtime/periodic.js';
import type { BackgroundTask, OpsDeps } from '../runtime/deps.js';
import { createRelayMetrics } from './metrics.js';
import { createRelay } from './relay.js';

/**
 * The PPNS relay's delivery (relay.ts), a pass every RELAY_POLL_MS in every replica; without
 * consumers a pass is two cheap queries.
 */
export const relayTask: BackgroundTask = {
  name: 'relay',
  start: async (deps: OpsDeps) => {
    const { config } = deps;
    const metrics = createRelayMetrics(deps.db, deps.meter);
    const relay = createRelay({
      db: deps.db,
      cipher: deps.hmrc.cipher,
      logger: deps.logger,
      metrics,
      retryIntervalMs: config.RELAY_RETRY_INTERVAL_MS,
      retryWindowSeconds: config.RELAY_RETRY_WINDOW_SECONDS,
      pushTimeoutMs: config.RELAY_PUSH_TIMEOUT_MS,
      parallelism: config.RELAY_PARALLELISM,
      retentionDays: config.RELAY_RETENTION_DAYS,
    });
    const passes = await periodicTask({
      name: 'relay',
      firstRunDelayMs: 0,
      intervalMs: config.RELAY_POLL_MS,
      work: () => relay.runOnce(),
      failure: 'relay pass failed; will try again',
    }).start(deps);
    return {
      stop: async () => {
        relay.abort();
        await passes.stop();
        metrics.close();
      },
    };
  },
};
