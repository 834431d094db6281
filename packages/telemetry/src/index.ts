export { createLogger, flushLogs, type Logger, type LoggerOptions } from './logger.js';
export {
  currentTraceCarrier,
  initTracing,
  isSpanContextValid,
  shutdownTracing,
  SpanKind,
  tracingEnabled,
  withSpan,
  type Attributes,
  type Span,
  type TraceCarrier,
  type TracingOptions,
} from './tracing.js';
export {
  getMeter,
  initMetrics,
  latencyBucketsSeconds,
  metricsHandler,
  noopMeter,
  shutdownMetrics,
  sizeBucketsBytes,
  type ServiceMetrics,
} from './metrics.js';
export type { Counter, Histogram, Meter } from '@opentelemetry/api';
export { opsRoutes, ReadinessDetail, type ReadinessCheck } from './ops-routes.js';
export { initTelemetry, shutdownTelemetry, type TelemetryOptions } from './init.js';
export { runService } from './run-service.js';
export { listen, type HttpTimeouts } from './listen.js';
