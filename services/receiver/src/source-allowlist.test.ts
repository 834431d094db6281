// Risk retired: the source allow-list letting in an address it should not (spoofed
// X-Forwarded-For, IPv4-mapped IPv6 peers, a typo in a range that silently allows everyone).
import { sourcePolicy } from './source-allowlist.js';

const policy = sourcePolicy({
  allowedCidrs: ['203.0.113.0/24', '2001:db8:1::/48', '198.51.100.7'],
  trustedProxyCidrs: ['10.0.0.0/8'],
});
const from = (peer: string, forwardedFor?: string) =>
  policy.allows(policy.clientAddress(peer, forwardedFor));

it('allows addresses inside the ranges, IPv4 and IPv6, mapped or not', () => {
  expect(from('203.0.113.9')).toBe(true);
  expect(from('::ffff:203.0.113.9')).toBe(true);
  expect(from('198.51.100.7')).toBe(true);
  expect(from('2001:db8:1:2::5')).toBe(true);
});

it('refuses addresses outside them', () => {
  expect(from('198.51.100.8')).toBe(false);
  expect(from('203.0.114.1')).toBe(false);
  expect(from('2001:db8:2::1')).toBe(false);
  expect(from('127.0.0.1')).toBe(false);
});

it('believes X-Forwarded-For only from a trusted proxy', () => {
  expect(from('10.1.2.3', '203.0.113.9')).toBe(true);
  expect(from('10.1.2.3', '192.0.2.1')).toBe(false);
  // A client that is not a proxy claims an allowed address: its own address decides.
  expect(from('192.0.2.1', '203.0.113.9')).toBe(false);
  // The client prepends a fake entry; the nearest untrusted hop is what the proxy saw.
  expect(from('10.1.2.3', '203.0.113.9, 192.0.2.1')).toBe(false);
  expect(from('10.1.2.3', '192.0.2.1, 203.0.113.9')).toBe(true);
  // Through two trusted proxies.
  expect(from('10.1.2.3', '203.0.113.9, 10.9.9.9')).toBe(true);
  // Garbage in the chain is refused, not skipped.
  expect(from('10.1.2.3', 'not-an-ip')).toBe(false);
});

it('allows everyone when no ranges are configured', () => {
  const open = sourcePolicy({ allowedCidrs: [], trustedProxyCidrs: [] });
  expect(open.allows(open.clientAddress('192.0.2.1', undefined))).toBe(true);
});

it('refuses to start with a range it cannot read, naming the setting', () => {
  for (const bad of ['203.0.113.0/33', '203.0.113/24', 'example.com', '10.0.0.0/8/1', '::1/x'])
    expect(() => sourcePolicy({ allowedCidrs: [bad], trustedProxyCidrs: [] })).toThrow(
      /RECEIVER_ALLOWED_CIDRS: ".*" is not an IP address or CIDR range/,
    );
  expect(() => sourcePolicy({ allowedCidrs: [], trustedProxyCidrs: ['nope'] })).toThrow(
    /RECEIVER_TRUSTED_PROXY_CIDRS/,
  );
});
