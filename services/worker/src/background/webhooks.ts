// STUB: implemented with issue 4.
import type { OpsDeps } from '../ops/deps.js';
import type { BackgroundTask } from './index.js';

export const webhooksTask: BackgroundTask = {
  name: 'webhooks',
  start: async (deps: OpsDeps) => {
    void deps;
    return { stop: async () => undefined };
  },
};
