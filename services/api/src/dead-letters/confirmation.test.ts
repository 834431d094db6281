import { loadApiConfig } from '@ctc-hub/config';
import { confirmations, type ConfirmationClaims } from './confirmation.js';

const config = (key: string) =>
  loadApiConfig({
    API_KEYS: 'k',
    HMRC_API_BASE_URL: 'http://127.0.0.1:9',
    HMRC_CLIENT_ID: 'c',
    HMRC_CLIENT_SECRET: 's',
    TOKEN_ENCRYPTION_KEY: key,
  });

const claims: ConfirmationClaims = {
  action: 'replay',
  keyId: 'abcd1234',
  filter: '[["status","open"]]',
  count: 3,
  digest: 'f'.repeat(64),
  asOf: '2026-11-21T10:00:00.000Z',
  expiresAt: Date.parse('2026-11-21T10:15:00.000Z'),
};
const before = Date.parse('2026-11-21T10:05:00.000Z');

it('verifies what it issued and gives the claims back', () => {
  const tokens = confirmations(config('1'.repeat(64)));
  expect(tokens.verify(tokens.issue(claims), before)).toEqual({ ok: true, claims });
});

it('refuses an expired confirmation', () => {
  const tokens = confirmations(config('1'.repeat(64)));
  expect(tokens.verify(tokens.issue(claims), claims.expiresAt)).toEqual({
    ok: false,
    reason: 'expired',
  });
});

it('refuses altered claims, other keys and garbage', () => {
  const tokens = confirmations(config('1'.repeat(64)));
  const [body, signature] = tokens.issue(claims).split('.') as [string, string];
  const altered = Buffer.from(JSON.stringify({ v: 1, ...claims, count: 300 }), 'utf8').toString(
    'base64url',
  );
  expect(tokens.verify(`${altered}.${signature}`, before)).toEqual({
    ok: false,
    reason: 'invalid',
  });
  const other = confirmations(config('2'.repeat(64)));
  expect(other.verify(`${body}.${signature}`, before)).toMatchObject({ ok: false });
  for (const garbage of ['', 'x', 'a.b.c', `${body}.`, `.${signature}`])
    expect(tokens.verify(garbage, before)).toMatchObject({ ok: false, reason: 'invalid' });
});
