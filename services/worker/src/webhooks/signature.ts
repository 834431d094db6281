import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the secret is `whsec_` + base64
 * of the key bytes; the signature is HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`,
 * base64, sent as `v1,<signature>` (a space-separated list, so keys can be rotated by sending
 * two). Receivers verify with any Standard Webhooks library and our secret.
 */

export function webhookKey(secret: string): Buffer {
  return Buffer.from(
    secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret,
    'base64',
  );
}

export function signWebhook(
  key: Buffer,
  id: string,
  timestampSeconds: number,
  body: string,
): string {
  const mac = createHmac('sha256', key)
    .update(`${id}.${timestampSeconds}.${body}`)
    .digest('base64');
  return `v1,${mac}`;
}

/** The headers of one POST; the timestamp is the time of sending, fresh on every attempt. */
export function webhookHeaders(
  key: Buffer,
  id: string,
  body: string,
  now: Date = new Date(),
): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(key, id, timestamp, body),
  };
}
