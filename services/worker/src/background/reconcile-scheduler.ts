// STUB: implemented with issue 4.
import type { OpsDeps } from '../ops/deps.js';
import type { BackgroundTask } from './index.js';

export const reconcileSchedulerTask: BackgroundTask = {
  name: 'reconcile-scheduler',
  start: async (deps: OpsDeps) => {
    void deps;
    return { stop: async () => undefined };
  },
};
