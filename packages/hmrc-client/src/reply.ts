import type { HmrcReply } from '@ctc-hub/db';
import type { TransportResponse } from './transport.js';

/**
 * HMRC's answer in the form kept with a submission (submissions.hmrc_reply) and handed on by the
 * HMRC-compatible write routes: the status, the headers that describe the body or point at a
 * resource, and the body as text. Other headers (cookies, tracing, rate-limit internals of
 * HMRC's platform) are not the trader's business and are dropped.
 */
const keptHeaders = ['content-type', 'location'] as const;

/** Bodies larger than this are cut (HMRC's submission answers are a few hundred bytes). */
const maxBodyChars = 256 * 1024;

export function hmrcReplyOf(response: TransportResponse): HmrcReply {
  const headers: Record<string, string> = {};
  for (const name of keptHeaders) {
    const value = response.headers[name];
    const text = Array.isArray(value) ? value[0] : value;
    if (typeof text === 'string') headers[name] = text;
  }
  return {
    status: response.status,
    headers,
    body: response.body.toString('utf8').slice(0, maxBodyChars),
  };
}
