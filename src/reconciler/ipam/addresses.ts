/**
 * IPv4 arithmetic for the address allocator: the CRDs only take IPv4
 * (VMNetworkAttachment patterns IPV4 and IPV4-CIDR), so a 32-bit integer is
 * the whole model.
 */

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export interface Cidr {
  /** The network address. */
  readonly base: number;
  readonly prefix: number;
}

/** `10.0.0.0/24` (host bits may be set, as in `10.0.0.5/24`: the network is still 10.0.0.0/24). */
export function parseCidr(s: string): Cidr | undefined {
  const [ip, bits, extra] = s.split('/');
  if (extra !== undefined || bits === undefined || !/^\d{1,2}$/.test(bits)) return undefined;
  const prefix = Number(bits);
  const n = ip === undefined ? undefined : ipToInt(ip);
  if (n === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  return { base: n - (n % size), prefix };
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function cidrContains(c: Cidr, n: number): boolean {
  return n >= c.base && n < c.base + cidrSize(c);
}

/**
 * The host addresses of a network as DHCP servers hand them out: without
 * the network and broadcast addresses (except in /31 and /32, RFC 3021).
 */
export function hostRange(c: Cidr): { first: number; last: number } {
  const size = cidrSize(c);
  return size <= 2 ? { first: c.base, last: c.base + size - 1 } : { first: c.base + 1, last: c.base + size - 2 };
}
