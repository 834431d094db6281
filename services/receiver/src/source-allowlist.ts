import { BlockList, isIP } from 'node:net';

/**
 * Which source addresses may POST notifications. HMRC publishes the addresses PPNS pushes from;
 * an operator who lists them in RECEIVER_ALLOWED_CIDRS makes the callback refuse (403) anyone
 * else before a byte of the body is read. Behind a load balancer the peer is the balancer, so
 * the client address is taken from X-Forwarded-For, but only when the peer is one of
 * RECEIVER_TRUSTED_PROXY_CIDRS: otherwise anyone could claim any address in that header.
 */
export interface SourcePolicy {
  /** The client address of a request, or undefined when it cannot be told. */
  clientAddress: (peer: string | undefined, forwardedFor: string | undefined) => string | undefined;
  /** True when `address` may send notifications. */
  allows: (address: string | undefined) => boolean;
}

/** Parses `10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7` (a single address); throws naming the entry. */
export function cidrList(entries: readonly string[], setting: string): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [rawAddress, prefixText, extra] = entry.split('/');
    const address = normalise(rawAddress ?? '');
    const family = isIP(address);
    const maxPrefix = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
    if (
      family === 0 ||
      extra !== undefined ||
      !Number.isInteger(prefix) ||
      prefix < 0 ||
      prefix > maxPrefix ||
      (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText))
    )
      throw new Error(`${setting}: "${entry}" is not an IP address or CIDR range`);
    list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

/** `::ffff:192.0.2.7` (an IPv4 peer on a dual-stack socket) → `192.0.2.7`. */
function normalise(address: string): string {
  const trimmed = address.trim();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(trimmed);
  return mapped ? mapped[1]! : trimmed;
}

function contains(list: BlockList, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export function sourcePolicy(options: {
  allowedCidrs: readonly string[];
  trustedProxyCidrs: readonly string[];
}): SourcePolicy {
  const allowed =
    options.allowedCidrs.length > 0
      ? cidrList(options.allowedCidrs, 'RECEIVER_ALLOWED_CIDRS')
      : undefined;
  const proxies = cidrList(options.trustedProxyCidrs, 'RECEIVER_TRUSTED_PROXY_CIDRS');

  return {
    clientAddress: (peer, forwardedFor) => {
      if (peer === undefined) return undefined;
      let address = normalise(peer);
      if (forwardedFor === undefined || !contains(proxies, address)) return address;
      // Walk the chain from the nearest hop: each trusted proxy vouches for the one before it;
      // the first address not ours is the client. A malformed entry ends the walk (refused).
      const hops = forwardedFor.split(',').map(normalise).reverse();
      for (const hop of hops) {
        if (isIP(hop) === 0) return undefined;
        address = hop;
        if (!contains(proxies, hop)) return hop;
      }
      return address;
    },
    allows: (address) =>
      allowed === undefined || (address !== undefined && contains(allowed, address)),
  };
}
