/** ProxmoxLimits: deny by default, `*` only when asked for, the template's node when no nodes are listed. */
import t from 'tap';
import { isProviderError } from '../../../src/providers/provider';
import { ANY, PROXMOX_ANY, ProxmoxLimits } from '../../../src/providers/proxmox/limits';

const refusal = (fn: () => void): Error | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e as Error;
  }
};

t.test('empty lists allow nothing the tenant names', async (t) => {
  const l = new ProxmoxLimits();
  t.same([l.nodes, l.storages, l.bridges], [[], [], []], 'no lists given: all empty');
  for (const [kind, plural] of [['node', 'nodes'], ['storage', 'storages'], ['bridge', 'bridges']] as const) {
    const e = refusal(() => l.check(kind, 'x1', 'Create', `spec.some.${kind}`));
    t.ok(isProviderError(e, 'InvalidSpec'), `${kind}: InvalidSpec`);
    t.match(e?.message, `Create: spec.some.${kind}: Forbidden: ${kind} "x1": the operator allows no ${plural}`, `${kind}: names the field and says none is allowed`);
    t.match(e?.message, `proxmox.${plural} in the reconciler config`, `${kind}: says where the operator configures it`);
    t.equal(l.allowsAny(kind), false, `${kind}: not any`);
    t.equal(l.first(kind), undefined, `${kind}: no default`);
  }
  t.match(refusal(() => l.check('storage', 'local-lvm', 'Create', 'spec.placement.datastore'))?.message, /keep the template's storage/, 'storage: says what happens without one');
});

t.test('nodes empty: only the template\'s own node passes', async (t) => {
  const l = new ProxmoxLimits([], [], []);
  t.doesNotThrow(() => l.check('node', 'pve1', 'Create', 'spec.placement.cluster', 'pve1'), 'the template\'s node');
  const e = refusal(() => l.check('node', 'pve2', 'Create', 'spec.placement.cluster', 'pve1'));
  t.ok(isProviderError(e, 'InvalidSpec'), 'another node: InvalidSpec');
  t.match(e?.message, /spec\.placement\.cluster: Forbidden: node "pve2": the operator allows no nodes \(VMs stay on their template's node: "pve1"/, 'and says which node VMs stay on');
  t.ok(refusal(() => l.check('storage', 'pve1', 'Create', 'f', 'pve1')) === undefined, '`own` is honoured for whatever kind it is given with');
  t.ok(isProviderError(refusal(() => l.check('storage', 'local-lvm', 'Create', 'f')), 'InvalidSpec'), 'without `own` nothing passes');
});

t.test('listed values pass, others are refused, the template\'s node is no exception', async (t) => {
  const l = new ProxmoxLimits(['pve1'], ['local-lvm', 'ceph'], ['vmbr0']);
  t.doesNotThrow(() => l.check('storage', 'ceph', 'Create', 'f'), 'a listed storage');
  const e = refusal(() => l.check('storage', 'nfs', 'Create', 'spec.placement.datastore'));
  t.match(e?.message, /spec\.placement\.datastore: Forbidden: storage "nfs" is not one the operator allows \("local-lvm", "ceph"\)/, 'another storage, with the list');
  t.ok(isProviderError(refusal(() => l.check('node', 'pve2', 'Create', 'image', 'pve2')), 'InvalidSpec'), 'a template on an unlisted node is refused when nodes are listed');
  t.equal(l.first('storage'), 'local-lvm', 'the first listed is the default');
  t.equal(l.allowsAny('storage'), false, 'a list is not any');
});

t.test('"*" is the explicit opt-in to any value', async (t) => {
  const l = new ProxmoxLimits(PROXMOX_ANY.nodes, PROXMOX_ANY.storages, PROXMOX_ANY.bridges);
  for (const kind of ['node', 'storage', 'bridge'] as const) {
    t.doesNotThrow(() => l.check(kind, 'anything', 'Create', 'f'), `${kind}: anything`);
    t.equal(l.allowsAny(kind), true, `${kind}: allowsAny`);
    t.equal(l.first(kind), undefined, `${kind}: "*" is never used as a value`);
  }
  const mixed = new ProxmoxLimits([], [ANY, 'ceph'], []);
  t.equal(mixed.first('storage'), 'ceph', 'a named entry beside "*" is the default');
  t.ok(isProviderError(refusal(() => mixed.check('node', 'pve2', 'Create', 'f')), 'InvalidSpec'), '"*" for one kind does not open another');
});
