import { createLogger, flushLogs } from './logger.js';
import { shutdownTelemetry } from './init.js';

/**
 * The one shutdown path every main.ts uses: start the service (a config error stops start-up
 * with the message naming the variable), then on the first SIGTERM/SIGINT stop it, with a hard
 * exit if stopping takes longer than `graceMs`. A second signal exits at once.
 */
export async function runService(
  name: string,
  start: () => Promise<{ stop: () => Promise<void> }>,
  { graceMs = 25_000 } = {},
): Promise<void> {
  const logger = createLogger({ service: name, level: process.env.LOG_LEVEL ?? 'info' });
  let handle: { stop: () => Promise<void> };
  try {
    handle = await start();
  } catch (error) {
    const message = (error as Error).message;
    // Config and start-up errors (a Redis that does not answer or would lose jobs) are for
    // humans: print them plainly as well as in the log.
    if (['ConfigError', 'StartupError'].includes((error as Error).name))
      process.stderr.write(`${message}\n`);
    logger.fatal({ err: error }, `${name} failed to start`);
    flushLogs();
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      flushLogs();
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, `${name} stopping`);
    const timer = setTimeout(() => {
      logger.error({ graceMs }, `${name} did not stop in time; exiting`);
      flushLogs();
      process.exit(1);
    }, graceMs);
    timer.unref();
    handle
      .stop()
      .then(() => shutdownTelemetry())
      .then(() => {
        logger.info(`${name} stopped`);
        flushLogs();
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, `${name} failed to stop cleanly`);
        flushLogs();
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
