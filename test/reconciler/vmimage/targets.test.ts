/**
 * Where a VMImage is prepared and how a VM may use it (src/reconciler/vmimage/targets.ts):
 * one target per Provider; only VMs whose image and Provider references are
 * allowed count (a tenant cannot make the image controller call a Provider
 * it could not use, nor prepare another namespace's image it was not
 * allowed); the target name holds no user text; the VM gate per entry.
 */
import t from 'tap';
import type { Provider } from '../../../src/generated/provider';
import type { VirtualMachine } from '../../../src/generated/virtual-machine';
import type { VMImage } from '../../../src/generated/vm-image';
import { VM_INDEX } from '../../../src/reconciler/informers';
import { entryKey, imageGate, prepareTargets, targetName } from '../../../src/reconciler/vmimage/targets';

const API = 'infra.virtrigaud.io/v1beta1';
const image = (ns: string, name: string, extra: Partial<VMImage['spec']> = {}, meta: Record<string, unknown> = {}): VMImage => ({
  apiVersion: API, kind: 'VMImage', metadata: { namespace: ns, name, uid: `uid-${ns}-${name}`, generation: 1, ...meta },
  spec: { source: { libvirt: { url: 'https://x.example/a.qcow2' } }, ...extra },
} as VMImage);
const provider = (ns: string, name: string, allowed?: string[]): Provider => ({
  apiVersion: API, kind: 'Provider', metadata: { namespace: ns, name },
  spec: { type: 'libvirt', endpoint: 'qemu:///system', ...(allowed ? { allowedNamespaces: { names: allowed } } : {}) },
} as unknown as Provider);
const vm = (ns: string, name: string, img: { name: string; namespace?: string }, prov: { name: string; namespace?: string }, id?: string): VirtualMachine => ({
  apiVersion: API, kind: 'VirtualMachine', metadata: { namespace: ns, name }, spec: { imageRef: img, providerRef: prov, classRef: { name: 'c' } }, ...(id ? { status: { id } } : {}),
} as VirtualMachine);

function informers(vms: VirtualMachine[], providers: Provider[]) {
  const key = (o: { metadata?: { namespace?: string; name?: string } }) => `${o.metadata?.namespace}/${o.metadata?.name}`;
  return {
    vms: {
      byIndex: (index: string, k: string) => {
        if (index !== VM_INDEX.image) throw new Error(`unexpected index ${index}`);
        return vms.filter((v) => `${v.spec?.imageRef?.namespace ?? v.metadata?.namespace}/${v.spec?.imageRef?.name}` === k);
      },
    },
    providers: { get: (k: string) => providers.find((p) => key(p) === k) },
    namespaces: undefined,
  } as any;
}

t.test('one target per Provider, however many VMs; created and deleted VMs do not count', async (t) => {
  const img = image('a', 'ubuntu');
  const lab = provider('a', 'lab');
  const other = provider('a', 'other');
  const vms = [vm('a', 'v1', { name: 'ubuntu' }, { name: 'lab' }), vm('a', 'v2', { name: 'ubuntu' }, { name: 'lab' }), vm('a', 'v3', { name: 'ubuntu' }, { name: 'other' }, 'made-already')];
  t.same([...prepareTargets(img, informers(vms, [lab, other])).keys()], ['lab']);
  t.same([...prepareTargets(img, informers([], [lab])).keys()], [], 'no VM: nothing to prepare');
});

t.test('attack: a VM in another namespace cannot get an image prepared that does not allow it', async (t) => {
  const img = image('a', 'private');
  const theirs = provider('b', 'theirs');
  const v = vm('b', 'probe', { name: 'private', namespace: 'a' }, { name: 'theirs' });
  t.same([...prepareTargets(img, informers([v], [theirs])).keys()], [], 'not prepared for namespace b');
  const shared = { ...image('a', 'shared'), spec: { ...image('a', 'shared').spec, allowedNamespaces: { names: ['b'] } } } as unknown as VMImage;
  const allowed = vm('b', 'user', { name: 'shared', namespace: 'a' }, { name: 'theirs' });
  t.same([...prepareTargets(shared, informers([allowed], [theirs])).keys()], ['b/theirs'], 'allowed: prepared on the VM\'s own Provider, keyed namespace/name');
});

t.test('attack: a VM cannot get an image prepared on a Provider that does not allow its namespace', async (t) => {
  const img = { ...image('b', 'mine'), spec: { ...image('b', 'mine').spec } } as VMImage;
  const locked = provider('a', 'locked');
  const v = vm('b', 'sneaky', { name: 'mine' }, { name: 'locked', namespace: 'a' });
  t.same([...prepareTargets(img, informers([v], [locked])).keys()], [], 'Provider a/locked is never called for namespace b');
  const open = provider('a', 'open', ['b']);
  const w = vm('b', 'fine', { name: 'mine' }, { name: 'open', namespace: 'a' });
  t.same([...prepareTargets(img, informers([w], [open])).keys()], ['a/open']);
});

t.test('source.vsphere.providerRef names a Provider of the image\'s own namespace only', async (t) => {
  const img = image('a', 'tmpl', { source: { vsphere: { templateName: 't', providerRef: { name: 'vc' } } } });
  t.same([...prepareTargets(img, informers([], [provider('a', 'vc'), provider('b', 'vc')])).keys()], ['vc']);
  t.same([...prepareTargets(img, informers([], [provider('b', 'vc')])).keys()], [], 'not one of another namespace');
});

t.test('target names: stable, from uid and source; force adds the generation; no user text', async (t) => {
  const a = image('team', 'evil/../../etc; rm -rf');
  t.match(targetName(a), /^vmimg-[0-9a-f]{16}$/);
  t.equal(targetName(a), targetName(structuredClone(a)), 'stable');
  t.equal(targetName({ ...a, metadata: { ...a.metadata, generation: 7 } } as VMImage), targetName(a), 'a generation alone does not change it');
  t.not(targetName(image('team', 'x', { source: { libvirt: { url: 'https://x.example/b.qcow2' } } })), targetName(image('team', 'x')), 'a new source is a new image');
  t.not(targetName(image('team', 'x', {}, { uid: 'other' })), targetName(image('team', 'x')), 'a new object is a new image');
  const forced = image('team', 'x', { prepare: { force: true } });
  t.not(targetName({ ...forced, metadata: { ...forced.metadata, generation: 2 } } as VMImage), targetName(forced), 'force: every generation imports afresh');
});

t.test('the VM gate follows its Provider\'s entry of the current generation', async (t) => {
  const lab = provider('a', 'lab');
  const at = (entry: Record<string, unknown> | undefined, generation = 1) =>
    imageGate({ ...image('a', 'i', {}, { generation }), status: entry ? { providerStatus: { lab: { available: false, observedGeneration: 1, ...entry } } } : {} } as VMImage, lab);
  t.match(at(undefined), { state: 'wait', message: /not prepared on Provider lab yet/ });
  t.match(at({ phase: 'Importing', message: 'preparing' }), { state: 'wait', message: /being prepared on Provider lab: preparing/ });
  t.match(at({ phase: 'Waiting' }), { state: 'wait' });
  t.match(at({ phase: 'Failed', message: 'no space' }), { state: 'failed', message: /could not be prepared on Provider lab: no space/ });
  t.same(at({ phase: 'Ready', available: true, id: 'vol', path: '/p/vol' }), { state: 'use', prepared: { id: 'vol', path: '/p/vol' } });
  t.same(at({ phase: 'Deferred' }), { state: 'use' });
  t.match(at({ phase: 'Ready', available: true, id: 'vol' }, 2), { state: 'wait' }, 'an entry of an older generation is prepared again first');
  t.equal(entryKey(image('a', 'i'), provider('b', 'p')), 'b/p');
});
