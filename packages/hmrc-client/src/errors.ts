/**
 * How a call to HMRC failed, classified for the caller's retry policy (invariant 7). Every client
 * method returns `{ ok: true, ... } | { ok: false, error: HmrcError }`; nothing here throws for an
 * HTTP or network failure. Messages never contain tokens, secrets or request headers.
 */

/** Whether the request may have reached HMRC: decides if a submission can be sent again blindly. */
export type RequestOutcome = 'unknown' | 'not-sent';

/** One entry of HMRC's `validationErrors` (XML: line/column; JSON: schemaPath). */
export interface HmrcValidationError {
  lineNumber?: number;
  columnNumber?: number;
  schemaPath?: string;
  message: string;
}

export type HmrcError =
  | {
      kind: 'rate-limited';
      status: 429;
      /** From Retry-After (seconds or HTTP-date), or the default when HMRC sent none. */
      retryAfterMs: number;
      code?: string;
      message: string;
    }
  | { kind: 'unauthorized'; status: 401; code?: string; message: string }
  | {
      kind: 'client-error';
      status: number;
      code?: string;
      message: string;
      validationErrors?: HmrcValidationError[];
    }
  | {
      kind: 'server-error';
      status: number;
      /** False for 501: HMRC's guide says it means a wrong URL, retrying cannot help. */
      retryable: boolean;
      code?: string;
      message: string;
    }
  | { kind: 'timeout'; outcome: RequestOutcome; status?: number; message: string }
  | {
      kind: 'network';
      outcome: RequestOutcome;
      /** Set when the connection broke after HMRC had already answered with this status. */
      status?: number;
      code?: string;
      message: string;
    }
  | {
      kind: 'too-large';
      limit: number;
      /** Content-Length, or the bytes read before we stopped. */
      received?: number;
      /** False when we refused to send a body that is too big; true when a response was cut. */
      sent: boolean;
      message: string;
    }
  /** The caller's AbortSignal fired (shutdown, job cancelled). */
  | { kind: 'aborted'; outcome: RequestOutcome; message: string }
  /** Refused before anything was sent: an unsafe path, a bad id, an invalid parameter. */
  | { kind: 'refused'; message: string }
  /** HMRC answered 2xx (or 3xx) but not with what the endpoint promises. */
  | { kind: 'invalid-response'; status: number; message: string };

export type HmrcErrorKind = HmrcError['kind'];

export type HmrcResult<T> = ({ ok: true } & T) | { ok: false; error: HmrcError };

/** Worth retrying later (with backoff, or after retryAfterMs for 429). */
export function isRetryable(error: HmrcError): boolean {
  switch (error.kind) {
    case 'rate-limited':
    case 'timeout':
    case 'network':
      return true;
    case 'server-error':
      return error.retryable;
    case 'unauthorized':
    case 'client-error':
    case 'too-large':
    case 'aborted':
    case 'refused':
    case 'invalid-response':
      return false;
  }
}

/**
 * For the submission path (invariant 7): may HMRC have accepted this POST?
 *  - `not-sent`: certainly not received; safe to send again.
 *  - `rejected`: HMRC answered and refused it (4xx, including 429 from the API platform).
 *  - `unknown`: it may have been accepted (timeout, broken connection, 5xx from a backend that
 *    may have stored it, or a 2xx whose body we could not read): check HMRC's message list for
 *    the movement (or the LRN) before sending again.
 */
export function submissionOutcome(error: HmrcError): 'not-sent' | 'rejected' | 'unknown' {
  switch (error.kind) {
    case 'refused':
      return 'not-sent';
    case 'too-large':
      return error.sent ? 'unknown' : 'not-sent';
    case 'timeout':
    case 'network':
    case 'aborted':
      return error.outcome === 'not-sent' ? 'not-sent' : 'unknown';
    case 'rate-limited':
    case 'unauthorized':
    case 'client-error':
      return 'rejected';
    case 'server-error':
      // 501 is the API platform saying the route does not exist; nothing was processed.
      return error.status === 501 ? 'rejected' : 'unknown';
    case 'invalid-response':
      return 'unknown';
  }
}

/** Default wait after a 429 without Retry-After: HMRC allows 3 requests/s per application. */
export const defaultRetryAfterMs = 1_000;
/** A Retry-After beyond this is treated as this: a broken header must not park work for days. */
export const maxRetryAfterMs = 60 * 60 * 1000;

/** Retry-After as delta-seconds or an HTTP-date (RFC 9110 §10.2.3), in milliseconds from `nowMs`. */
export function parseRetryAfter(
  value: string | string[] | undefined,
  nowMs: number,
  fallbackMs = defaultRetryAfterMs,
): number {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === '') return fallbackMs;
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, maxRetryAfterMs);
  // Only accept something that looks like a date (weekday or month name), not bare garbage that
  // Date.parse happens to understand.
  if (!/[A-Za-z]{3}/.test(text)) return fallbackMs;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return fallbackMs;
  return Math.min(Math.max(0, at - nowMs), maxRetryAfterMs);
}

export interface ParsedErrorBody {
  code?: string;
  message: string;
  validationErrors?: HmrcValidationError[];
}

const maxMessageChars = 500;

/**
 * HMRC error bodies: v2 `{code, message, validationErrors?}`, v1 `{statusCode, message, code?}`,
 * PPNS `{code, message}`, OAuth `{error, error_description}`; anything else becomes a short,
 * printable excerpt so a log line stays readable.
 */
export function parseErrorBody(body: Buffer, status: number): ParsedErrorBody {
  const text = body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    const record = parsed as Record<string, unknown>;
    const code =
      typeof record.code === 'string'
        ? record.code
        : typeof record.error === 'string'
          ? record.error
          : undefined;
    const messageValue =
      typeof record.message === 'string'
        ? record.message
        : typeof record.error_description === 'string'
          ? record.error_description
          : undefined;
    const result: ParsedErrorBody = {
      message: clip(messageValue ?? code ?? `HTTP ${status}`),
    };
    if (code !== undefined) result.code = clip(code);
    const validationErrors = parseValidationErrors(record.validationErrors);
    if (validationErrors !== undefined) result.validationErrors = validationErrors;
    return result;
  }
  const excerpt = clip(text.replace(/[^\x20-\x7e]+/g, ' ').trim());
  return { message: excerpt === '' ? `HTTP ${status}` : excerpt };
}

function parseValidationErrors(value: unknown): HmrcValidationError[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.slice(0, 1000).flatMap((item): HmrcValidationError[] => {
    if (typeof item !== 'object' || item === null) return [];
    const record = item as Record<string, unknown>;
    const entry: HmrcValidationError = {
      message: typeof record.message === 'string' ? clip(record.message) : '',
    };
    if (typeof record.lineNumber === 'number') entry.lineNumber = record.lineNumber;
    if (typeof record.columnNumber === 'number') entry.columnNumber = record.columnNumber;
    if (typeof record.schemaPath === 'string') entry.schemaPath = clip(record.schemaPath);
    return [entry];
  });
}

const clip = (text: string) =>
  text.length > maxMessageChars ? `${text.slice(0, maxMessageChars)}…` : text;

/** Maps an HMRC HTTP error status and body to its class. */
export function classifyStatus(
  status: number,
  body: Buffer,
  retryAfter: string | string[] | undefined,
  nowMs: number,
  fallbackRetryAfterMs = defaultRetryAfterMs,
): HmrcError {
  const parsed = parseErrorBody(body, status);
  const codePart = parsed.code === undefined ? {} : { code: parsed.code };
  if (status === 429) {
    return {
      kind: 'rate-limited',
      status: 429,
      retryAfterMs: parseRetryAfter(retryAfter, nowMs, fallbackRetryAfterMs),
      ...codePart,
      message: parsed.message,
    };
  }
  if (status === 401)
    return { kind: 'unauthorized', status: 401, ...codePart, message: parsed.message };
  if (status >= 500) {
    return {
      kind: 'server-error',
      status,
      retryable: status !== 501,
      ...codePart,
      message: parsed.message,
    };
  }
  if (status >= 400) {
    return {
      kind: 'client-error',
      status,
      ...codePart,
      message: parsed.message,
      ...(parsed.validationErrors === undefined
        ? {}
        : { validationErrors: parsed.validationErrors }),
    };
  }
  // 1xx never reaches us; 3xx means a redirect, which we never follow (invariant 5).
  return {
    kind: 'invalid-response',
    status,
    message: `unexpected HTTP ${status} (redirects are not followed)`,
  };
}

/** One line for logs and error columns: kind, status, code, message. No secrets by construction. */
export function describeHmrcError(error: HmrcError): string {
  const status = 'status' in error && error.status !== undefined ? ` ${error.status}` : '';
  const code = 'code' in error && error.code !== undefined ? ` ${error.code}` : '';
  return `${error.kind}${status}${code}: ${error.message}`;
}
