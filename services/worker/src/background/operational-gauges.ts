// STUB: implemented with issue 4.
import type { OpsDeps } from '../ops/deps.js';
import type { BackgroundTask } from './index.js';

export const operationalGaugesTask: BackgroundTask = {
  name: 'operational-gauges',
  start: async (deps: OpsDeps) => {
    void deps;
    return { stop: async () => undefined };
  },
};
