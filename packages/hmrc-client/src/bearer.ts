import type { Parsed } from './ctc-responses.js';
import { parseJson } from './ctc-responses.js';
import type { HmrcError } from './errors.js';
import type {
  HmrcRequest,
  HmrcTransport,
  TransportResponse,
  TransportResult,
} from './transport.js';

/** Shared plumbing of the CTC, PPNS pull and Guarantee Balance calls. */

export interface CallOptions {
  signal?: AbortSignal;
  /** HMRC's answer as received, whenever HMRC answered (TransportRequest.onReply). */
  onReply?: (reply: TransportResponse) => void;
}

export type Failure = { ok: false; error: HmrcError };

const tokenPattern = /^[\x21-\x7e]{1,4096}$/;

export const refused = (message: string): Failure => ({
  ok: false,
  error: { kind: 'refused', message },
});

export const invalid = (status: number, message: string): Failure => ({
  ok: false,
  error: { kind: 'invalid-response', status, message },
});

/**
 * Sends with `Authorization: Bearer <token>`. The token is checked to be one printable token so
 * it cannot smuggle header lines; it never appears in a result or a log.
 */
export async function sendWithToken(
  transport: HmrcTransport,
  token: string,
  request: HmrcRequest,
): Promise<TransportResult> {
  if (typeof token !== 'string' || !tokenPattern.test(token)) {
    return refused('bearer token is missing or malformed');
  }
  return transport.send({
    ...request,
    headers: { ...request.headers, authorization: `Bearer ${token}` },
  });
}

/** Parses a JSON body with `parse`; anything unexpected is an invalid response (fails closed). */
export function parseJsonWith<T>(
  response: TransportResponse,
  parse: (value: unknown) => Parsed<T>,
): { ok: true; value: T } | Failure {
  const json = parseJson(response.body);
  if (!json.ok) return invalid(response.status, json.message);
  const parsed = parse(json.value);
  return parsed.ok ? parsed : invalid(response.status, parsed.message);
}
