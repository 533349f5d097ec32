/**
 * Fields the CRD accepts that no provider applies yet are not silently
 * dropped: the VM runs and says which fields in `Unsupported=True` (with a
 * Warning Event); removing them clears the condition.
 */
import t from 'tap';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { condition, createFixtures, operatorEnv, vmObject, type OperatorEnv } from '../support/env';

let env: OperatorEnv;

t.before(async () => {
  env = await operatorEnv(t);
  await createFixtures(env);
  await env.start();
});

t.test('a VM asking for a GPU and a host says it got neither; its Ignition config is delivered (libvirt-type Provider)', async (t) => {
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'gpu', {
    resources: { gpu: { count: 1 } },
    userData: { ignition: { inline: '{"ignition":{"version":"3.4.0"}}' } },
    placement: { host: 'esxi-07' },
  }));
  const vm = await env.waitFor(Kinds.VirtualMachine, 'gpu', (o: any) => o.status?.phase === 'Running' && !!condition(o, 'Unsupported'), 'Running with Unsupported');
  const c = condition(vm, 'Unsupported')!;
  t.equal(c.status, 'True');
  t.equal(c.reason, 'FieldNotImplemented');
  t.match(c.message, /spec\.resources\.gpu: Unsupported value: GPU passthrough is not implemented/);
  t.notMatch(c.message, /ignition/, 'a libvirt-type Provider delivers Ignition');
  t.equal(vm.status.provider?.userDataFormat, 'ignition', 'the provider got the config as Ignition, not cloud-init');
  t.match(c.message, /spec\.placement\.host: Unsupported value: /);
  t.notMatch(c.message, /resourcePool/, 'only the fields set');
  const events = (await env.admin.list(CoreResources.events, env.ns, { fieldSelector: 'involvedObject.name=gpu,reason=FieldNotImplemented' })).items;
  t.equal(events[0]?.type, 'Warning', 'a Warning Event');
  await env.admin.patch(Kinds.VirtualMachine, env.ns, 'gpu', [{ op: 'remove', path: '/spec/resources/gpu' }, { op: 'remove', path: '/spec/userData' }, { op: 'remove', path: '/spec/placement' }], { type: 'json' });
  const cleared = await env.waitFor(Kinds.VirtualMachine, 'gpu', (o: any) => condition(o, 'Unsupported')?.status === 'False', 'Unsupported=False');
  t.equal(condition(cleared, 'Unsupported')?.reason, 'AllFieldsSupported');
  // A Provider type that has no Ignition channel: the config is not sent at all (never as cloud-init), and the VM says so.
  await env.admin.create(Kinds.Provider, {
    apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'Provider', metadata: { name: 'pve', namespace: env.ns, annotations: { 'virtrigaud.io/in-process': 'memory' } },
    spec: { type: 'proxmox', endpoint: 'https://memory.invalid/pve', credentialSecretRef: { name: 'lab-creds' }, runtime: { image: 'example.invalid/provider:v1', service: { tls: { enabled: false } } } },
  });
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'ign-pve', { providerRef: { name: 'pve' }, userData: { ignition: { inline: '{"ignition":{"version":"3.4.0"}}' } } }));
  const pve = await env.waitFor(Kinds.VirtualMachine, 'ign-pve', (o: any) => o.status?.phase === 'Running' && !!condition(o, 'Unsupported'), 'Running with Unsupported', 60_000);
  t.match(condition(pve, 'Unsupported')!.message, /spec\.userData\.ignition: Unsupported value: Ignition configs are delivered by the libvirt, QEMU, vSphere and Firecracker providers only/);
  t.equal(pve.status.provider?.userDataFormat, undefined, 'no user data reached the provider');
  const plain = await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'plain'));
  // Fields of the attachment a NIC uses count too; a rate limit is applied on this (libvirt-type) Provider, so it is not listed.
  await env.admin.create(Kinds.VMNetworkAttachment, {
    apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMNetworkAttachment', metadata: { name: 'guarded', namespace: env.ns },
    spec: { network: { libvirt: { networkName: 'default' } }, security: { firewall: { enabled: true } }, qos: { dscp: 46, ingressLimit: 1_000_000 }, ipAllocation: { type: 'DHCP', dhcpConfig: { hostname: 'x' } } },
  });
  await env.admin.create(Kinds.VirtualMachine, vmObject(env.ns, 'guarded', { networks: [{ name: 'eth0', networkRef: { name: 'guarded' } }] }));
  const guarded = await env.waitFor(Kinds.VirtualMachine, 'guarded', (o: any) => o.status?.phase === 'Running' && !!condition(o, 'Unsupported'), 'Running with Unsupported');
  const gm = condition(guarded, 'Unsupported')!.message;
  t.match(gm, /VMNetworkAttachment guarded: spec\.security: Unsupported value: no provider applies network security policies/);
  t.match(gm, /VMNetworkAttachment guarded: spec\.qos\.dscp: Unsupported value: /);
  t.match(gm, /VMNetworkAttachment guarded: spec\.ipAllocation\.dhcpConfig: Unsupported value: /);
  t.notMatch(gm, /ingressLimit/, 'the rate limit is applied by a libvirt Provider');
  const ran = await env.waitFor(Kinds.VirtualMachine, plain.metadata.name, (o: any) => o.status?.phase === 'Running', 'Running');
  t.equal(condition(ran, 'Unsupported'), undefined, 'a VM without such fields has no Unsupported condition');
});
