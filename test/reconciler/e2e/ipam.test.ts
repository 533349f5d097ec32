/**
 * VMNetworkAttachment `ipAllocation` on the real API server: Pool addresses
 * come from an operator pool, one Lease per address, never the same address
 * twice even when VMs are created all at once; a full pool makes VMs wait
 * (IPPoolExhausted) until an address is released; a Static address has one
 * holder at a time; what a tenant may not use (another namespace's pool, an
 * address inside an operator pool, an unknown pool, its own ipAddress on an
 * allocating attachment) is refused with the field and the rule, and no
 * Lease is made for it. The in-memory provider reports the static address
 * its create request carried as the guest's address.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import type { ReconcilerConfig } from '../../../src/reconciler/config';
import { condition, createFixtures, operatorEnv, testConfig, vmObject, type OperatorEnv, type RunningOperator } from '../support/env';

let env: OperatorEnv;
let config: ReconcilerConfig;
let operator: RunningOperator;
const API = 'infra.virtrigaud.io/v1beta1';

const attachment = (name: string, ipAllocation: Record<string, unknown>) => ({
  apiVersion: API, kind: 'VMNetworkAttachment', metadata: { name, namespace: env.ns }, spec: { network: { libvirt: { networkName: 'default' } }, ipAllocation },
});
const onNet = (name: string, net: string, nic: Record<string, unknown> = {}) => vmObject(env.ns, name, { networks: [{ name: 'eth0', networkRef: { name: net }, ...nic }] });
const leases = async (scope: string) => (await env.admin.list(CoreResources.leases, env.ns, { labelSelector: `ipam.virtrigaud.io/scope=${scope}` })).items;
const running = (o: any) => o.status?.phase === 'Running' && condition(o, 'Ready')?.status === 'True';
const reasonIs = (reason: string) => (o: any) => condition(o, 'Ready')?.reason === reason;
const deleteVm = async (name: string) => {
  await env.admin.delete(Kinds.VirtualMachine, env.ns, name);
  const deadline = Date.now() + 30_000;
  while (await env.admin.get(Kinds.VirtualMachine, env.ns, name)) {
    if (Date.now() > deadline) throw new Error(`VM ${name} not deleted`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

t.before(async () => {
  env = await operatorEnv(t);
  await createFixtures(env);
  // VMs kept on disk, so that they outlive a reconciler restart.
  const base = testConfig([env.ns]);
  const stateDir = mkdtempSync(join(tmpdir(), 'ipam-memory-'));
  t.teardown(() => rmSync(stateDir, { recursive: true, force: true }));
  config = {
    ...base,
    inProcessProviders: [{ ...base.inProcessProviders[0]!, memory: { stateDir } }],
    ipam: {
      pools: [
        // Hosts .1–.6; .1 is the gateway and .2 excluded: four addresses to hand out.
        { name: 'lab', cidr: '10.30.0.0/29', gateway: '10.30.0.1', exclude: ['10.30.0.2'], dns: ['10.30.0.53'], namespaces: [env.ns] },
        { name: 'team-b', cidr: '10.40.0.0/24', dns: [], exclude: [], namespaces: ['team-b'] },
      ],
    },
  };
  for (const a of [
    attachment('pooled', { type: 'Pool', poolConfig: { poolRef: { name: 'lab' } } }),
    attachment('fixed', { type: 'Static', staticConfig: { address: '192.168.50.10/24', gateway: '192.168.50.1' } }),
    attachment('foreign', { type: 'Pool', poolConfig: { poolRef: { name: 'team-b' } } }),
    attachment('squat', { type: 'Static', staticConfig: { address: '10.30.0.3/29' } }),
    attachment('nosuch', { type: 'Pool', poolConfig: { poolRef: { name: 'nosuch' } } }),
  ]) await env.admin.create(Kinds.VMNetworkAttachment, a);
  operator = await env.start({ config, systemNamespace: env.ns });
});

t.test('six VMs created at once on a four-address pool: four distinct addresses, two wait, releases go to the waiting ones', async (t) => {
  const names = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'];
  await Promise.all(names.map((n) => env.admin.create(Kinds.VirtualMachine, onNet(n, 'pooled'))));
  const pool = new Set(['10.30.0.3', '10.30.0.4', '10.30.0.5', '10.30.0.6']);
  const settled = async () => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const vms = await Promise.all(names.map((n) => env.admin.get<any>(Kinds.VirtualMachine, env.ns, n)));
      const live = vms.filter((v) => v);
      const up = live.filter(running);
      const waiting = live.filter(reasonIs('IPPoolExhausted'));
      if (up.length === Math.min(4, live.length) && up.length + waiting.length === live.length) return { up, waiting };
      if (Date.now() > deadline) throw new Error(`not settled: ${JSON.stringify(live.map((v) => [v.metadata.name, v.status?.phase, condition(v, 'Ready')?.reason]))}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const { up: first, waiting } = await settled();
  let up = first;
  const ips = up.map((v) => v.status.ips?.[0]);
  t.equal(new Set(ips).size, 4, `four distinct addresses: ${ips.join(', ')}`);
  t.ok(ips.every((ip) => pool.has(ip)), 'all from the range, never the gateway or the excluded address');
  t.equal(waiting.length, 2);
  const c = condition(waiting[0], 'Ready')!;
  t.match(c.message, /VMNetworkAttachment pooled: spec\.ipAllocation\.poolConfig\.poolRef\.name: IP pool "lab" has no free address/);
  t.equal(waiting[0].status.phase, 'Pending');
  t.equal(waiting[0].status.id, undefined, 'nothing was created for a VM without its address');
  const ev = (await env.admin.list(CoreResources.events, env.ns, { fieldSelector: `involvedObject.name=${waiting[0].metadata.name},reason=IPPoolExhausted` })).items;
  t.equal(ev[0]?.type, 'Warning', 'a Warning Event says why it waits');
  const held = await leases('p.lab');
  t.same(held.map((l: any) => l.metadata.annotations['ipam.virtrigaud.io/address']).sort(), [...ips].sort(), 'one Lease per address handed out');
  t.ok(held.every((l: any) => up.some((v) => v.metadata.uid === l.metadata.labels['ipam.virtrigaud.io/vm-uid'])), 'each Lease names the VM that holds it');
  // The attachment's status: six VMs on it, the four addresses and who holds each, the Provider it is used on.
  const net = await env.waitFor(Kinds.VMNetworkAttachment, 'pooled', (o: any) => o.status?.ipAllocations?.length === 4 && o.status?.connectedVMs === 6, 'four allocations, six VMs');
  t.same(net.status.ipAllocations.map((a: any) => a.ip), [...ips].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })), 'sorted by address');
  t.same(net.status.ipAllocations.map((a: any) => a.vm).sort(), up.map((v) => v.metadata.name).sort(), 'each with its VM');
  t.ok(net.status.ipAllocations.every((a: any) => /^\d{4}-\d\d-\d\dT/.test(a.allocatedAt)), 'and when it was allocated');
  t.same([net.status.phase, net.status.ready, net.status.availableOn], ['Ready', true, ['lab']]);
  t.equal(condition(net, 'Ready')?.message, '6 VMs connected, 4 addresses allocated');

  // Two holders go; their addresses go to the two that waited.
  const freed = up.slice(0, 2).map((v) => v.metadata.name);
  const freedIps = up.slice(0, 2).map((v) => v.status.ips[0]).sort();
  await Promise.all(freed.map(deleteVm));
  const kept = names.filter((n) => !freed.includes(n));
  up = await (async () => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const vms = await Promise.all(kept.map((n) => env.admin.get<any>(Kinds.VirtualMachine, env.ns, n)));
      if (vms.every(running)) return vms;
      if (Date.now() > deadline) throw new Error('the waiting VMs did not get the released addresses');
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const after = up.map((v) => v.status.ips[0]);
  t.equal(new Set(after).size, 4, `still four distinct addresses: ${after.join(', ')}`);
  const newcomers = up.filter((v) => !ips.includes(v.status.ips[0])).map((v) => v.status.ips[0]);
  t.same(newcomers.sort(), [], 'no address outside the four');
  t.same(up.filter((v) => freedIps.includes(v.status.ips[0])).length, 2, 'the released addresses were handed out again');
  t.equal((await leases('p.lab')).length, 4);

  await Promise.all(kept.map(deleteVm));
  t.equal((await leases('p.lab')).length, 0, 'deleting the VMs releases every address');
});

t.test('an attachment whose ipAllocation cannot be served says so in its own status', async (t) => {
  for (const [name, message] of [
    ['foreign', /IP pool "team-b" is not offered to namespace/],
    ['squat', /10\.30\.0\.3 lies in the operator's IP pool "lab"/],
    ['nosuch', /Not found: "nosuch"/],
  ] as const) {
    const a = await env.waitFor(Kinds.VMNetworkAttachment, name, (o: any) => o.status?.phase === 'Failed', 'Failed');
    t.equal(condition(a, 'Ready')?.reason, 'IPAllocationRefused', name);
    t.match(condition(a, 'Ready')?.message, message, name);
    t.equal(a.status.ready, false);
  }
});

t.test('a Static address has one holder at a time; the second VM waits and gets it when the first goes', async (t) => {
  await env.admin.create(Kinds.VirtualMachine, onNet('s1', 'fixed'));
  const s1 = await env.waitFor(Kinds.VirtualMachine, 's1', running, 'Running');
  t.same(s1.status.ips, ['192.168.50.10']);
  await env.admin.create(Kinds.VirtualMachine, onNet('s2', 'fixed'));
  const s2 = await env.waitFor(Kinds.VirtualMachine, 's2', reasonIs('AddressInUse'), 'AddressInUse');
  t.match(condition(s2, 'Ready')!.message, new RegExp(`spec\\.ipAllocation\\.staticConfig\\.address: Invalid value: "192\\.168\\.50\\.10": already in use by VirtualMachine ${env.ns}/s1`));
  t.equal(s2.status.id, undefined);
  await deleteVm('s1');
  const moved = await env.waitFor(Kinds.VirtualMachine, 's2', running, 'Running with the address');
  t.same(moved.status.ips, ['192.168.50.10']);
  const held = await leases(`s.${env.ns}`);
  t.equal(held.length, 1);
  t.equal(held[0].spec.holderIdentity, `${env.ns}/s2/eth0`);
  await deleteVm('s2');
  t.equal((await leases(`s.${env.ns}`)).length, 0);
});

t.test('what a tenant may not use is refused with the field and the rule, and no Lease is made', async (t) => {
  const cases: [string, any, RegExp][] = [
    ['a1', onNet('a1', 'foreign'), /VMNetworkAttachment foreign: spec\.ipAllocation\.poolConfig\.poolRef\.name: Forbidden: IP pool "team-b" is not offered to namespace /],
    ['a2', onNet('a2', 'squat'), /VMNetworkAttachment squat: spec\.ipAllocation\.staticConfig\.address: Forbidden: 10\.30\.0\.3 lies in the operator's IP pool "lab"/],
    ['a3', onNet('a3', 'nosuch'), /spec\.ipAllocation\.poolConfig\.poolRef\.name: Not found: "nosuch": the reconciler configuration has no such IP pool/],
    ['a4', onNet('a4', 'pooled', { ipAddress: '10.30.0.4' }), /spec\.networks\[0\]\.ipAddress: Forbidden: VMNetworkAttachment pooled allocates the address/],
  ];
  for (const [, obj] of cases) await env.admin.create(Kinds.VirtualMachine, obj);
  for (const [name, , message] of cases) {
    const vm = await env.waitFor(Kinds.VirtualMachine, name, reasonIs('IPAllocationRefused'), 'IPAllocationRefused');
    t.match(condition(vm, 'Ready')!.message, message, name);
    t.equal(vm.status.phase, 'Pending');
    t.equal(vm.status.id, undefined, `${name}: nothing created`);
  }
  const all = (await env.admin.list(CoreResources.leases, env.ns, { labelSelector: 'ipam.virtrigaud.io/vm-uid' })).items;
  t.same(all.map((l: any) => l.metadata.name), [], 'no address Lease for any refused VM');
  await Promise.all(cases.map(([n]) => deleteVm(n)));
});

t.test('a restarted reconciler finds the addresses already held: no second Lease, the same address', async (t) => {
  await env.admin.create(Kinds.VirtualMachine, onNet('r1', 'pooled'));
  const before = await env.waitFor(Kinds.VirtualMachine, 'r1', running, 'Running');
  const first = before.status.ips[0];
  await operator.stop();
  operator = await env.start({ config, systemNamespace: env.ns });
  // A reconfigure re-claims the NIC's address for its payload.
  await env.admin.patch(Kinds.VirtualMachine, env.ns, 'r1', { spec: { resources: { cpu: 3 } } }, { type: 'merge' });
  await env.waitFor(Kinds.VirtualMachine, 'r1', (o: any) => o.status?.currentResources?.cpu === 3 && running(o), 'reconfigured');
  const held = await leases('p.lab');
  t.equal(held.length, 1, 'one Lease');
  t.equal(held[0].metadata.annotations['ipam.virtrigaud.io/address'], first);
  t.same((await env.admin.get<any>(Kinds.VirtualMachine, env.ns, 'r1')).status.ips, [first]);
  await deleteVm('r1');
});

t.test('a reconciler that may not read Leases still deletes VMs that never had an address', async (t) => {
  await operator.stop();
  // The test's ServiceAccount has no Role in virtrigaud-system: every Lease request there is Forbidden.
  operator = await env.start({ config, systemNamespace: 'virtrigaud-system' });
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'no-ipam'));
  await env.waitFor(Kinds.VirtualMachine, 'no-ipam', running, 'Running');
  await deleteVm('no-ipam');
  t.equal(await env.admin.get(Kinds.VirtualMachine, env.ns, 'no-ipam'), undefined, 'deleted without hanging on the Leases it cannot read');
  const pooled = await env.admin.create(Kinds.VirtualMachine, onNet('no-lease', 'pooled'));
  const refused = await env.waitFor(Kinds.VirtualMachine, pooled.metadata.name, reasonIs('IPAllocationFailed'), 'IPAllocationFailed');
  t.match(condition(refused, 'Ready')!.message, /recording the NICs' addresses: .*forbidden/i, 'a claim it cannot record is a clear condition, and nothing is created');
  t.equal(refused.status.id, undefined);
  await deleteVm('no-lease');
});
