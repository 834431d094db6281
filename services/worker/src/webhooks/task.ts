import { createWebhookMetrics } from './metrics.js';
import { startWebhookDispatcher } from './dispatcher.js';
import type { OpsDeps } from '../runtime/deps.js';
import type { BackgroundTask } from '../runtime/deps.js';

/**
 * Change-feed webhooks: every worker replica runs a dispatcher for every EVENT_WEBHOOK_URLS
 * entry; a per-URL advisory lock lets one of them deliver at a time (webhooks/dispatcher.ts).
 */
export const webhooksTask: BackgroundTask = {
  name: 'webhooks',
  start: async (deps: OpsDeps) => {
    const { config } = deps;
    if (config.EVENT_WEBHOOK_URLS.length === 0 || config.EVENT_WEBHOOK_SECRET === undefined)
      return { stop: async () => undefined };
    const metrics = createWebhookMetrics(deps.db, config.EVENT_WEBHOOK_URLS, deps.meter);
    const dispatcher = startWebhookDispatcher({
      db: deps.db,
      logger: deps.logger,
      urls: config.EVENT_WEBHOOK_URLS,
      secret: config.EVENT_WEBHOOK_SECRET,
      maxAttempts: config.EVENT_WEBHOOK_MAX_ATTEMPTS,
      backoffBaseMs: config.EVENT_WEBHOOK_BACKOFF_BASE_MS,
      timeoutMs: config.EVENT_WEBHOOK_TIMEOUT_MS,
      metrics,
    });
    return {
      stop: async () => {
        await dispatcher.stop();
        metrics.close();
      },
    };
  },
};
