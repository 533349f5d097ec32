/**
 * Two VirtualMachines of the same name in two namespaces on one Provider
 * (providerRef.namespace, with the Provider's consent) must get two
 * hypervisor VMs, and deleting one must leave the other alone. Identity is
 * the uid; the provider-side name is namespace-qualified (`<ns>_<name>`)
 * when the Provider is referenced from another namespace (payload.ts
 * providerVmName), so the names do not clash either.
 * A private control plane: the operator watches all namespaces here.
 */
import t from 'tap';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { createFixtures, operatorEnv, vmObject } from '../support/env';
import { eventually, memoryRegistry } from '../support/faults-helpers';

t.test('same VM name in two namespaces on one Provider', async (t) => {
  const env = await operatorEnv(t, { private: true });
  await createFixtures(env, { endpoint: 'https://memory.invalid/lab' });
  const other = `${env.ns}-b`;
  await env.admin.create(CoreResources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: other } });
  t.teardown(() => env.admin.delete(CoreResources.namespaces, undefined, other).catch(() => undefined));
  const mem = memoryRegistry({});
  // All namespaces: the ClusterRole grants the VM permissions cluster-wide.
  await env.start({ registry: mem.registry, namespace: undefined });

  const ref = (name: string) => ({ name, namespace: env.ns });
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'web'));
  const a = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.phase === 'Running', 'a/web Running');
  const bObj = vmObject(other, 'web', { providerRef: ref('lab'), classRef: ref('small'), imageRef: ref('ubuntu') });
  await env.admin.create(Kinds.VirtualMachine, bObj);
  // Without the consent of the referenced objects, the reference does not count.
  const refused = await eventually('b/web refused', async () => {
    const o = await env.admin.get(Kinds.VirtualMachine, other, 'web');
    const ready = o?.status?.conditions?.find((c: any) => c.type === 'Ready');
    return ready?.reason === 'ReferenceNotPermitted' ? ready : undefined;
  });
  t.match(refused.message, new RegExp(`Provider "${env.ns}/lab" does not allow references from namespace ${other}`));
  t.same((await mem.latest().listVMs()).map((v) => v.name), ['web'], 'nothing created for b/web without consent');
  for (const [kind, name] of [[Kinds.Provider, 'lab'], [Kinds.VMClass, 'small'], [Kinds.VMImage, 'ubuntu']] as const) {
    await env.admin.patch(kind, env.ns, name, { spec: { allowedNamespaces: { names: [other] } } }, { type: 'merge' });
  }
  const b = await eventually('b/web Running', async () => {
    const o = await env.admin.get(Kinds.VirtualMachine, other, 'web');
    return o?.status?.phase === 'Running' ? o : undefined;
  });
  t.not(b.status.id, a.status.id, `the two VirtualMachines have their own provider VMs (a: ${a.status.id}, b: ${b.status.id})`);
  const names = (await mem.latest().listVMs()).map((v) => v.name).sort();
  t.same(names, [`${other}_web`, 'web'], 'two VMs on the provider; the other namespace\'s one is qualified');
  const uids = Object.fromEntries((await mem.latest().listVMs()).map((v) => [v.name, v.uid]));
  t.equal(uids.web, a.metadata.uid, 'each provider VM carries its VirtualMachine\'s uid');
  t.equal(uids[`${other}_web`], b.metadata.uid);

  // The Provider withdraws its consent: deleting b/web must not orphan its VM, so the deletion waits.
  await env.admin.patch(Kinds.Provider, env.ns, 'lab', { spec: { allowedNamespaces: null } }, { type: 'merge' });
  await env.admin.delete(Kinds.VirtualMachine, other, 'web');
  const held = await eventually('b/web deletion held', async () => {
    const o = await env.admin.get(Kinds.VirtualMachine, other, 'web');
    const ready = o?.status?.conditions?.find((c: any) => c.type === 'Ready');
    // The deletion's own condition (a reconcile just before the delete may show the plain refusal first).
    return ready?.reason === 'ReferenceNotPermitted' && o?.metadata?.deletionTimestamp && /force-delete/.test(ready.message) ? ready : undefined;
  });
  t.match(held.message, /a VM may have been created through it before.*force-delete/);
  t.equal((await mem.latest().describe(b.status.id)).exists, true, 'b/web\'s provider VM is not orphaned silently');
  // Consent back: the deletion completes and removes b/web's provider VM, and only that one.
  await env.admin.patch(Kinds.Provider, env.ns, 'lab', { spec: { allowedNamespaces: { names: [other] } } }, { type: 'merge' });
  await eventually('b/web released', async () => !(await env.admin.get(Kinds.VirtualMachine, other, 'web')), 30_000);
  t.equal((await mem.latest().describe(b.status.id)).exists, false, 'b/web\'s provider VM deleted');
  t.equal((await mem.latest().describe(a.status.id)).exists, true, "a/web's provider VM survives the deletion of b/web");
});
