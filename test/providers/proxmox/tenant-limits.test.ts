/**
 * Attack: a tenant (a user confined to its namespace) picks the Proxmox
 * node or storage of an operator instance that lists none, through the
 * reconciler on the real API server with fakepve behind it. The operator's
 * empty lists mean "nothing the tenant chooses": a VM naming another node
 * or any storage is refused with a condition that says so and nothing is
 * made on PVE; a Provider default naming one is refused; a VM that names
 * neither runs on the template's node and storage.
 */
import t from 'tap';
import { ProviderRegistry } from '../../../src/providers/registry';
import { registerProxmoxProvider } from '../../../src/providers/proxmox';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources, type ResourceType } from '../../../src/reconciler/runtime';
import { condition, operatorEnv, testConfig, vmObject } from '../../reconciler/support/env';
import { eventually } from '../../support/eventually';
import { tenantIn } from '../../security/tenant';
import { startFakePve } from './fakepve';

const API = 'infra.virtrigaud.io/v1beta1';

t.test('a tenant cannot choose the node or storage when the operator lists none', async (t) => {
  const env = await operatorEnv(t);
  const pve = await startFakePve(t);
  const registry = registerProxmoxProvider(new ProviderRegistry());
  await env.start({ registry, config: testConfig([env.ns], { instances: [{ name: 'pve', driver: 'proxmox', namespaces: [env.ns], proxmox: { endpoints: [pve.url], nodes: [], storages: [], bridges: ['vmbr0'] } }] }) });
  const ns = env.ns;
  const tenant = await tenantIn(env, ns);
  const c = tenant.client;
  const get = (rt: ResourceType, name: string) => env.admin.get<any>(rt, ns, name);
  const provider = (name: string, defaults?: Record<string, string>) => ({
    apiVersion: API, kind: 'Provider', metadata: { name, namespace: ns, annotations: { 'virtrigaud.io/in-process': 'pve' } },
    spec: { type: 'proxmox', endpoint: pve.url, credentialSecretRef: { name: 'pve-creds' }, ...(defaults ? { defaults } : {}), runtime: { image: 'example.invalid/provider:v1', service: { tls: { enabled: false } } } },
  });
  await c.create(CoreResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pve-creds', namespace: ns }, stringData: { tokenId: pve.tokenId, tokenSecret: pve.tokenSecret, 'ca.crt': pve.ca } });
  await c.create(Kinds.Provider, provider('pve'));
  await c.create(Kinds.VMClass, { apiVersion: API, kind: 'VMClass', metadata: { name: 'small', namespace: ns }, spec: { cpu: 1, memory: '1Gi' } });
  // The VMImage's node and storage are the tenant's words too: the template's node is where PVE says it is.
  await c.create(Kinds.VMImage, { apiVersion: API, kind: 'VMImage', metadata: { name: 'ubuntu', namespace: ns }, spec: { source: { proxmox: { templateID: pve.templateId } } } });
  const onPve = async (name: string) => (await pve.vms()).filter((v) => v.name === name);
  const refused = (rt: ResourceType, name: string, reason: string, type: string, re: RegExp): Promise<{ message: string }> =>
    eventually(`${rt.kind} ${name} ${type}=False/${reason} matching ${re}`, async () => {
      const cond = condition(await get(rt, name), type);
      return cond?.status === 'False' && cond.reason === reason && re.test(cond.message) ? cond : undefined;
    }, 60_000, 200) as Promise<{ message: string }>;

  await t.test('a VM naming another node is refused and not made', async (t) => {
    await c.create(Kinds.VirtualMachine, vmObject(ns, 'far', { providerRef: { name: 'pve' }, placement: { cluster: 'pve2' } }));
    const cond = await refused(Kinds.VirtualMachine, 'far', 'ProviderError', 'Ready', /spec\.placement\.cluster/);
    t.match(cond.message, /Create: spec\.placement\.cluster: Forbidden: node "pve2": the operator allows no nodes \(VMs stay on their template's node: "pve1"; the operator configures proxmox\.nodes in the reconciler config\) \(InvalidSpec\)/, cond.message);
    t.same(await onPve('far'), [], 'no VM on fakepve');
    t.notOk((await get(Kinds.VirtualMachine, 'far'))?.status?.id, 'no status.id');
  });

  await t.test('a VM naming a storage is refused and not made', async (t) => {
    await c.create(Kinds.VirtualMachine, vmObject(ns, 'store', { providerRef: { name: 'pve' }, placement: { datastore: 'local-lvm' } }));
    const cond = await refused(Kinds.VirtualMachine, 'store', 'ProviderError', 'Ready', /spec\.placement\.datastore/);
    t.match(cond.message, /Create: spec\.placement\.datastore: Forbidden: storage "local-lvm": the operator allows no storages \(leave it unset to keep the template's storage; the operator configures proxmox\.storages in the reconciler config\) \(InvalidSpec\)/, cond.message);
    t.same(await onPve('store'), [], 'no VM on fakepve');
  });

  await t.test('a Provider default naming a storage or node is refused', async (t) => {
    await c.create(Kinds.Provider, provider('pve-store', { datastore: 'local-lvm' }));
    const s = await refused(Kinds.Provider, 'pve-store', 'EndpointNotAllowed', 'ProviderRuntimeReady', /spec\.defaults\.datastore/);
    t.match(s.message, /spec\.defaults\.datastore: Forbidden: "local-lvm": in-process provider "pve" allows no storages \(leave it unset; the operator configures proxmox\.storages in the reconciler config\)/, s.message);
    await c.create(Kinds.Provider, provider('pve-node', { cluster: 'pve2' }));
    const n = await refused(Kinds.Provider, 'pve-node', 'EndpointNotAllowed', 'ProviderRuntimeReady', /spec\.defaults\.cluster/);
    t.match(n.message, /allows no nodes/, n.message);
    await c.create(Kinds.VirtualMachine, vmObject(ns, 'via-default', { providerRef: { name: 'pve-store' } }));
    const v = await refused(Kinds.VirtualMachine, 'via-default', 'EndpointNotAllowed', 'Ready', /spec\.defaults\.datastore/);
    t.match(v.message, /allows no storages/, v.message);
    t.same(await onPve('via-default'), [], 'no VM on fakepve');
  });

  await t.test('a VM naming neither runs on the template\'s node and storage', async (t) => {
    await c.create(Kinds.VirtualMachine, vmObject(ns, 'home', { providerRef: { name: 'pve' }, powerState: 'Off' }));
    const vm = await eventually('home has a status.id and is Ready', async () => {
      const o = await get(Kinds.VirtualMachine, 'home');
      return o?.status?.id && condition(o, 'Ready')?.status === 'True' ? o : undefined;
    }, 90_000, 200);
    t.match(vm.status.id, /^pve1\/\d+$/, `on the template's node (${vm.status.id})`);
    const [f] = await onPve('home');
    t.equal(f?.node, 'pve1', 'fakepve has it on pve1');
    t.match(f!.config.scsi0, /^local-lvm:/, 'the boot disk on the template\'s storage');
  });

  await t.test('cleanup leaves nothing in fakepve', async (t) => {
    for (const n of ['far', 'store', 'via-default', 'home']) await c.delete(Kinds.VirtualMachine, ns, n).catch(() => undefined);
    await eventually('the VMs are released', async () => {
      for (const n of ['far', 'store', 'via-default', 'home']) if (await get(Kinds.VirtualMachine, n)) return undefined;
      return true;
    }, 60_000, 200);
    t.same((await pve.vms()).filter((v) => !v.template).map((v) => v.name), [], 'no VM left');
  });
});
