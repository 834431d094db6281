import { loadApiConfig } from '@ctc-hub/config';
import { runService } from '@ctc-hub/telemetry';
import { startApi } from './start.js';

await runService('api', () => startApi(loadApiConfig()));
