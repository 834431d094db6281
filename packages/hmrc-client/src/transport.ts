import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { SpanKind, withSpan, type Logger } from '@ctc-hub/telemetry';
import type { Meter } from '@opentelemetry/api';
import { request, type Dispatcher } from 'undici';
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
   * shared rate pacer here, so each call books a slot of the one HMRC budget.
   */
  beforeRequest?: () => Promise<unknown>;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT';

export interface TransportRequest {
  /** Metric and span label: method and path template, never ids, e.g. `GET /movements/{type}`. */
  endpoint: string;
  method: HttpMethod;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Cap on a successful response body; the call fails with `too-large` past it. */
  maxBytes: number;
  signal?: AbortSignal | undefined;
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
  private readonly beforeRequest: (() => Promise<unknown>) | undefined;

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
    if (this.beforeRequest !== undefined) {
      const started = performance.now();
      await this.beforeRequest();
      this.metrics.budgetWait.record((performance.now() - started) / 1000, {
        endpoint: call.endpoint,
      });
    }
    return this.exchange(url, call);
  }

  /**
   * A call to a URL that is not under the base: only the large-message upload, whose URL HMRC
   * hands us and the CTC client checks (ctc-client.ts `checkUploadUrl`). Never carries a token.
   */
  async sendToUploadUrl(url: URL, call: TransportRequest): Promise<TransportResult> {
    return this.exchange(url, call);
  }

  private async exchange(url: URL, call: TransportRequest): Promise<TransportResult> {
    return withSpan(
      'hmrc.request',
      { 'hmrc.endpoint': call.endpoint, 'http.request.method': call.method },
      async (span) => {
        const started = performance.now();
        const result = await this.perform(url, call);
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

  private async perform(url: URL, call: TransportRequest): Promise<TransportResult> {
    if (call.signal?.aborted === true) {
      return {
        ok: false,
        error: { kind: 'aborted', outcome: 'not-sent', message: 'aborted before sending' },
      };
    }
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
        ...(this.dispatcher === undefined ? {} : { dispatcher: this.dispatcher }),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      status = response.statusCode;
      if (status < 200 || status >= 300) {
        const errorBody = await readCapped(response.body, errorBodyMaxBytes);
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
      return { ok: true, response: { status, headers: response.headers, body: read.buffer } };
    } catch (error) {
      return { ok: false, error: classifyThrown(error, { timedOut, callerAborted, status }) };
    } finally {
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onCallerAbort);
    }
  }
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
