import { periodicTask } from '../runtime/periodic.js';

/**
 * Finishes a TOKEN_ENCRYPTION_KEYS rotation by itself: once a new key is first in the list, every
 * stored token still sealed under an older key is re-encrypted with it (a minute after start-up,
 * then daily), each under the same per-trader lock a refresh takes, so replicas doing it at once
 * do each row once. When the log reports none left, the old key can be removed
 * (infra/README.md, "Rotating secrets").
 */
export const tokenReencryptionTask = periodicTask({
  name: 'token-reencryption',
  firstRunDelayMs: 60_000,
  intervalMs: 24 * 3600 * 1000,
  failure: 'token re-encryption failed; will retry tomorrow',
  work: async (deps) => {
    const { reencrypted, failed } = await deps.hmrc.tokens.reencryptTokens();
    if (reencrypted > 0)
      deps.logger.info({ reencrypted }, 'tokens re-encrypted with the newest key');
    if (failed.length > 0)
      deps.logger.warn(
        { failed: failed.length },
        'tokens no configured key can decrypt; those traders must connect again',
      );
  },
});
