/** The answer a case must get: HTTP status and what the JSON body names. */
export interface Expectation {
  status: number;
  /** `code` of the JSON error body. */
  code?: string;
  /** `field` of the JSON error body (the receiver names the envelope field at fault). */
  field?: string;
  /** Must match the JSON body (message, validationErrors): the problem is named. */
  mentions?: RegExp;
}

/**
 * How a case is signed: the push secret over the body (default), nothing, a literal header, another
 * secret, or the push secret over different bytes.
 */
export type Signature =
  'valid' | 'none' | { header: string } | { secret: string } | { over: string | Buffer };

/** What the worker must make of a notification the receiver accepted. */
export type Outcome =
  { status: 'quarantined'; errorCode: string } | { status: 'stored'; knownType: boolean };

export interface ReceiverCase {
  name: string;
  category: string;
  body: string | Buffer;
  /** Content-Type; null sends none. Default application/json. */
  contentType?: string | null;
  headers?: Record<string, string>;
  signature?: Signature;
  chunked?: boolean;
  expected: Expectation;
  /** For a case answered 200: its notificationId and what the worker must end with. */
  accepted?: { notificationId: string; outcome: Outcome };
}

export interface ApiCase {
  name: string;
  category: string;
  method?: 'POST' | 'PUT';
  path: string;
  body: string | Buffer;
  /** Default application/xml; null sends none. */
  contentType?: string | null;
  /** API key; null sends no Authorization header. Default: the stack's key. */
  apiKey?: string | null;
  headers?: Record<string, string>;
  expected: Expectation;
}
