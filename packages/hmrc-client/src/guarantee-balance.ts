import { parseJsonWith, refused, sendWithToken, type CallOptions } from './bearer.js';
import { parseGuaranteeBalance, type GuaranteeBalance } from './ctc-responses.js';
import type { HmrcResult } from './errors.js';
import { guaranteeBalancePath } from './paths.js';
import type { HmrcTransport } from './transport.js';

/**
 * Guarantee Balance API v2.0 (reference §5), scope common-transit-convention-guarantee-balance.
 * HMRC allows one request per minute per GRN and burns that minute even on a wrong access code,
 * so a 429 here means "this GRN, later", not "slow down everything".
 */
export async function checkGuaranteeBalance(
  transport: HmrcTransport,
  grn: string,
  accessCode: string,
  token: string,
  options: CallOptions,
): Promise<HmrcResult<{ balance: GuaranteeBalance }>> {
  const path = guaranteeBalancePath(grn);
  if (!path.ok) return path;
  // The access code is a secret: it goes in the body only, never into a message.
  if (typeof accessCode !== 'string' || !/^[A-Za-z0-9]{4}$/.test(accessCode)) {
    return refused('access code must be four letters or digits');
  }
  const result = await sendWithToken(transport, token, {
    endpoint: 'POST /customs/guarantees/{grn}/balance',
    method: 'POST',
    path: path.path,
    headers: { accept: 'application/vnd.hmrc.2.0+json', 'content-type': 'application/json' },
    body: JSON.stringify({ accessCode }),
    maxBytes: 64 * 1024,
    signal: options.signal,
  });
  if (!result.ok) return result;
  const balance = parseJsonWith(result.response, parseGuaranteeBalance);
  return balance.ok ? { ok: true, balance: balance.value } : balance;
}
