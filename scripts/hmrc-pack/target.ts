import { loadSandboxConfig, startSandbox } from '@ctc-hub/hmrc-sandbox';
import { createLogger } from '@ctc-hub/telemetry';

/**
 * What the pack runs against. `sandbox`: straight at the HMRC sandbox (the pack's requests are
 * HMRC's own; the sandbox's 3/s limit is lifted, since the runner's polling would otherwise
 * share that budget with the pack). `hub`: ctc-hub's HMRC-compatible routes with a ctc-hub API
 * key as the bearer token and the sandbox behind the hub (started in this process, like
 * `pnpm start`; its database and Redis come from DATABASE_URL and REDIS_URL or the local
 * defaults).
 */
export interface Target {
  /** Origin the pack's baseURL is built from (the pack adds /customs/transits). */
  apiBase: string;
  /** The bearer token the pack sends (HMRC token for the sandbox, API key for the hub). */
  token: string;
  /** The sandbox's origin (its admin API plays the officer's manual steps). */
  sandboxUrl: string;
  stop: () => Promise<void>;
}

/** The pack's traders: holders of its GB and XI declarations, and its trader at destination. */
export const packEoris = ['GB953574106000', 'XI175521246821'] as const;

export async function startTarget(kind: 'hub' | 'sandbox', stepMs: number): Promise<Target> {
  const logger = createLogger({ service: 'hmrc-pack', level: process.env.LOG_LEVEL ?? 'warn' });
  if (kind === 'sandbox') {
    const sandbox = await startSandbox(
      loadSandboxConfig({
        ...process.env,
        SANDBOX_PORT: '0',
        SANDBOX_UPLOAD_PORT: '0',
        SANDBOX_NCTS_STEP_MS: String(stepMs),
        SANDBOX_PUSH_SECRET: 'SANDBOXPUSHSECRETDEVONLY00000000',
        SANDBOX_CLIENT_ID: 'hmrc-pack',
        SANDBOX_CLIENT_SECRET: 'hmrc-pack-secret',
      }),
      { logger },
    );
    // Nobody listens for pushes in this mode.
    sandbox.controls.configure({ rateLimitPerSecond: 1000, boxConfigured: false });
    const token = sandbox.controls.issueToken({ eori: packEoris[0] }).access_token;
    return { apiBase: sandbox.url, token, sandboxUrl: sandbox.url, stop: () => sandbox.stop() };
  }
  const { startHubTarget } = await import('./hub-target.js');
  return startHubTarget(stepMs, logger);
}
