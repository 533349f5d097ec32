/**
 * The pieces of address allocation that need no API server: IPv4 and CIDR
 * parsing, the order and limits of what a pool hands out, the `ipam`
 * section of the operator's configuration (every mistake named by field),
 * and how an allocated address and qos limits reach the provider's NIC payload.
 */
import t from 'tap';
import { parseConfig } from '../../../src/reconciler/config';
import { configProblems } from '../support/config';
import { hostRange, intToIp, ipToInt, parseCidr } from '../../../src/reconciler/ipam/addresses';
import { poolAddresses, poolOffers } from '../../../src/reconciler/ipam/allocator';
import { networkPayloads } from '../../../src/reconciler/vm/payload';
import { unsupportedFields } from '../../../src/reconciler/vm/unsupported';

const problems = configProblems;

t.test('IPv4 and CIDR parsing', async (t) => {
  t.equal(ipToInt('10.0.0.1'), 167772161);
  t.equal(intToIp(167772161), '10.0.0.1');
  t.equal(intToIp(ipToInt('255.255.255.255')!), '255.255.255.255');
  for (const bad of ['10.0.0', '10.0.0.256', '01.0.0.1', '1.2.3.4.5', '', 'a.b.c.d', '1.2.3.-1']) t.equal(ipToInt(bad), undefined, bad);
  t.same(parseCidr('10.0.0.5/24'), { base: ipToInt('10.0.0.0'), prefix: 24 }, 'host bits do not change the network');
  for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/x', '10.0.0.0/24/1', 'fd00::/8']) t.equal(parseCidr(bad), undefined, bad);
  t.same(hostRange(parseCidr('10.0.0.0/30')!), { first: ipToInt('10.0.0.1'), last: ipToInt('10.0.0.2') });
  t.same(hostRange(parseCidr('10.0.0.0/31')!), { first: ipToInt('10.0.0.0'), last: ipToInt('10.0.0.1') }, 'RFC 3021: both addresses of a /31');
  t.same(hostRange(parseCidr('10.0.0.7/32')!), { first: ipToInt('10.0.0.7'), last: ipToInt('10.0.0.7') });
});

t.test('a pool hands out its range in order, without network, broadcast, gateway and exclusions', async (t) => {
  const pool = { name: 'p', cidr: '10.1.0.0/29', gateway: '10.1.0.1', exclude: ['10.1.0.4'], dns: [], namespaces: ['*'] };
  t.same([...poolAddresses(pool)], ['10.1.0.2', '10.1.0.3', '10.1.0.5', '10.1.0.6']);
  t.same([...poolAddresses({ ...pool, start: '10.1.0.3', end: '10.1.0.5' })], ['10.1.0.3', '10.1.0.5']);
  t.ok(poolOffers(pool, '10.1.0.6'));
  for (const no of ['10.1.0.0', '10.1.0.1', '10.1.0.4', '10.1.0.7', '10.1.0.8']) t.notOk(poolOffers(pool, no), no);
  // A /8 is enumerated lazily: asking for the first addresses is instant.
  const big = poolAddresses({ name: 'big', cidr: '10.0.0.0/8', dns: [], exclude: [], namespaces: ['*'] });
  t.equal(big.next().value, '10.0.0.1');
});

t.test('the ipam section of the configuration', async (t) => {
  const c = parseConfig(`ipam:
  leaseNamespace: virtrigaud-system
  pools:
    - { name: lab, cidr: 10.30.0.0/24, start: 10.30.0.10, end: 10.30.0.99, gateway: 10.30.0.1, dns: [10.30.0.53], exclude: [10.30.0.50], namespaces: [team-a] }
`, 'c.yaml');
  t.same(c.ipam, { leaseNamespace: 'virtrigaud-system', pools: [{ name: 'lab', cidr: '10.30.0.0/24', start: '10.30.0.10', end: '10.30.0.99', gateway: '10.30.0.1', dns: ['10.30.0.53'], exclude: ['10.30.0.50'], namespaces: ['team-a'] }] });
  t.same(parseConfig('', 'c.yaml').ipam, { pools: [] }, 'no pools unless the operator lists them');
  t.same(problems(`ipam:
  pools:
    - { name: Lab, cidr: 10.30.0.0/33, namespaces: [] }
    - { name: b, cidr: 10.30.0.0/24, start: 10.31.0.1, gateway: 10.30.0.300, exclude: [10.30.1.1], namespaces: ["*"] }
    - { name: c, cidr: 10.30.0.0/24, start: 10.30.0.9, end: 10.30.0.8, namespaces: ["*"], colour: red }
    - { name: c, cidr: 10.32.0.0/24, namespaces: ["*"] }
  leaseNamespace: Not_A_Namespace
`), [
    'ipam.leaseNamespace: Invalid value: "Not_A_Namespace": must be a namespace name',
    'ipam.pools[0].name: Invalid value: "Lab": must be a DNS label (lower case letters, digits and "-")',
    'ipam.pools[0].cidr: Invalid value: "10.30.0.0/33": must be an IPv4 CIDR such as 10.20.0.0/24',
    'ipam.pools[0].namespaces: Required value: list the namespaces whose VMNetworkAttachments may use this pool ("*" for all)',
    'ipam.pools[1].start: Invalid value: "10.31.0.1": must be inside 10.30.0.0/24',
    'ipam.pools[1].gateway: Invalid value: "10.30.0.300": must be an IPv4 address',
    'ipam.pools[1].exclude[0]: Invalid value: "10.30.1.1": must be inside 10.30.0.0/24',
    'ipam.pools[2].colour: Unsupported field: not a field of the reconciler configuration',
    'ipam.pools[2].end: Invalid value: "10.30.0.8": must not come before start',
    'ipam.pools[3].name: Duplicate value: "c"',
  ]);
});

t.test('an allocated address fills the NIC payload; a NIC without one keeps its own fields', async (t) => {
  const vm: any = { metadata: { name: 'web', namespace: 'a' }, spec: { networks: [{ name: 'eth0', networkRef: { name: 'pooled' } }, { name: 'eth1', ipAddress: '192.0.2.9', prefix: 28, gateway: '192.0.2.1', dns: '192.0.2.53' }] } };
  const nets = networkPayloads(vm, new Map(), new Map([['eth0', { ip: '10.30.0.12', prefix: 24, gateway: '10.30.0.1', dns: ['10.30.0.53', '10.30.0.54'] }]]));
  t.match(nets[0], { Name: 'eth0', IPPolicy: 'static', StaticIP: '10.30.0.12', Prefix: 24, Gateway: '10.30.0.1', DNS: '10.30.0.53,10.30.0.54' });
  t.match(nets[1], { Name: 'eth1', IPPolicy: '', StaticIP: '192.0.2.9', Prefix: 28, Gateway: '192.0.2.1', DNS: '192.0.2.53' });
});

t.test('attachment qos limits go into the NIC payload; none, no fields', async (t) => {
  const vm: any = { metadata: { name: 'web', namespace: 'a' }, spec: { networks: [{ name: 'eth0', networkRef: { name: 'capped' } }, { name: 'eth1', networkRef: { name: 'open' } }] } };
  const att = (name: string, spec: any): [string, any] => [name, { metadata: { name }, spec: { network: { libvirt: { networkName: 'default' } }, ...spec } }];
  const nets = networkPayloads(vm, new Map([att('capped', { qos: { ingressLimit: 8_000_000, egressLimit: 2_000_000 } }), att('open', {})]));
  t.match(nets[0], { IngressLimit: 8_000_000, EgressLimit: 2_000_000 });
  t.notOk('IngressLimit' in nets[1]! || 'EgressLimit' in nets[1]!, 'no limit fields without qos');
});

t.test('ipAllocation None: the NIC payload says so (IPPolicy none), and only off libvirt is it listed as unapplied', async (t) => {
  const vm: any = { metadata: { name: 'web', namespace: 'a' }, spec: { networks: [{ name: 'eth0', networkRef: { name: 'bare' } }] } };
  const spec: any = { network: { libvirt: { networkName: 'default' } }, ipAllocation: { type: 'None' } };
  t.equal(networkPayloads(vm, new Map<string, any>([['bare', { metadata: { name: 'bare' }, spec }]]))[0]!.IPPolicy, 'none');
  t.same(unsupportedFields(vm, () => spec, 'libvirt'), []);
  t.match(unsupportedFields(vm, () => spec, 'vsphere'), [/^VMNetworkAttachment bare: spec\.ipAllocation\.type: Unsupported value: type None/]);
});

