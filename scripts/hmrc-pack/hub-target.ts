import type { Logger } from '@ctc-hub/telemetry';
import { connectEori, startStack } from '../stack.js';
import { packEoris, type Target } from './target.js';

/**
 * ctc-hub (receiver, worker, api) with the sandbox behind it, in this process. Database and
 * Redis: DATABASE_URL / REDIS_URL, else the local defaults; a Redis prefix of its own per run.
 */
export async function startHubTarget(stepMs: number, logger: Logger): Promise<Target> {
  const stack = await startStack(
    {
      ...process.env,
      DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/ctc_hub_pack',
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      QUEUE_PREFIX: `hmrc-pack-${Date.now().toString(36)}`,
      REDIS_DURABILITY: process.env.REDIS_DURABILITY ?? 'allow-volatile',
      HTTP_HOST: '127.0.0.1',
      RECEIVER_PORT: '0',
      API_PORT: '0',
      WORKER_PORT: '0',
      SANDBOX_PORT: '0',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      SANDBOX_NCTS_STEP_MS: String(stepMs),
    },
    { logger },
  );
  for (const eori of packEoris) await connectEori(stack, eori);
  return {
    apiBase: stack.apiUrl,
    token: stack.apiKey,
    sandboxUrl: stack.hmrcBaseUrl,
    stop: () => stack.stop(),
  };
}
