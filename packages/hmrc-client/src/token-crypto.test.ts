import { randomBytes } from 'node:crypto';
import { TokenCipher, tokenCipherFromConfig, tokenKeyId } from './token-crypto.js';

const oldKey = randomBytes(32);
const newKey = randomBytes(32);
const context = 'oauth_tokens:GB123456789000:access_token';

describe('TokenCipher', () => {
  it('round-trips a token and never stores the plaintext', () => {
    const cipher = new TokenCipher([newKey]);
    const stored = cipher.encrypt('secret-access-token', context);
    expect(stored).toMatch(/^v1\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(stored).not.toContain('secret');
    expect(stored.split('.')[1]).toBe(tokenKeyId(newKey));
    expect(cipher.decrypt(stored, context)).toEqual({ ok: true, plaintext: 'secret-access-token' });
    // A fresh IV per value: the same plaintext never encrypts to the same text twice.
    expect(cipher.encrypt('secret-access-token', context)).not.toBe(stored);
  });

  it('refuses a tampered ciphertext', () => {
    const cipher = new TokenCipher([newKey]);
    const stored = cipher.encrypt('secret-access-token', context);
    const parts = stored.split('.');
    const sealed = Buffer.from(parts[3]!, 'base64url');
    sealed[0] = sealed[0]! ^ 0x01;
    const tampered = [parts[0], parts[1], parts[2], sealed.toString('base64url')].join('.');
    const result = cipher.decrypt(tampered, context);
    expect(result).toMatchObject({ ok: false, error: { code: 'tampered' } });
  });

  it('refuses a ciphertext moved to another row (context is authenticated)', () => {
    const cipher = new TokenCipher([newKey]);
    const stored = cipher.encrypt('secret-access-token', context);
    const result = cipher.decrypt(stored, 'oauth_tokens:GB999999999999:access_token');
    expect(result).toMatchObject({ ok: false, error: { code: 'tampered' } });
  });

  it('reads a value written with an old key after rotation, and writes with the new one', () => {
    const before = new TokenCipher([oldKey]);
    const stored = before.encrypt('old-refresh-token', context);
    const after = new TokenCipher([newKey, oldKey]);
    expect(after.decrypt(stored, context)).toEqual({ ok: true, plaintext: 'old-refresh-token' });
    expect(after.needsReencryption(stored)).toBe(true);
    const rewritten = after.encrypt('old-refresh-token', context);
    expect(after.needsReencryption(rewritten)).toBe(false);
    expect(rewritten.split('.')[1]).toBe(tokenKeyId(newKey));
  });

  it('names the missing key when a value was written with a key no longer configured', () => {
    const stored = new TokenCipher([oldKey]).encrypt('token', context);
    const result = new TokenCipher([newKey]).decrypt(stored, context);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('unknown-key');
    expect(result.error.message).toContain(tokenKeyId(oldKey));
    expect(result.error.message).toContain('TOKEN_ENCRYPTION_KEYS');
  });

  it('refuses values that are not v1 ciphertexts', () => {
    const cipher = new TokenCipher([newKey]);
    expect(cipher.decrypt('plain-token', context)).toMatchObject({
      ok: false,
      error: { code: 'malformed' },
    });
    expect(cipher.decrypt(`v2.${tokenKeyId(newKey)}.a.b`, context)).toMatchObject({
      ok: false,
      error: { code: 'malformed' },
    });
    expect(cipher.decrypt(`v1.${tokenKeyId(newKey)}.AAAA.AAAA`, context)).toMatchObject({
      ok: false,
      error: { code: 'malformed' },
    });
  });

  it('needs at least one 32-byte key', () => {
    expect(() => new TokenCipher([])).toThrow(/at least one key/);
    expect(() => new TokenCipher([randomBytes(16)])).toThrow(/32 bytes/);
  });
});

describe('tokenCipherFromConfig', () => {
  it('puts TOKEN_ENCRYPTION_KEYS first (newest first) and TOKEN_ENCRYPTION_KEY last', () => {
    const cipher = tokenCipherFromConfig({
      TOKEN_ENCRYPTION_KEYS: [newKey.toString('base64'), oldKey.toString('hex')],
      TOKEN_ENCRYPTION_KEY: oldKey.toString('base64'),
    });
    expect(cipher.currentKeyId).toBe(tokenKeyId(newKey));
    expect(cipher.keyIds).toEqual([tokenKeyId(newKey), tokenKeyId(oldKey)]);
  });

  it('uses TOKEN_ENCRYPTION_KEY alone', () => {
    const cipher = tokenCipherFromConfig({
      TOKEN_ENCRYPTION_KEYS: [],
      TOKEN_ENCRYPTION_KEY: oldKey.toString('hex'),
    });
    expect(cipher.currentKeyId).toBe(tokenKeyId(oldKey));
  });

  it('fails clearly without a key or with a malformed one', () => {
    expect(() => tokenCipherFromConfig({ TOKEN_ENCRYPTION_KEYS: [] })).toThrow(
      /TOKEN_ENCRYPTION_KEY/,
    );
    expect(() => tokenCipherFromConfig({ TOKEN_ENCRYPTION_KEYS: ['short'] })).toThrow(/32 bytes/);
  });
});
