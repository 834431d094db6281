import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { decodeEncryptionKey, type ApiConfig } from '@ctc-hub/config';
import { tokenCipherFromConfig, type TokenCipher } from '@ctc-hub/hmrc-client';
import type { RedisConnection } from '@ctc-hub/queue';

/**
 * The access code of a guarantee is a secret of the trader: four characters, so a plain hash of
 * it would be reversed by trying all 1.7 million codes. We keep only an HMAC with a server-side
 * key, bound to the GRN and EORI, which is enough to tell "the same trader gave the same code
 * again" (and so may see the cached balance) without the database ever holding the code.
 *
 * The code itself still has to reach the worker that calls HMRC. It does not go in the job
 * (BullMQ keeps job data for days and shows it in dashboards): it is left in Redis, encrypted
 * with the token cipher and bound to the check id, for at most accessCodeTtlMs, and the worker
 * takes it with GETDEL. The worker reads it the same way (services/worker/src/hmrc/
 * guarantee-processor.ts): keep the key and context below in step with it.
 */

export const accessCodeKey = (prefix: string, checkId: string) =>
  `${prefix}:guarantee-access-code:${checkId}`;
export const accessCodeContext = (checkId: string) => `guarantee_checks:${checkId}:access_code`;
/** A job that has not started by then is stale anyway: its window was taken over long ago. */
export const accessCodeTtlMs = 5 * 60_000;

export interface AccessCodes {
  /** HMAC-SHA256 over GRN, EORI and the upper-cased code (HMRC ignores the code's case). */
  hmac: (grn: string, eori: string, accessCode: string) => Buffer;
  /** Leaves the encrypted code for the worker; resolves once Redis has it. */
  handOver: (
    redis: RedisConnection,
    prefix: string,
    checkId: string,
    accessCode: string,
  ) => Promise<void>;
}

export function accessCodes(config: ApiConfig): AccessCodes {
  const cipher: TokenCipher = tokenCipherFromConfig(config);
  // The newest token-encryption key, stretched for this one purpose (HKDF with its own info), so
  // no new secret has to be provisioned. Rotating that key changes the HMAC: for the rest of the
  // current minute a repeated request then gets 429 instead of the cached balance, nothing worse.
  const keyText = config.TOKEN_ENCRYPTION_KEYS[0] ?? config.TOKEN_ENCRYPTION_KEY;
  const master = keyText === undefined ? undefined : decodeEncryptionKey(keyText);
  if (master === undefined) throw new Error('no usable TOKEN_ENCRYPTION_KEY(S) for access codes');
  const hmacKey = Buffer.from(
    hkdfSync('sha256', master, Buffer.alloc(0), 'ctc-hub guarantee access code v1', 32),
  );
  return {
    hmac: (grn, eori, accessCode) =>
      createHmac('sha256', hmacKey)
        .update(`${grn}\0${eori}\0${accessCode.toUpperCase()}`, 'utf8')
        .digest(),
    handOver: async (redis, prefix, checkId, accessCode) => {
      const sealed = cipher.encrypt(accessCode, accessCodeContext(checkId));
      await redis.set(accessCodeKey(prefix, checkId), sealed, 'PX', accessCodeTtlMs);
    },
  };
}

export const sameHmac = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);
