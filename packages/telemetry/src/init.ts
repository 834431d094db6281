import { flushLogs } from './logger.js';
import { initMetrics, shutdownMetrics, type ServiceMetrics } from './metrics.js';
import { initTracing, shutdownTracing, type TracingOptions } from './tracing.js';

export type TelemetryOptions = TracingOptions;

/**
 * Metrics and tracing for a service; safe to call once per service hosted in the process. Returns
 * the service's metrics: build its instruments from `meter` and serve `/metrics` from it.
 */
export function initTelemetry(options: TelemetryOptions): ServiceMetrics {
  initTracing(options);
  return initMetrics(options.serviceName);
}

export async function shutdownTelemetry(): Promise<void> {
  await Promise.allSettled([shutdownTracing(), shutdownMetrics()]);
  flushLogs();
}
