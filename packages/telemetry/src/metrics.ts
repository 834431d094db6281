import type { IncomingMessage, ServerResponse } from 'node:http';
import { createNoopMeter, metrics, type Meter } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

/** One service's metrics: its own meter provider, resource and Prometheus reader. */
export interface ServiceMetrics {
  readonly serviceName: string;
  /** Make every instrument of the service from this meter. */
  readonly meter: Meter;
  /** Serves the service's instruments in the Prometheus text format (an Express handler). */
  readonly serve: (request: IncomingMessage, response: ServerResponse) => void;
}

interface Registered {
  metrics: ServiceMetrics;
  provider: MeterProvider;
}

const registered = new Map<string, Registered>();

/**
 * The metrics of service `serviceName`, scraped through its own `/metrics` route (no extra port).
 * Each service gets its own provider, so when `pnpm start` hosts all of them in one process each
 * /metrics still carries only that service's instruments under its own `service_name`, as in
 * production. Idempotent per name (two workers in one test process share one set). The first
 * provider also becomes the process-global one, for instruments made with getMeter().
 */
export function initMetrics(serviceName: string): ServiceMetrics {
  const existing = registered.get(serviceName);
  if (existing !== undefined) return existing.metrics;
  const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
    readers: [exporter],
  });
  if (registered.size === 0) metrics.setGlobalMeterProvider(provider);
  const serviceMetrics: ServiceMetrics = {
    serviceName,
    meter: provider.getMeter('ctc-hub'),
    serve: (request, response) => exporter.getMetricsRequestHandler(request, response),
  };
  registered.set(serviceName, { metrics: serviceMetrics, provider });
  return serviceMetrics;
}

/**
 * The process-global meter: the first service's, a no-op before any initMetrics(). For code that
 * is not handed a service's meter; services pass `ServiceMetrics.meter` to what they build.
 */
export function getMeter(): Meter {
  return metrics.getMeter('ctc-hub');
}

/** Records nothing: for a component started without metrics (a sandbox inside a test). */
export const noopMeter: Meter = createNoopMeter();

/** Serves `service`'s metrics, or a placeholder when the service has none (tests). */
export function metricsHandler(
  service: ServiceMetrics | undefined,
): (request: IncomingMessage, response: ServerResponse) => void {
  if (service !== undefined) return service.serve;
  return (_request, response) => {
    response.statusCode = 200;
    response.setHeader('content-type', 'text/plain; version=0.0.4');
    response.end('# metrics not initialised\n');
  };
}

export async function shutdownMetrics(): Promise<void> {
  const providers = [...registered.values()].map((entry) => entry.provider);
  registered.clear();
  metrics.disable();
  await Promise.all(providers.map((provider) => provider.shutdown()));
}

/** Histogram bucket boundaries in seconds, from 1 ms to 60 s. */
export const latencyBucketsSeconds = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/** Histogram bucket boundaries in bytes, from 1 KB to 32 MB. */
export const sizeBucketsBytes = [
  1_000, 10_000, 80_000, 250_000, 1_000_000, 4_000_000, 8_000_000, 16_000_000, 32_000_000,
];
