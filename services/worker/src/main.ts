import { loadWorkerConfig } from '@ctc-hub/config';
import { runService } from '@ctc-hub/telemetry';
import { startWorker } from './start.js';

await runService('worker', () => startWorker(loadWorkerConfig()));
