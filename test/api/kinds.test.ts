import t from 'tap';
import { ALL_KINDS, VirtualMachine, VMClass, VMSet, Provider, VMClone, VMMigration, VMSnapshot, VMPlacementPolicy } from '../../src/api/v1beta1';
import type { JSONSchemaProps, KindDefinition } from '../../src/schema';

/** The emitted schema node at a path like `spec.disks[*].sizeGiB`. */
function at(kind: KindDefinition, path: string): JSONSchemaProps {
  let cur: JSONSchemaProps | undefined = kind.openApiSchema();
  for (const m of path.matchAll(/([A-Za-z0-9_-]+)|\[\*\]/g)) {
    if (!cur) break;
    cur = m[0] === '[*]' ? cur.items ?? (cur.additionalProperties as JSONSchemaProps) : cur.properties?.[m[1]];
  }
  if (!cur) throw new Error(`${kind.kind}: no schema at ${path}`);
  return cur;
}
const rules = (kind: KindDefinition, path: string) => (at(kind, path)['x-kubernetes-validations'] ?? []).map((r) => r.rule);

t.test('ten kinds with names, categories and the status subresource', async (t) => {
  t.equal(ALL_KINDS.length, 10);
  const short: Record<string, string> = {
    VirtualMachine: 'vm', VMClass: 'vmclass', VMImage: 'vmimg', VMNetworkAttachment: 'vmnet', Provider: 'prov',
    VMPlacementPolicy: 'vmpp', VMSnapshot: 'vmsnap', VMClone: 'vmclone', VMSet: 'vmset', VMMigration: 'vmmig',
  };
  for (const k of ALL_KINDS) {
    t.equal(k.apiVersion, 'infra.virtrigaud.io/v1beta1');
    t.same(k.props.shortNames, [short[k.kind]], `${k.kind} short name`);
    t.same(k.props.categories, ['virtrigaud']);
    t.equal(k.props.scope, 'Namespaced');
    t.ok((k.versionEntry().subresources as any).status, `${k.kind} has the status subresource`);
  }
  t.equal(VMPlacementPolicy.plural, 'vmplacementpolicies');
  t.equal(VMClass.plural, 'vmclasses');
});

t.test('every field has a description (kubectl explain is useful at every level)', async (t) => {
  let count = 0;
  const walk = (kind: string, n: JSONSchemaProps, path: string) => {
    count++;
    // The root metadata is the one exception: kube-apiserver forbids anything on it but name constraints.
    if (!n.description?.trim() && path !== `${kind}.metadata`) t.fail(`${kind} ${path} has no description`);
    for (const [k, v] of Object.entries(n.properties ?? {})) walk(kind, v, `${path}.${k}`);
    if (n.items) walk(kind, n.items, `${path}[*]`);
    if (n.additionalProperties && typeof n.additionalProperties === 'object') walk(kind, n.additionalProperties, `${path}[*]`);
  };
  for (const k of ALL_KINDS) walk(k.kind, k.openApiSchema(), k.kind);
  t.ok(count > 1500, `walked ${count} schema nodes`);
});

t.test('CEL rules sit at the right schema paths', async (t) => {
  const exclusive = '!(has(self.imageRef) && has(self.importedDisk))';
  t.ok(rules(VirtualMachine, 'spec').includes(exclusive), 'VM imageRef/importedDisk');
  t.ok(rules(VMSet, 'spec.template.spec').includes(exclusive), 'VMSet template imageRef/importedDisk');
  t.ok(rules(VirtualMachine, 'spec.placement').includes('!(has(self.datastore) && has(self.storagePod))'), 'VM placement');
  t.ok(rules(Provider, 'spec.defaults').includes('!(has(self.datastore) && has(self.storagePod))'), 'Provider defaults');
  for (const hook of ['preStop', 'postStart']) {
    t.same(rules(VirtualMachine, `spec.lifecycle.${hook}`), ['(has(self.exec) ? 1 : 0) + (has(self.httpGet) ? 1 : 0) + (has(self.snapshot) ? 1 : 0) == 1'], hook);
  }
  const unique = 'self.all(x, self.exists_one(y, y.name == x.name))';
  t.same(rules(VirtualMachine, 'spec.disks'), [unique]);
  t.same(rules(VirtualMachine, 'spec.networks'), [unique]);
  t.same(at(VirtualMachine, 'spec.disks')['x-kubernetes-validations']![0].message, 'disk names must be unique within a VM');
  // immutability as transition rules
  t.same(rules(VirtualMachine, 'spec.providerRef'), ['self == oldSelf']);
  t.ok(rules(VirtualMachine, 'spec').includes('has(self.imageRef) == has(oldSelf.imageRef)'));
  t.same(rules(VMSnapshot, 'spec.vmRef'), ['self == oldSelf']);
  for (const k of [VMClone, VMMigration]) {
    t.ok(rules(k, 'spec.source').includes('self == oldSelf'), `${k.kind} source immutable`);
    t.ok(rules(k, 'spec.target').includes('self == oldSelf'), `${k.kind} target immutable`);
  }
  t.same(rules(VMSet, 'spec.template.spec.providerRef'), [], 'a template may change its provider');
  t.ok(rules(VMClone, 'spec.source').some((r) => r.endsWith('== 1')), 'clone source: exactly one');
  // every rule has a message
  for (const k of ALL_KINDS) {
    const walk = (n: JSONSchemaProps) => {
      for (const r of n['x-kubernetes-validations'] ?? []) t.ok(r.message && !/\n/.test(r.message), `${k.kind}: ${r.rule} has a one-line message`);
      Object.values(n.properties ?? {}).forEach(walk);
      if (n.items) walk(n.items);
    };
    walk(k.openApiSchema());
  }
});

t.test('seed limits', async (t) => {
  t.equal(at(VirtualMachine, 'spec.networks').maxItems, 10);
  t.equal(at(VirtualMachine, 'spec.disks').maxItems, 20);
  t.equal(at(VirtualMachine, 'spec.tags').maxItems, 50);
  t.match(at(VirtualMachine, 'spec.disks[*].sizeGiB'), { minimum: 1, maximum: 65536, format: 'int32' });
  t.match(at(VirtualMachine, 'spec.disks[*].name'), { maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' });
  t.match(at(VirtualMachine, 'spec.networks[*].name'), { maxLength: 63 });
  t.same(at(VirtualMachine, 'spec.powerState').enum, ['On', 'Off', 'OffGraceful']);
  t.equal(at(VirtualMachine, 'spec.lifecycle.gracefulShutdownTimeout').default, '60s');
  t.match(at(VMClass, 'spec.cpu'), { minimum: 1, maximum: 128 });
  t.same(VMClass.openApiSchema().properties!.spec.required, ['cpu', 'memory']);
  t.equal(at(VMClass, 'spec.firmware').default, 'BIOS');
  t.equal(at(VMClass, 'spec.diskDefaults.size').default, '40Gi');
  t.match(at(VMClass, 'spec.diskDefaults.iops'), { minimum: 100, maximum: 100000 });
  t.equal(at(VMClass, 'spec.extraConfig').maxProperties, 50);
  t.match(at(Provider, 'spec.runtime.replicas'), { minimum: 1, maximum: 10, default: 1 });
  t.equal(at(Provider, 'spec.runtime.imagePullSecrets').maxItems, 10);
  t.equal(at(Provider, 'spec.runtime.tolerations').maxItems, 20);
  t.equal(at(Provider, 'spec.runtime.env').maxItems, 50);
  t.same(at(Provider, 'spec.type').enum!.slice().sort(), ['firecracker', 'libvirt', 'proxmox', 'qemu', 'vsphere']);
});

t.test("VirtRigaud's schema quirks are fixed", async (t) => {
  t.same(at(VMClass, 'spec.securityProfile.tpmVersion').enum, ['1.2', '2.0'], 'tpmVersion enum is strings');
  t.notOk((VirtualMachine.versionEntry().subresources as any).scale, 'no scale subresource on VirtualMachine');
  t.same((VMSet.versionEntry().subresources as any).scale, { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' });
  t.equal(at(VMSet, 'status.selector').type, 'string');
  t.ok(at(VMSet, 'spec.template.metadata').properties!.labels, 'template labels are not pruned');
  const ppCols = VMPlacementPolicy.props.printerColumns!;
  t.notOk(ppCols.some((c) => c.type === 'integer' && c.jsonPath.includes('[*]')), 'no integer column over a list');
  t.equal(VMClone.props.printerColumns!.find((c) => c.name === 'Progress')!.type, 'integer');
  t.same(VirtualMachine.props.printerColumns!.map((c) => c.name), ['Phase', 'Power', 'Provider', 'Class', 'Image', 'IPs', 'Age']);
  // no duplicated allOf enums anywhere
  const walk = (n: JSONSchemaProps, where: string) => {
    if (n.allOf) t.fail(`${where} uses allOf`);
    Object.entries(n.properties ?? {}).forEach(([k, v]) => walk(v, `${where}.${k}`));
    if (n.items) walk(n.items, `${where}[*]`);
  };
  for (const k of ALL_KINDS) walk(k.openApiSchema(), k.kind);
});
