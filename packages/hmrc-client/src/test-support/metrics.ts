import type { Attributes } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';

/** An in-process meter whose values a test can read back (no exporter, no global state). */
class CollectingReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

export interface TestMeter {
  provider: MeterProvider;
  meter: ReturnType<MeterProvider['getMeter']>;
  /** Data points of one instrument: attributes and value (sum for counters, {sum,count} for histograms). */
  points: (name: string) => Promise<{ attributes: Attributes; value: unknown }[]>;
}

export function createTestMeter(): TestMeter {
  const reader = new CollectingReader();
  const provider = new MeterProvider({ readers: [reader] });
  return {
    provider,
    meter: provider.getMeter('test'),
    points: async (name) => {
      const { resourceMetrics } = await reader.collect();
      const metrics: MetricData[] = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
      const metric = metrics.find((candidate) => candidate.descriptor.name === name);
      if (metric === undefined) return [];
      return (metric.dataPoints as { attributes: Attributes; value: unknown }[]).map((point) => ({
        attributes: point.attributes,
        value: point.value,
      }));
    },
  };
}
