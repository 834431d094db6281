import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * PPNS signs every push with HMAC-SHA1 keyed with the application's push secret *as text*
 * (not Base32-decoded) and sends lower-case hex, no `sha1=` prefix, in `X-Hub-Signature`.
 */
export function signPayload(secret: string, payload: Buffer | string): string {
  return createHmac('sha1', secret).update(payload).digest('hex');
}

const hexSignature = /^[0-9a-f]{40}$/;

/**
 * True when `header` is the signature of the raw `payload` bytes under any of `secrets` (several
 * are active while a secret is rotated). Comparison is constant-time per secret; a malformed
 * header fails without computing anything.
 */
export function verifySignature(
  secrets: readonly string[],
  payload: Buffer,
  header: string | undefined,
): boolean {
  if (header === undefined || !hexSignature.test(header)) return false;
  const given = Buffer.from(header, 'hex');
  let matched = false;
  for (const secret of secrets) {
    const expected = createHmac('sha1', secret).update(payload).digest();
    // Every secret is checked, so timing does not reveal which one matched.
    if (timingSafeEqual(expected, given)) matched = true;
  }
  return matched;
}
