import { flushLogs } from './logger.js';
import { initMetrics, shutdownMetrics } from './metrics.js';
import { initTracing, shutdownTracing, type TracingOptions } from './tracing.js';

export type TelemetryOptions = TracingOptions;

/** Metrics and tracing for this process; safe to call once per service hosted in it. */
export function initTelemetry(options: TelemetryOptions): void {
  initMetrics(options.serviceName);
  initTracing(options);
}

export async function shutdownTelemetry(): Promise<void> {
  await Promise.allSettled([shutdownTracing(), shutdownMetrics()]);
  flushLogs();
}
