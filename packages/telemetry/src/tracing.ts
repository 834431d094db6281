import {
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

/**
 * Tracing is instrumented by hand at the points that matter (HTTP request, enqueue, job, batch
 * commit, HMRC call) rather than by auto-instrumentation: the workspace is ESM, where patching
 * pg/ioredis/express needs a loader hook, and hand-made spans carry domain attributes
 * (notificationId, movementId) that generic ones cannot.
 */

export interface TracingOptions {
  serviceName: string;
  /** OTLP/HTTP collector base URL; spans are exported to `${endpoint}/v1/traces`. */
  otlpEndpoint?: string | undefined;
  /** 0..1, applied to root spans; children follow their parent's decision. */
  sampleRatio?: number;
  /** Extra exporter (tests use an in-memory one). Exported synchronously. */
  exporter?: SpanExporter;
}

let provider: NodeTracerProvider | undefined;
/** True when spans go somewhere (an OTLP endpoint or a test exporter); otherwise none are built. */
let recording = false;

/** Whether spans are recorded and exported in this process. */
export function tracingEnabled(): boolean {
  return recording;
}

/** Installs the process-wide tracer provider once; later calls (other services in the same process) are no-ops. */
export function initTracing(options: TracingOptions): void {
  if (provider !== undefined) return;
  const spanProcessors: SpanProcessor[] = [];
  if (options.otlpEndpoint !== undefined) {
    spanProcessors.push(
      new BatchSpanProcessor(
        new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` }),
      ),
    );
  }
  if (options.exporter !== undefined)
    spanProcessors.push(new SimpleSpanProcessor(options.exporter));
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    sampler: new ParentBasedSampler({
      root: new TraceIdRatioBasedSampler(options.sampleRatio ?? 1),
    }),
    spanProcessors,
  });
  provider.register();
  recording = spanProcessors.length > 0;
}

export async function shutdownTracing(): Promise<void> {
  const current = provider;
  provider = undefined;
  recording = false;
  await current?.shutdown();
}

const tracer = () => trace.getTracer('ctc-hub');

/** W3C trace context as carried in job data and outgoing headers. */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

/** The active trace context, for putting into job data. Empty when nothing is being traced. */
export function currentTraceCarrier(): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/**
 * With no exporter nothing would ever read a span, yet building one per request (sampler, ids,
 * attributes, AsyncLocalStorage context switch) cost about a tenth of the receiver's CPU. So no
 * span is built; an incoming trace context is still made active, so its trace id travels on in
 * job data and is stored with the notification, as it would be with tracing on.
 */
function withoutRecording<T>(fn: (span: Span) => Promise<T>, parent: TraceCarrier | undefined) {
  if (parent?.traceparent !== undefined) {
    const parentContext = propagation.extract(context.active(), parent);
    const spanContext = trace.getSpanContext(parentContext);
    if (spanContext !== undefined && isSpanContextValid(spanContext)) {
      const span = trace.wrapSpanContext(spanContext);
      return context.with(trace.setSpan(parentContext, span), () => fn(span));
    }
  }
  return fn(trace.getSpan(context.active()) ?? trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
}

/**
 * Runs `fn` inside a span; the span ends when the promise settles and records a thrown error.
 * When tracing is off (no exporter), runs `fn` without building a span (see withoutRecording):
 * `span.spanContext()` is then the incoming parent's, or invalid (all-zero ids) at a root.
 */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  options: { kind?: SpanKind; parent?: TraceCarrier | undefined } = {},
): Promise<T> {
  if (!recording) return withoutRecording(fn, options.parent);
  const parentContext =
    options.parent !== undefined
      ? propagation.extract(context.active(), options.parent)
      : context.active();
  return tracer().startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes },
    parentContext,
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

export { isSpanContextValid, SpanKind, type Span, type Attributes };
