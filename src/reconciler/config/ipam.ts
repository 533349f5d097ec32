/**
 * Reads `ipam` of the reconciler configuration: the operator's address
 * pools, each checked so that the allocator never has to guess (a range
 * inside its subnet, a gateway and exclusions inside it, unique names).
 */
import { cidrContains, hostRange, ipToInt, parseCidr } from '../ipam/addresses';
import type { Reader } from './load';
import type { IpamSettings, IpPoolSettings } from './types';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ipv4 = (s: string) => (ipToInt(s) === undefined ? 'must be an IPv4 address' : undefined);

export function readIpam(r: Reader, v: unknown): IpamSettings {
  const o = r.obj('ipam', v);
  if (!o) return { pools: [] };
  r.known('ipam', o, ['leaseNamespace', 'pools']);
  const leaseNamespace = r.str('ipam.leaseNamespace', o.leaseNamespace, (s) => (DNS_LABEL.test(s) && s.length <= 63 ? undefined : 'must be a namespace name'));
  const pools: IpPoolSettings[] = [];
  if (o.pools !== undefined && o.pools !== null && !Array.isArray(o.pools)) r.fail('ipam.pools', 'Invalid value: must be a list');
  const seen = new Set<string>();
  (Array.isArray(o.pools) ? o.pools : []).forEach((p, i) => {
    const pool = readPool(r, `ipam.pools[${i}]`, p);
    if (!pool) return;
    if (seen.has(pool.name)) r.fail(`ipam.pools[${i}].name`, `Duplicate value: ${JSON.stringify(pool.name)}`);
    seen.add(pool.name);
    pools.push(pool);
  });
  return { ...(leaseNamespace ? { leaseNamespace } : {}), pools };
}

function readPool(r: Reader, path: string, v: unknown): IpPoolSettings | undefined {
  const o = r.obj(path, v);
  if (!o) {
    if (v === undefined || v === null) r.fail(path, 'Required value');
    return undefined;
  }
  r.known(path, o, ['name', 'cidr', 'start', 'end', 'gateway', 'dns', 'exclude', 'namespaces']);
  const name = r.str(`${path}.name`, o.name, (s) => (DNS_LABEL.test(s) && s.length <= 63 ? undefined : 'must be a DNS label (lower case letters, digits and "-")'));
  if (o.name === undefined) r.fail(`${path}.name`, 'Required value');
  const cidr = r.str(`${path}.cidr`, o.cidr, (s) => (parseCidr(s) ? undefined : 'must be an IPv4 CIDR such as 10.20.0.0/24'));
  if (o.cidr === undefined) r.fail(`${path}.cidr`, 'Required value');
  const net = cidr ? parseCidr(cidr) : undefined;
  const inside = (s: string) => ipv4(s) ?? (net && !cidrContains(net, ipToInt(s)!) ? `must be inside ${cidr}` : undefined);
  const start = r.str(`${path}.start`, o.start, inside);
  const end = r.str(`${path}.end`, o.end, inside);
  const gateway = r.str(`${path}.gateway`, o.gateway, inside);
  const dns = r.strings(`${path}.dns`, o.dns, ipv4) ?? [];
  const exclude = r.strings(`${path}.exclude`, o.exclude, inside) ?? [];
  const namespaces = r.strings(`${path}.namespaces`, o.namespaces, (s) => (s === '*' || DNS_LABEL.test(s) ? undefined : 'must be a namespace name or "*"'));
  if (!namespaces?.length) r.fail(`${path}.namespaces`, 'Required value: list the namespaces whose VMNetworkAttachments may use this pool ("*" for all)');
  if (net) {
    const hosts = hostRange(net);
    const first = start ? ipToInt(start)! : hosts.first;
    const last = end ? ipToInt(end)! : hosts.last;
    if (first > last) r.fail(`${path}.end`, `Invalid value: ${JSON.stringify(end ?? '')}: must not come before start`);
  }
  if (!name || !cidr || !namespaces?.length) return undefined;
  return { name, cidr, dns, exclude, namespaces, ...(start ? { start } : {}), ...(end ? { end } : {}), ...(gateway ? { gateway } : {}) };
}
