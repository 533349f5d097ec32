/**
 * Outbound connections the host makes on a tenant's behalf (image URLs,
 * lifecycle httpGet hooks), confined to address ranges the operator
 * allows. A hostname is resolved once, every address it resolves to is
 * checked, and the socket connects to a checked address (the request's
 * `lookup` hands back exactly those), so a DNS answer that changes between
 * the check and the connect (rebinding) cannot move the request elsewhere.
 * Redirects are never followed here; callers that follow them check each
 * hop again.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { ProviderError } from '../provider';

/** An IP address as a number: 32 bits (v4) or 128 bits (v6). */
interface Ip {
  readonly v: 4 | 6;
  readonly n: bigint;
}

export interface Cidr {
  readonly text: string;
  readonly v: 4 | 6;
  readonly base: bigint;
  readonly bits: number;
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = (n << 8n) | BigInt(Number(p));
  }
  return n;
}

function parseV6(s: string): bigint | undefined {
  const text = s.replace(/%.*$/, ''); // zone id (fe80::1%eth0)
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    const parts = h.split(':');
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseV4(p);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-f]{1,4}$/i.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let n = 0n;
  for (const g of [...head, ...new Array<number>(missing).fill(0), ...tail]) n = (n << 16n) | BigInt(g);
  return n;
}

/** Parses an address; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) counts as the IPv4 address it carries. */
function parseIp(s: string): Ip | undefined {
  const v4 = parseV4(s);
  if (v4 !== undefined) return { v: 4, n: v4 };
  const v6 = parseV6(s);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { v: 4, n: v6 & 0xffffffffn };
  return { v: 6, n: v6 };
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128). Throws on anything else. */
export function parseCidr(text: string): Cidr {
  const [addr = '', len, extra] = text.trim().split('/');
  const ip = extra === undefined ? parseIp(addr) : undefined;
  const max = ip?.v === 4 && !addr.includes(':') ? 32 : 128;
  const bits = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!ip || !(bits >= 0 && bits <= max)) throw new Error(`"${text}" is not a CIDR (for example 10.0.0.0/8 or 2001:db8::/32)`);
  // A mapped IPv6 range (::ffff:10.0.0.0/104) is the IPv4 range it covers.
  const v = ip.v;
  const width = v === 4 ? 32 : 128;
  const b = max === 128 && v === 4 ? Math.max(0, bits - 96) : bits;
  const mask = ((1n << BigInt(width)) - 1n) ^ ((1n << BigInt(width - b)) - 1n);
  return { text: text.trim(), v, base: ip.n & mask, bits: b };
}

function contains(c: Cidr, ip: Ip): boolean {
  if (c.v !== ip.v) return false;
  const width = c.v === 4 ? 32 : 128;
  return ip.n >> BigInt(width - c.bits) === c.base >> BigInt(width - c.bits) || c.bits === 0;
}

/** `inner` lies entirely inside `outer`. */
function within(inner: Cidr, outer: Cidr): boolean {
  return inner.v === outer.v && inner.bits >= outer.bits && contains(outer, { v: inner.v, n: inner.base });
}

/**
 * Ranges no tenant request may reach unless the operator lists a range
 * inside them: this host (loopback, 0.0.0.0/8 and :: reach local
 * services on Linux) and link-local (cloud metadata services at
 * 169.254.169.254, fe80::/10). A broad allowance such as 0.0.0.0/0 does
 * not open them; only a listed CIDR that lies inside one (for example
 * 127.0.0.0/8 or 127.0.0.1/32) does.
 */
export const ALWAYS_REFUSED_CIDRS: readonly string[] = ['127.0.0.0/8', '0.0.0.0/8', '169.254.0.0/16', '::1/128', '::/128', 'fe80::/10'];
const REFUSED = ALWAYS_REFUSED_CIDRS.map(parseCidr);

/** Parses the operator's CIDR list (throws InvalidSpec naming the bad entry). */
export function parseCidrs(list: readonly string[], field: string): Cidr[] {
  return list.map((c) => {
    try {
      return parseCidr(c);
    } catch (e) {
      throw new ProviderError('InvalidSpec', `${field}: ${(e as Error).message}`);
    }
  });
}

/**
 * Why `address` may not be reached ("is not in ...", "is in ..."), or
 * undefined when it may: it must lie in one of `allowed` (or be one of
 * `exact`, e.g. the VM's own addresses), and an always-refused address
 * must lie in a listed range inside its refused range. `allowedText`
 * names what is allowed in the message.
 */
export function addressRefusal(address: string, allowed: readonly Cidr[], exact: readonly string[] = [], allowedText?: string): string | undefined {
  const ip = parseIp(address);
  if (!ip) return 'is not an IP address';
  const special = REFUSED.find((r) => contains(r, ip));
  if (special) {
    const opened = allowed.some((c) => contains(c, ip) && within(c, special));
    return opened ? undefined : `is in ${special.text}, which is refused unless the operator lists a range inside it`;
  }
  const same = (s: string) => {
    const o = parseIp(s);
    return !!o && o.v === ip.v && o.n === ip.n;
  };
  if (exact.some(same) || allowed.some((c) => contains(c, ip))) return undefined;
  return `is not in ${allowedText ?? `the address ranges allowed by the operator (${allowed.length ? allowed.map((c) => c.text).join(', ') : 'none'})`}`;
}

export interface CheckedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Brackets off: `[::1]` → `::1`. */
export function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/**
 * Resolves `hostname` (an IP literal resolves to itself) and checks every
 * address; one refused address refuses the host (an answer mixing an
 * allowed and a refused address is how rebinding attacks start).
 * Throws InvalidSpec with `what` and the reason.
 */
export async function resolveChecked(
  hostname: string, what: string, allowed: readonly Cidr[], exact: readonly string[] = [], allowedText?: string,
): Promise<CheckedAddress[]> {
  const host = bareHost(hostname);
  let addrs: CheckedAddress[];
  if (isIP(host)) {
    addrs = [{ address: host, family: isIP(host) as 4 | 6 }];
  } else {
    try {
      addrs = (await dnsLookup(host, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family as 4 | 6 }));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ProviderError(code === 'ENOTFOUND' ? 'InvalidSpec' : 'Retryable', `${what}: cannot resolve host "${host}": ${code ?? (e as Error).message}`);
    }
    if (!addrs.length) throw new ProviderError('InvalidSpec', `${what}: host "${host}" has no address`);
  }
  for (const a of addrs) {
    const why = addressRefusal(a.address, allowed, exact, allowedText);
    if (why) {
      const subject = isIP(host) ? `address ${host}` : `host "${host}" resolves to ${a.address}, which`;
      throw new ProviderError('InvalidSpec', `${what}: ${subject} ${why}`);
    }
  }
  return addrs;
}

/** A `lookup` that answers only with the checked addresses, whatever name it is asked for. */
function pinnedLookup(addrs: readonly CheckedAddress[]): LookupFunction {
  return ((_host: string, opts: { all?: boolean } | number | undefined, cb: (...args: unknown[]) => void) => {
    const all = typeof opts === 'object' && opts?.all;
    if (all) cb(null, addrs.map((a) => ({ address: a.address, family: a.family })));
    else cb(null, addrs[0]!.address, addrs[0]!.family);
  }) as unknown as LookupFunction;
}

export interface PinnedRequestOptions {
  readonly signal?: AbortSignal;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * One GET of `url` (http or https) connected to one of `addrs`, which the
 * caller checked for `url`'s host. The response is returned whatever its
 * status (redirects included: nothing is followed). TLS still verifies the
 * certificate against the URL's host name.
 */
export function pinnedGet(url: URL, addrs: readonly CheckedAddress[], opts: PinnedRequestOptions = {}): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request({
      protocol: url.protocol,
      hostname: bareHost(url.hostname),
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      headers: { 'user-agent': 'virtrigaud', ...opts.headers },
      lookup: pinnedLookup(addrs),
      agent: false,
      signal: opts.signal,
    }, resolve);
    req.on('error', reject);
    req.end();
  });
}
