import { runService } from '@ctc-hub/telemetry';
import { loadSandboxConfig } from './config.js';
import { startSandbox } from './start.js';

// `tsx services/hmrc-sandbox/src/main.ts`: the sandbox as its own process, configured from the
// environment (SANDBOX_*), stopped on SIGTERM/SIGINT by runService's single shutdown path.
await runService('hmrc-sandbox', () => startSandbox(loadSandboxConfig()));
