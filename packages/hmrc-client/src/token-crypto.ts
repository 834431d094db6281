import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { decodeEncryptionKey } from '@ctc-hub/config';

/**
 * OAuth tokens at rest: AES-256-GCM with key rotation.
 *
 * Stored form: `v1.<keyId>.<iv>.<ciphertext+tag>`, every part base64url. The key id is derived
 * from the key itself (a domain-separated SHA-256, not the bare hash of the key), so rotating
 * needs no extra configuration: put the new key first in TOKEN_ENCRYPTION_KEYS, keep the old ones
 * after it until `reencryptTokens` (token-store.ts) has rewritten every row, then drop them.
 *
 * The caller passes a context (e.g. `oauth_tokens:GB123:access_token`) that is authenticated as
 * additional data: a ciphertext copied into another row or column fails to decrypt instead of
 * handing one trader's token to another.
 */

const version = 'v1';
const ivBytes = 12;
const tagBytes = 16;

export interface TokenKey {
  id: string;
  key: Buffer;
}

export type DecryptError =
  | { code: 'malformed'; message: string }
  /** Written with a key that is no longer configured: a deployment error, not bad data. */
  | { code: 'unknown-key'; keyId: string; message: string }
  /** Authentication failed: tampered ciphertext, wrong context, or a key id collision. */
  | { code: 'tampered'; keyId: string; message: string };

// Fails closed: any doubt about a ciphertext is an error, never a best-effort plaintext.
export type DecryptResult = { ok: true; plaintext: string } | { ok: false; error: DecryptError };

/** The key id: first 8 bytes of SHA-256("ctc-hub token key id" ‖ key), base64url (11 chars). */
export function tokenKeyId(key: Buffer): string {
  return createHash('sha256')
    .update('ctc-hub token key id\0')
    .update(key)
    .digest()
    .subarray(0, 8)
    .toString('base64url');
}

export class TokenCipher {
  private readonly keys: readonly TokenKey[];
  private readonly byId: ReadonlyMap<string, TokenKey>;

  /** `keys` newest first: the first encrypts, every one decrypts. */
  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0) {
      throw new Error(
        'TokenCipher needs at least one key (TOKEN_ENCRYPTION_KEYS or TOKEN_ENCRYPTION_KEY)',
      );
    }
    const entries = keys.map((key, index) => {
      if (key.length !== 32) {
        throw new Error(`token encryption key #${index + 1} must be 32 bytes, got ${key.length}`);
      }
      return { id: tokenKeyId(key), key: Buffer.from(key) };
    });
    this.keys = entries;
    this.byId = new Map(entries.map((entry) => [entry.id, entry]));
  }

  /** The id of the key new values are encrypted with. */
  get currentKeyId(): string {
    return this.keys[0]!.id;
  }

  get keyIds(): readonly string[] {
    return this.keys.map((entry) => entry.id);
  }

  encrypt(plaintext: string, context: string): string {
    const { id, key } = this.keys[0]!;
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: tagBytes });
    cipher.setAAD(additionalData(id, context));
    const sealed = Buffer.concat([
      cipher.update(plaintext, 'utf8'),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    return `${version}.${id}.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
  }

  decrypt(stored: string, context: string): DecryptResult {
    const parts = stored.split('.');
    if (parts.length !== 4 || parts[0] !== version) {
      return { ok: false, error: { code: 'malformed', message: 'not a v1 encrypted token' } };
    }
    const [, keyId, ivText, sealedText] = parts as [string, string, string, string];
    const entry = this.byId.get(keyId);
    if (entry === undefined) {
      return {
        ok: false,
        error: {
          code: 'unknown-key',
          keyId,
          message:
            `token was encrypted with key ${keyId}, which is not in TOKEN_ENCRYPTION_KEYS ` +
            `(configured: ${this.keyIds.join(', ')}); add the old key back after the new one`,
        },
      };
    }
    const iv = Buffer.from(ivText, 'base64url');
    const sealed = Buffer.from(sealedText, 'base64url');
    if (iv.length !== ivBytes || sealed.length < tagBytes) {
      return {
        ok: false,
        error: { code: 'malformed', message: 'encrypted token has a bad iv or length' },
      };
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', entry.key, iv, { authTagLength: tagBytes });
      decipher.setAAD(additionalData(keyId, context));
      decipher.setAuthTag(sealed.subarray(sealed.length - tagBytes));
      const plaintext = Buffer.concat([
        decipher.update(sealed.subarray(0, sealed.length - tagBytes)),
        decipher.final(),
      ]).toString('utf8');
      return { ok: true, plaintext };
    } catch {
      return {
        ok: false,
        error: { code: 'tampered', keyId, message: 'encrypted token failed authentication' },
      };
    }
  }

  /** True when `stored` was not written with the current key (rotation still pending for it). */
  needsReencryption(stored: string): boolean {
    return stored.split('.')[1] !== this.currentKeyId;
  }
}

// The version and key id are bound into the tag too, so they cannot be swapped on a stored value.
const additionalData = (keyId: string, context: string) =>
  Buffer.from(`${version}.${keyId}|${context}`, 'utf8');

/**
 * Builds the cipher from config: TOKEN_ENCRYPTION_KEYS (newest first), then TOKEN_ENCRYPTION_KEY.
 * Config validation has already checked each key decodes; this throws if one does not anyway.
 */
export function tokenCipherFromConfig(config: {
  TOKEN_ENCRYPTION_KEYS: readonly string[];
  TOKEN_ENCRYPTION_KEY?: string | undefined;
}): TokenCipher {
  const texts = [...config.TOKEN_ENCRYPTION_KEYS];
  if (config.TOKEN_ENCRYPTION_KEY !== undefined) texts.push(config.TOKEN_ENCRYPTION_KEY);
  const keys = texts.map((text, index) => {
    const key = decodeEncryptionKey(text);
    if (key === undefined) {
      throw new Error(
        `token encryption key #${index + 1} is not 32 bytes of base64 or 64 hex characters`,
      );
    }
    return key;
  });
  // The same key listed twice (both variables set during a migration) is harmless; dedupe it.
  const unique = [...new Map(keys.map((key) => [key.toString('hex'), key])).values()];
  return new TokenCipher(unique);
}
