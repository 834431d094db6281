import { relaySecretContext, type Db } from '@ctc-hub/db';
import type { TokenCipher } from '@ctc-hub/hmrc-client';
import { periodicTask } from '../runtime/periodic.js';

/**
 * Re-encrypts relay consumers' secrets still sealed under an older TOKEN_ENCRYPTION_KEYS key
 * with the newest one, as the OAuth tokens are (token-reencryption.ts). Each row is replaced
 * only if it still holds what was read, so replicas doing it at once, or an operator changing
 * the secret meanwhile, lose nothing. Secrets no key can decrypt are counted, not changed.
 */
export async function reencryptRelaySecrets(
  db: Db,
  cipher: TokenCipher,
): Promise<{ reencrypted: number; failed: number }> {
  const rows = await db
    .selectFrom('relay_consumers')
    .select(['id', 'secret'])
    .where('secret', 'is not', null)
    .execute();
  let reencrypted = 0;
  let failed = 0;
  for (const row of rows) {
    if (row.secret === null || !cipher.needsReencryption(row.secret)) continue;
    const context = relaySecretContext(row.id);
    const plain = cipher.decrypt(row.secret, context);
    if (!plain.ok) {
      failed += 1;
      continue;
    }
    const result = await db
      .updateTable('relay_consumers')
      .set({ secret: cipher.encrypt(plain.plaintext, context) })
      .where('id', '=', row.id)
      .where('secret', '=', row.secret)
      .executeTakeFirst();
    reencrypted += Number(result.numUpdatedRows);
  }
  return { reencrypted, failed };
}

export const relaySecretReencryptionTask = periodicTask({
  name: 'relay-secret-reencryption',
  firstRunDelayMs: 60_000,
  intervalMs: 24 * 3600 * 1000,
  failure: 'relay secret re-encryption failed; will retry tomorrow',
  work: async (deps) => {
    const { reencrypted, failed } = await reencryptRelaySecrets(deps.db, deps.hmrc.cipher);
    if (reencrypted > 0)
      deps.logger.info({ reencrypted }, 'relay consumer secrets re-encrypted with the newest key');
    if (failed > 0)
      deps.logger.warn(
        { failed },
        'relay consumer secrets no configured key can decrypt; set them again (PATCH /v1/relay/consumers/{id})',
      );
  },
});
