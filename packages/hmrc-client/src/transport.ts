import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { SpanKind, withSpan, type Logger } from '@ctc-hub/telemetry';
import type { Meter } from '@opentelemetry/api';
import { Agent, request, type Dispatcher } from 'undici';
import { classifyStatus, defaultRetryAfterMs, type HmrcError, type HmrcResult } from './errors.js';
import { createCallMetrics, type HmrcCallMetrics } from './metrics.js';
import { isSafePath } from './paths.js';

/**
 * The one place that talks HTTP to HMRC. It owns the URL guard (invariant 5), the per-call
 * timeout, the response size cap, the classification of every failure into an HmrcError and the
 * call metrics. Redirects are never followed (undici's request() does not), so a 3xx cannot take
 * us off HMRC's host.
 */

export interface TransportOptions {
  /** HMRC_API_BASE_URL, without trailing slash (config strips it). */
  baseUrl: string;
  /** HMRC_REQUEST_TIMEOUT_MS: the whole call, connect to last body byte. */
  timeoutMs: number;
  /** undici dispatcher (connection pool); the global one when absent. */
  dispatcher?: Dispatcher;
  /** Meter for the call metrics; the ctc-hub meter when absent. */
  meter?: Meter;
  logger?: Logger;
  /** Wall clock in ms, for Retry-After HTTP-dates. */
  now?: () => number;
  /** Wait after a 429 that carries no Retry-After. */
  defaultRetryAfterMs?: number;
  /**
   * Awaited before every call to the HMRC API (not the upload host): the worker passes the
   * shared rate pacer here, so each call books a slot of the one HMRC budget. When it returns a
   * clearance, the transport reports the moment the request's first bytes are written to the
   * socket (`sent`), or that it never left (`notSent`), and refuses to send once the clearance
   * lapsed (see `Clearance`).
   */
  beforeRequest?: (call: PacedCall) => Promise<Clearance | undefined>;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT';

/** What the pacing hook is told about a call, to choose the budgets it draws on. */
export interface PacedCall {
  endpoint: string;
  method: HttpMethod;
  /** The path under the base URL (validated), e.g. `/misc/push-pull-notification/box/{id}/notifications`. */
  path: string;
}

/**
 * Permission to send, held by the pacer until the request has actually left (the queue's
 * `Departure` has this shape). HMRC counts arrivals, so what must be paced is the moment the
 * bytes leave, not the moment a pacer said "go": between the two lie connection set-up and any
 * event-loop delay.
 */
export interface Clearance {
  waitedMs: number;
  /** performance.now() after which the clearance may have lapsed: the request must not leave. */
  validUntil: number;
  sent(): Promise<void>;
  notSent(): Promise<void>;
}

/**
 * The pool for paced calls when the caller gave none. Not undici's global dispatcher: once
 * Node's built-in fetch has run, that slot holds the Agent of the undici bundled with Node, whose
 * handler interface is older than the interceptor below expects.
 */
let sharedAgent: Agent | undefined;
const paceableDispatcher = (): Dispatcher => (sharedAgent ??= new Agent());

/** A clearance that lapsed before the connection was ready is asked for again, this many times. */
const maxClearances = 3;

const lapsedError: HmrcError = {
  kind: 'network',
  outcome: 'not-sent',
  code: 'CLEARANCE_LAPSED',
  message: 'could not connect to HMRC within the rate clearance',
};

export interface TransportRequest {
  /** Metric and span label: method and path template, never ids, e.g. `GET /movements/{type}`. */
  endpoint: string;
  method: HttpMethod;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Cap on a successful response body; the call fails with `too-large` past it. */
  maxBytes: number;
  signal?: AbortSignal | undefined;
  /**
   * Called with HMRC's answer as received (status, headers, body; error bodies up to 256 KiB)
   * whenever HMRC answered, success or not: for callers that must hand HMRC's own answer on
   * (the HMRC-compatible write routes).
   */
  onReply?: ((reply: TransportResponse) => void) | undefined;
}

export interface HmrcRequest extends TransportRequest {
  /** A path from paths.ts; checked again here. */
  path: string;
  /** Name/value pairs, percent-encoded here (so `:` and `+` in date-times are encoded). */
  query?: ReadonlyArray<readonly [string, string]>;
}

export interface TransportResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type TransportResult = HmrcResult<{ response: TransportResponse }>;

/** Error bodies are read up to this size (then truncated): enough for any validationErrors list. */
const errorBodyMaxBytes = 256 * 1024;

/** Failures where the request cannot have left this process or reached HMRC's server. */
const notSentCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_INVALID_ARG',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

export class HmrcTransport {
  readonly baseUrl: string;
  private readonly base: URL;
  private readonly basePath: string;
  private readonly timeoutMs: number;
  private readonly dispatcher: Dispatcher | undefined;
  private readonly metrics: HmrcCallMetrics;
  private readonly logger: Logger | undefined;
  private readonly now: () => number;
  private readonly fallbackRetryAfterMs: number;
  private readonly beforeRequest: ((call: PacedCall) => Promise<Clearance | undefined>) | undefined;

  constructor(options: TransportOptions) {
    this.base = new URL(options.baseUrl);
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') {
      throw new Error('HMRC_API_BASE_URL must be an http(s) URL');
    }
    if (this.base.search !== '' || this.base.hash !== '' || this.base.username !== '') {
      throw new Error('HMRC_API_BASE_URL must not carry a query, fragment or credentials');
    }
    this.basePath = this.base.pathname.replace(/\/+$/, '');
    this.baseUrl = `${this.base.origin}${this.basePath}`;
    this.timeoutMs = options.timeoutMs;
    this.dispatcher = options.dispatcher;
    this.metrics = createCallMetrics(options.meter);
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.fallbackRetryAfterMs = options.defaultRetryAfterMs ?? defaultRetryAfterMs;
    this.beforeRequest = options.beforeRequest;
  }

  /**
   * `${base}${path}?query`, or undefined when the path is not a plain safe path or the URL parser
   * would resolve it anywhere else than under the base (the second line behind paths.ts).
   */
  urlFor(path: string, query: ReadonlyArray<readonly [string, string]> = []): URL | undefined {
    if (!isSafePath(path)) return undefined;
    const search =
      query.length === 0
        ? ''
        : `?${query.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&')}`;
    let url: URL;
    try {
      url = new URL(`${this.baseUrl}${path}${search}`);
    } catch {
      return undefined;
    }
    const unchanged =
      url.origin === this.base.origin &&
      url.pathname === `${this.basePath}${path}` &&
      url.search === search &&
      url.username === '' &&
      url.password === '';
    return unchanged ? url : undefined;
  }

  /** A call to HMRC's API base URL. */
  async send(call: HmrcRequest): Promise<TransportResult> {
    const url = this.urlFor(call.path, call.query);
    if (url === undefined) {
      return {
        ok: false,
        error: { kind: 'refused', message: 'refused to call a path outside the HMRC API' },
      };
    }
    if (this.beforeRequest === undefined) return this.exchangeUnpaced(url, call);
    for (let attempt = 1; ; attempt += 1) {
      const started = performance.now();
      const clearance = await this.beforeRequest({
        endpoint: call.endpoint,
        method: call.method,
        path: call.path,
      });
      this.metrics.budgetWait.record((performance.now() - started) / 1000, {
        endpoint: call.endpoint,
      });
      const result = await this.exchange(url, call, clearance);
      if (result !== 'lapsed') return result;
      this.logger?.warn(
        { endpoint: call.endpoint, attempt },
        'the rate clearance lapsed before the connection was ready; asking again',
      );
      if (attempt >= maxClearances) return { ok: false, error: lapsedError };
    }
  }

  /**
   * A call to a URL that is not under the base: only the large-message upload, whose URL HMRC
   * hands us and the CTC client checks (ctc-client.ts `checkUploadUrl`). Never carries a token.
   */
  async sendToUploadUrl(url: URL, call: TransportRequest): Promise<TransportResult> {
    return this.exchangeUnpaced(url, call);
  }

  private async exchangeUnpaced(url: URL, call: TransportRequest): Promise<TransportResult> {
    const result = await this.exchange(url, call);
    // Only a clearance can lapse; without one this branch is never taken.
    if (result === 'lapsed') return { ok: false, error: lapsedError };
    return result;
  }

  /** One request; 'lapsed' when the clearance expired before it could leave (nothing was sent). */
  private async exchange(
    url: URL,
    call: TransportRequest,
    clearance?: Clearance,
  ): Promise<TransportResult | 'lapsed'> {
    return withSpan(
      'hmrc.request',
      { 'hmrc.endpoint': call.endpoint, 'http.request.method': call.method },
      async (span) => {
        const started = performance.now();
        const result = await this.perform(url, call, clearance);
        if (result === 'lapsed') {
          span.setAttribute('hmrc.status', 'clearance-lapsed');
          return result;
        }
        const seconds = (performance.now() - started) / 1000;
        const status = result.ok ? String(result.response.status) : statusLabel(result.error);
        this.metrics.requests.add(1, { endpoint: call.endpoint, method: call.method, status });
        this.metrics.duration.record(seconds, { endpoint: call.endpoint, method: call.method });
        if (result.ok) {
          this.metrics.responseBytes.record(result.response.body.length, {
            endpoint: call.endpoint,
          });
        }
        span.setAttribute('hmrc.status', status);
        this.logger?.debug(
          { endpoint: call.endpoint, status, durationMs: Math.round(seconds * 1000) },
          'hmrc call',
        );
        return result;
      },
      { kind: SpanKind.CLIENT },
    );
  }

  private async perform(
    url: URL,
    call: TransportRequest,
    clearance?: Clearance,
  ): Promise<TransportResult | 'lapsed'> {
    if (call.signal?.aborted === true) {
      await clearance?.notSent().catch(this.clearanceFailed);
      return {
        ok: false,
        error: { kind: 'aborted', outcome: 'not-sent', message: 'aborted before sending' },
      };
    }
    const departure = { left: false, lapsed: false };
    const dispatcher =
      clearance === undefined
        ? this.dispatcher
        : (this.dispatcher ?? paceableDispatcher()).compose(
            departureInterceptor(clearance, departure, this.clearanceFailed),
          );
    // One controller per call: fired by our timeout or by the caller's signal. Which one fired is
    // read from the flags, not from the error undici throws (its shape varies by phase).
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    let callerAborted = false;
    const onCallerAbort = () => {
      callerAborted = true;
      controller.abort();
    };
    call.signal?.addEventListener('abort', onCallerAbort, { once: true });
    let status: number | undefined;
    try {
      const response = await request(url, {
        method: call.method,
        headers: call.headers,
        body: call.body ?? null,
        signal: controller.signal,
        ...(dispatcher === undefined ? {} : { dispatcher }),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      status = response.statusCode;
      if (status < 200 || status >= 300) {
        const errorBody = await readCapped(response.body, errorBodyMaxBytes);
        call.onReply?.({ status, headers: response.headers, body: errorBody.buffer });
        return {
          ok: false,
          error: classifyStatus(
            status,
            errorBody.buffer,
            response.headers['retry-after'],
            this.now(),
            this.fallbackRetryAfterMs,
          ),
        };
      }
      const declared = contentLength(response.headers);
      if (declared !== undefined && declared > call.maxBytes) {
        response.body.destroy();
        return { ok: false, error: tooLarge(call.maxBytes, declared) };
      }
      const read = await readCapped(response.body, call.maxBytes, declared);
      if (read.overflow) return { ok: false, error: tooLarge(call.maxBytes, read.received) };
      call.onReply?.({ status, headers: response.headers, body: read.buffer });
      return { ok: true, response: { status, headers: response.headers, body: read.buffer } };
    } catch (error) {
      if (departure.lapsed) return 'lapsed';
      return { ok: false, error: classifyThrown(error, { timedOut, callerAborted, status }) };
    } finally {
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onCallerAbort);
      // Failed before its first byte (refused, DNS, TLS, aborted while connecting): release the
      // clearance without a departure, so the next caller need not wait a gap for nothing.
      if (clearance !== undefined && !departure.left)
        await clearance.notSent().catch(this.clearanceFailed);
    }
  }

  private readonly clearanceFailed = (error: unknown): void => {
    // Redis unreachable: the hold lapses by itself; the next caller waits for that instead.
    this.logger?.warn({ err: error }, 'could not report a departure to the rate pacer');
  };
}

/**
 * An undici interceptor that sees the moment the request is written to a connected socket
 * (`onRequestStart` runs synchronously just before the request line goes out) and reports it as
 * the departure. A clearance that lapsed by then aborts the request before any byte is written.
 */
function departureInterceptor(
  clearance: Clearance,
  departure: { left: boolean; lapsed: boolean },
  onReportError: (error: unknown) => void,
): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) =>
    dispatch(options, {
      onRequestStart(controller, context) {
        handler.onRequestStart?.(controller, context);
        if (controller.aborted) return;
        if (performance.now() > clearance.validUntil) {
          departure.lapsed = true;
          controller.abort(new Error('rate clearance lapsed before the request could leave'));
          return;
        }
        departure.left = true;
        clearance.sent().catch(onReportError);
      },
      onRequestUpgrade: (...args) => handler.onRequestUpgrade?.(...args),
      onResponseStart: (...args) => handler.onResponseStart?.(...args),
      onResponseData: (...args) => handler.onResponseData?.(...args),
      onResponseEnd: (...args) => handler.onResponseEnd?.(...args),
      onResponseError: (...args) => handler.onResponseError?.(...args),
    });
}

const tooLarge = (limit: number, received: number): HmrcError => ({
  kind: 'too-large',
  limit,
  received,
  sent: true,
  message: `response body exceeds ${limit} bytes`,
});

function contentLength(headers: IncomingHttpHeaders): number | undefined {
  const value = headers['content-length'];
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

interface ReadResult {
  buffer: Buffer;
  received: number;
  overflow: boolean;
}

/**
 * Bodies of at least this size that declare their length are read into memory shared with worker
 * threads (a SharedArrayBuffer), so handing them to the NCTS parse thread costs no copy.
 */
export const SHARED_BODY_MIN_BYTES = 256 * 1024;

/**
 * Reads a body into one Buffer, stopping (and destroying the stream, which closes the
 * connection) as soon as more than `maxBytes` arrived: a 30 MB body against a 20 MB cap costs at
 * most one chunk over 20 MB of memory, never 30 MB.
 *
 * When the response declared its length (≤ maxBytes, checked by the caller), the chunks are
 * copied into one buffer of that size as they arrive, instead of being kept and concatenated at
 * the end: the peak is the body once rather than twice, and there is no 20 MB memcpy on the event
 * loop at the end. Large ones go into shared memory (see SHARED_BODY_MIN_BYTES). A body longer
 * than declared (undici normally refuses one) falls back to collecting chunks.
 */
async function readCapped(
  body: Dispatcher.ResponseData['body'],
  maxBytes: number,
  declared?: number,
): Promise<ReadResult> {
  let target: Buffer | undefined;
  if (declared !== undefined && declared <= maxBytes) {
    target =
      declared >= SHARED_BODY_MIN_BYTES
        ? Buffer.from(new SharedArrayBuffer(declared))
        : Buffer.allocUnsafe(declared);
  }
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of body) {
    const bytes = chunk as Buffer;
    if (target !== undefined) {
      if (received + bytes.length <= target.length) {
        bytes.copy(target, received);
        received += bytes.length;
        continue;
      }
      chunks.push(target.subarray(0, received));
      target = undefined;
    }
    received += bytes.length;
    if (received > maxBytes) {
      body.destroy();
      const kept = Buffer.concat(chunks);
      return { buffer: kept, received, overflow: true };
    }
    chunks.push(bytes);
  }
  if (target !== undefined)
    return { buffer: target.subarray(0, received), received, overflow: false };
  return { buffer: Buffer.concat(chunks, received), received, overflow: false };
}

function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number) => {
    if (typeof value !== 'object' || value === null || seen.has(value) || depth > 4) return;
    seen.add(value);
    const { code, cause, errors } = value as { code?: unknown; cause?: unknown; errors?: unknown };
    if (typeof code === 'string') codes.push(code);
    visit(cause, depth + 1);
    if (Array.isArray(errors)) for (const inner of errors) visit(inner, depth + 1);
  };
  visit(error, 0);
  return codes;
}

function classifyThrown(
  error: unknown,
  state: { timedOut: boolean; callerAborted: boolean; status: number | undefined },
): HmrcError {
  const statusPart = state.status === undefined ? {} : { status: state.status };
  // Once HMRC answered, the request certainly arrived; before that we cannot know.
  if (state.timedOut) {
    return {
      kind: 'timeout',
      outcome: 'unknown',
      ...statusPart,
      message:
        state.status === undefined ? 'no response from HMRC in time' : 'response body too slow',
    };
  }
  if (state.callerAborted)
    return { kind: 'aborted', outcome: 'unknown', message: 'aborted by the caller' };
  const codes = errorCodes(error);
  const code = codes[0];
  const notSent =
    state.status === undefined && codes.length > 0 && codes.every((c) => notSentCodes.has(c));
  return {
    kind: 'network',
    outcome: notSent ? 'not-sent' : 'unknown',
    ...statusPart,
    ...(code === undefined ? {} : { code }),
    message:
      state.status === undefined
        ? `connection failed before a response${code === undefined ? '' : ` (${code})`}`
        : `connection broke while reading the response${code === undefined ? '' : ` (${code})`}`,
  };
}

function statusLabel(error: HmrcError): string {
  switch (error.kind) {
    case 'rate-limited':
    case 'unauthorized':
    case 'client-error':
    case 'server-error':
    case 'invalid-response':
      return String(error.status);
    default:
      return error.kind;
  }
}
