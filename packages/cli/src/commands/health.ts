import type { Command } from 'commander';
import { CliError, emit, exitCodes, table, type Context } from '../io.js';

interface ServiceHealth {
  service: string;
  url: string;
  ready: boolean;
  checks: Record<string, string>;
  error?: string;
}

async function readiness(service: string, base: string): Promise<ServiceHealth> {
  const url = new URL('/readyz', base).href;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json()) as { checks?: Record<string, string> };
    return { service, url, ready: response.status === 200, checks: body.checks ?? {} };
  } catch (error) {
    return { service, url, ready: false, checks: {}, error: (error as Error).message };
  }
}

/**
 * Every service's /readyz (the api at CTC_HUB_URL; the receiver and worker at
 * CTC_HUB_RECEIVER_URL and CTC_HUB_WORKER_URL when set), Redis durability as the checks report
 * it, and the HMRC budget's use from /ops/data (operator key). Exit 7 when one is not ready.
 */
export function healthCommand(program: Command, context: () => Context): void {
  program
    .command('health')
    .description("every service's readiness, Redis durability and the HMRC budget's use")
    .action(async () => {
      const ctx = context();
      const services: [string, string | undefined][] = [
        ['api', ctx.baseUrl],
        ['receiver', ctx.io.env.CTC_HUB_RECEIVER_URL],
        ['worker', ctx.io.env.CTC_HUB_WORKER_URL],
      ];
      const results = await Promise.all(
        services
          .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '')
          .map(([name, url]) => readiness(name, url)),
      );
      if (results[0]?.error !== undefined)
        throw new CliError(
          `Cannot reach the api at ${ctx.baseUrl} (${results[0].error}): is it running, is CTC_HUB_URL right?`,
          exitCodes.unavailable,
        );
      const ops = await ctx.hub.GET('/ops/data').catch(() => undefined);
      const budget = ops?.data?.hmrcBudget;
      const report = {
        healthy: results.every((result) => result.ready),
        services: results,
        hmrcBudget: budget ?? null,
        openDeadLetters: ops?.data?.deadLetters.open ?? null,
      };
      emit(ctx, report, () => {
        const rows = results.flatMap((result) =>
          result.error !== undefined
            ? [[result.service, 'DOWN', '-', result.error]]
            : Object.entries(result.checks).map(([check, text], index) => [
                index === 0 ? result.service : '',
                index === 0 ? (result.ready ? 'ready' : 'NOT READY') : '',
                check,
                text,
              ]),
        );
        const budgetLine =
          budget === undefined
            ? 'HMRC budget: not shown (needs an operator key)\n'
            : `HMRC budget: ${budget.limitPerSecond}/s (${budget.budgetPerMinute}/min); busiest minute of the hour used ${Math.round(budget.peakUse * 100)}%\n`;
        const letters =
          report.openDeadLetters === null ? '' : `open dead letters: ${report.openDeadLetters}\n`;
        return (
          table(['SERVICE', 'STATE', 'CHECK', 'RESULT'], rows) +
          budgetLine +
          letters +
          (report.healthy ? 'healthy\n' : 'UNHEALTHY\n')
        );
      });
      if (!report.healthy) throw new CliError('', exitCodes.unhealthy);
    });
}
