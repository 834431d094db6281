import { Router, type Request, type Response } from 'express';
import { metricsHandler, type ServiceMetrics } from './metrics.js';

/**
 * A readiness dependency check: resolves when the dependency answers, rejects otherwise. A check
 * that resolves to a ReadinessDetail has its text reported after `ok: `.
 */
export type ReadinessCheck = () => Promise<unknown>;

/** What a passing check wants the operator to read in /readyz (e.g. the Redis persistence). */
export class ReadinessDetail {
  constructor(readonly text: string) {}
}

const checkTimeoutMs = 2000;

async function runCheck(check: ReadinessCheck): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const value = await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${checkTimeoutMs} ms`)),
          checkTimeoutMs,
        );
      }),
    ]);
    return value instanceof ReadinessDetail ? `ok: ${value.text}` : 'ok';
  } catch (error) {
    return `failing: ${(error as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/healthz` (liveness: the process serves HTTP), `/readyz` (every dependency answers; 503
 * naming the failing ones otherwise) and `/metrics` (Prometheus: the given service's own
 * instruments, whatever else runs in the process). Mounted first, without auth.
 * `informational` checks are reported in /readyz but do not make the service unready (the
 * receiver keeps accepting pushes while Postgres is down: that is what the queue is for).
 */
export function opsRoutes(
  checks: Record<string, ReadinessCheck>,
  informational: Record<string, ReadinessCheck> = {},
  serviceMetrics?: ServiceMetrics,
): Router {
  const router = Router();
  router.get('/healthz', (_request: Request, response: Response) => {
    response.json({ status: 'ok' });
  });
  router.get('/readyz', async (_request: Request, response: Response) => {
    const names = Object.keys(checks);
    const extraNames = Object.keys(informational);
    const [results, extra] = await Promise.all([
      Promise.all(names.map((name) => runCheck(checks[name]!))),
      Promise.all(extraNames.map((name) => runCheck(informational[name]!))),
    ]);
    const report = Object.fromEntries([
      ...names.map((name, index) => [name, results[index]]),
      ...extraNames.map((name, index) => [name, extra[index]]),
    ]);
    const ready = results.every((result) => result.startsWith('ok'));
    response
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : 'not ready', checks: report });
  });
  const serveMetrics = metricsHandler(serviceMetrics);
  router.get('/metrics', (request: Request, response: Response) => {
    serveMetrics(request, response);
  });
  return router;
}
