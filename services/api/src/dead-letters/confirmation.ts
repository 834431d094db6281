import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { decodeEncryptionKey, type ApiConfig } from '@ctc-hub/config';
import { z } from 'zod';

/**
 * The confirmation a dry run hands out and the bulk action must bring back. It binds what the
 * operator saw (action, API key, filter, the set's size and digest, and the moment the set was
 * taken) under an HMAC, so the action cannot be run without a dry run, with another filter, by
 * another key, or on a set that changed since. It is not a secret and grants nothing by itself:
 * the request still needs the API key.
 */

/** Long enough to read the count and decide; short enough that the set is still what was seen. */
export const confirmationTtlMs = 15 * 60_000;

const claimsSchema = z.object({
  v: z.literal(1),
  action: z.enum(['replay', 'purge']),
  keyId: z.string(),
  /** The canonical filter (filter.ts), as JSON text. */
  filter: z.string(),
  count: z.number().int().min(0),
  /** sha256 of the sorted ids of the set (hex). */
  digest: z.string(),
  /** Only letters created up to this moment (Postgres time, ISO) belong to the set. */
  asOf: z.string(),
  expiresAt: z.number().int(),
});

export type ConfirmationClaims = Omit<z.infer<typeof claimsSchema>, 'v'>;

export type VerifiedConfirmation =
  { ok: true; claims: ConfirmationClaims } | { ok: false; reason: 'invalid' | 'expired' };

export interface Confirmations {
  issue: (claims: ConfirmationClaims) => string;
  verify: (token: string, now?: number) => VerifiedConfirmation;
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export function confirmations(config: ApiConfig): Confirmations {
  // The newest token-encryption key, stretched for this one purpose (HKDF with its own info), as
  // the guarantee access codes do: no new secret to provision. Rotating that key only voids
  // confirmations issued before (the operator runs the dry run again).
  const keyText = config.TOKEN_ENCRYPTION_KEYS[0] ?? config.TOKEN_ENCRYPTION_KEY;
  const master = keyText === undefined ? undefined : decodeEncryptionKey(keyText);
  if (master === undefined) throw new Error('no usable TOKEN_ENCRYPTION_KEY(S) for confirmations');
  const key = Buffer.from(
    hkdfSync('sha256', master, Buffer.alloc(0), 'ctc-hub dead-letter confirmation v1', 32),
  );
  const sign = (body: string) => createHmac('sha256', key).update(body).digest();

  return {
    issue: (claims) => {
      const body = base64url(JSON.stringify({ v: 1, ...claims }));
      return `${body}.${base64url(sign(body))}`;
    },
    verify: (token, now = Date.now()) => {
      const [body, signature, extra] = token.split('.');
      if (body === undefined || signature === undefined || extra !== undefined)
        return { ok: false, reason: 'invalid' };
      const expected = sign(body);
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        return { ok: false, reason: 'invalid' };
      let json: unknown;
      try {
        json = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      } catch {
        return { ok: false, reason: 'invalid' };
      }
      const parsed = claimsSchema.safeParse(json);
      if (!parsed.success) return { ok: false, reason: 'invalid' };
      const { v: _version, ...claims } = parsed.data;
      if (claims.expiresAt <= now) return { ok: false, reason: 'expired' };
      return { ok: true, claims };
    },
  };
}
