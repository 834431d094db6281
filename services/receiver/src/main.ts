import { loadReceiverConfig } from '@ctc-hub/config';
import { runService } from '@ctc-hub/telemetry';
import { startReceiver } from './start.js';

await runService('receiver', () => startReceiver(loadReceiverConfig()));
