import type { IncomingMessage, ServerResponse } from 'node:http';
import { metrics, type Meter } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

let exporter: PrometheusExporter | undefined;
let meterProvider: MeterProvider | undefined;

/**
 * Installs the process-wide meter provider with a Prometheus reader that is scraped through our
 * own `/metrics` routes (no extra port). Idempotent: services sharing a process share metrics.
 */
export function initMetrics(serviceName: string): void {
  if (meterProvider !== undefined) return;
  exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  meterProvider = new MeterProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
    readers: [exporter],
  });
  metrics.setGlobalMeterProvider(meterProvider);
}

/** The meter for ctc-hub instruments. Instruments made before initMetrics() are no-ops. */
export function getMeter(): Meter {
  return metrics.getMeter('ctc-hub');
}

/** Serves the Prometheus text format (an Express handler). */
export function metricsHandler(request: IncomingMessage, response: ServerResponse): void {
  if (exporter === undefined) {
    response.statusCode = 200;
    response.setHeader('content-type', 'text/plain; version=0.0.4');
    response.end('# metrics not initialised\n');
    return;
  }
  exporter.getMetricsRequestHandler(request, response);
}

export async function shutdownMetrics(): Promise<void> {
  const provider = meterProvider;
  meterProvider = undefined;
  exporter = undefined;
  metrics.disable();
  await provider?.shutdown();
}

/** Histogram bucket boundaries in seconds, from 1 ms to 60 s. */
export const latencyBucketsSeconds = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/** Histogram bucket boundaries in bytes, from 1 KB to 32 MB. */
export const sizeBucketsBytes = [
  1_000, 10_000, 80_000, 250_000, 1_000_000, 4_000_000, 8_000_000, 16_000_000, 32_000_000,
];
