import type { BackgroundTask, OpsDeps } from '../runtime/deps.js';
import { createRelayMetrics } from './metrics.js';
import { startRelay } from './relay.js';

/** The PPNS relay's delivery (relay.ts); idle, at the cost of two cheap queries a poll, without consumers. */
export const relayTask: BackgroundTask = {
  name: 'relay',
  start: async (deps: OpsDeps) => {
    const { config } = deps;
    const metrics = createRelayMetrics(deps.db, deps.meter);
    const relay = startRelay({
      db: deps.db,
      cipher: deps.hmrc.cipher,
      logger: deps.logger,
      metrics,
      retryIntervalMs: config.RELAY_RETRY_INTERVAL_MS,
      retryWindowSeconds: config.RELAY_RETRY_WINDOW_SECONDS,
      pushTimeoutMs: config.RELAY_PUSH_TIMEOUT_MS,
      parallelism: config.RELAY_PARALLELISM,
      pollMs: config.RELAY_POLL_MS,
      retentionDays: config.RELAY_RETENTION_DAYS,
    });
    return {
      stop: async () => {
        await relay.stop();
        metrics.close();
      },
    };
  },
};
