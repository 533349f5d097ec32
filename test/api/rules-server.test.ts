/**
 * Every CEL rule and the seed's limits, judged by a real kube-apiserver:
 * a valid object is accepted, a violating one is rejected with our message at
 * the expected field path. Creates use server-side dry run; transition rules
 * (immutability) create for real and then update.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CustomObjectsApi, CoreV1Api } from '@kubernetes/client-node';
import { useControlPlane } from '../../src/testenv';
import { ALL_KINDS } from '../../src/api/v1beta1';

const root = path.resolve(__dirname, '..', '..');
const seed = parseAllDocuments(fs.readFileSync(path.join(root, 'examples/manifests/vsphere-web-server.yaml'), 'utf8')).map((d) => d.toJS());
const byKind = (k: string) => structuredClone(seed.find((d) => d.kind === k));
const NS = `rules-${process.pid}`;

interface Verdict { ok: boolean; causes: { field?: string; message?: string }[]; message: string }

let api: CustomObjectsApi;

function plural(kind: string): string {
  return ALL_KINDS.find((k) => k.kind === kind)!.plural;
}

async function create(obj: any, dryRun = true): Promise<Verdict> {
  try {
    await api.createNamespacedCustomObject({ group: 'infra.virtrigaud.io', version: 'v1beta1', namespace: NS, plural: plural(obj.kind), body: obj, dryRun: dryRun ? 'All' : undefined });
    return { ok: true, causes: [], message: '' };
  } catch (e) {
    return verdictOf(e);
  }
}

async function replace(obj: any): Promise<Verdict> {
  try {
    await api.replaceNamespacedCustomObject({ group: 'infra.virtrigaud.io', version: 'v1beta1', namespace: NS, plural: plural(obj.kind), name: obj.metadata.name, body: obj });
    return { ok: true, causes: [], message: '' };
  } catch (e) {
    return verdictOf(e);
  }
}

function verdictOf(e: any): Verdict {
  let body: any = e.body;
  if (typeof body === "string") { try { body = JSON.parse(body); } catch { throw new Error(`${e.code}: ${body}`); } }
  if (!body || body.kind !== 'Status') throw e;
  return { ok: false, causes: body.details?.causes ?? [], message: body.message };
}

const vm = () => ({ ...byKind('VirtualMachine'), metadata: { name: 'web', namespace: NS } });

t.before(async () => {
  const cp = await useControlPlane(t);
  await cp.applyCrds([path.join(root, 'dist/crds.yaml')]);
  api = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  await cp.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } }).catch(() => undefined);
});

t.test('the seed examples are accepted', async (t) => {
  for (const d of seed) {
    const v = await create({ ...d, metadata: { ...d.metadata, namespace: NS } });
    t.ok(v.ok, `${d.kind}/${d.metadata.name}: ${v.message}`);
  }
});

const rejections: [string, () => any, string, RegExp][] = [
  ['imageRef with importedDisk', () => { const o = vm(); o.spec.importedDisk = { diskID: 'd1' }; return o; }, 'spec', /imageRef and importedDisk are mutually exclusive/],
  ['datastore with storagePod', () => { const o = vm(); o.spec.placement.datastore = 'ds1'; return o; }, 'spec.placement', /datastore and storagePod are mutually exclusive/],
  ['two actions in one hook', () => { const o = vm(); o.spec.lifecycle.preStop.exec = { command: ['sync'] }; return o; }, 'spec.lifecycle.preStop', /exactly one action/],
  ['no action in a hook', () => { const o = vm(); o.spec.lifecycle.postStart = {}; return o; }, 'spec.lifecycle.postStart', /exactly one action/],
  ['cloudInit with ignition', () => { const o = vm(); o.spec.userData = { cloudInit: { inline: 'a' }, ignition: { inline: '{}' } }; return o; }, 'spec.userData', /cloudInit and ignition are mutually exclusive/],
  ['duplicate disk names', () => { const o = vm(); o.spec.disks.push({ name: 'data', sizeGiB: 1 }); return o; }, 'spec.disks', /disk names must be unique within a VM/],
  ['duplicate network names', () => { const o = vm(); o.spec.networks.push({ name: 'app-net' }); return o; }, 'spec.networks', /network names must be unique within a VM/],
  ['disk of 0 GiB', () => { const o = vm(); o.spec.disks[0].sizeGiB = 0; return o; }, 'spec.disks[0].sizeGiB', /greater than or equal to 1/],
  ['disk of 65537 GiB', () => { const o = vm(); o.spec.disks[0].sizeGiB = 65537; return o; }, 'spec.disks[0].sizeGiB', /less than or equal to 65536/],
  ['21 disks', () => { const o = vm(); o.spec.disks = Array.from({ length: 21 }, (_, i) => ({ name: `d${i}`, sizeGiB: 1 })); return o; }, 'spec.disks', /must have at most 20 items/],
  ['11 networks', () => { const o = vm(); o.spec.networks = Array.from({ length: 11 }, (_, i) => ({ name: `n${i}` })); return o; }, 'spec.networks', /must have at most 10 items/],
  ['51 tags', () => { const o = vm(); o.spec.tags = Array.from({ length: 51 }, (_, i) => `t${i}`); return o; }, 'spec.tags', /must have at most 50 items/],
  ['powerState as a YAML 1.1 boolean', () => { const o = vm(); o.spec.powerState = true; return o; }, 'spec.powerState', /Unsupported value: true|must be of type string/],
  ['bad disk name', () => { const o = vm(); o.spec.disks[0].name = 'Data_1'; return o; }, 'spec.disks[0].name', /should match/],
  ['bad duration', () => { const o = vm(); o.spec.lifecycle.gracefulShutdownTimeout = 'two minutes'; return o; }, 'spec.lifecycle.gracefulShutdownTimeout', /should match/],
  ['Provider defaults datastore with storagePod', () => { const o = byKind('Provider'); o.metadata.namespace = NS; o.spec.defaults.datastore = 'ds1'; return o; }, 'spec.defaults', /datastore and storagePod are mutually exclusive/],
  ['VMClass with 129 CPUs', () => { const o = byKind('VMClass'); o.metadata.namespace = NS; o.spec.cpu = 129; return o; }, 'spec.cpu', /less than or equal to 128/],
  ['VMClass tpmVersion 3', () => { const o = byKind('VMClass'); o.metadata.namespace = NS; o.spec.securityProfile = { tpmVersion: '3' }; return o; }, 'spec.securityProfile.tpmVersion', /Unsupported value/],
  ['VMClass with 0 CPUs', () => { const o = byKind('VMClass'); o.metadata.namespace = NS; o.spec.cpu = 0; return o; }, 'spec.cpu', /greater than or equal to 1/],
  ['VMClass iops 99', () => { const o = byKind('VMClass'); o.metadata.namespace = NS; o.spec.diskDefaults.iops = 99; return o; }, 'spec.diskDefaults.iops', /greater than or equal to 100/],
  ['VMClass iops 100001', () => { const o = byKind('VMClass'); o.metadata.namespace = NS; o.spec.diskDefaults.iops = 100001; return o; }, 'spec.diskDefaults.iops', /less than or equal to 100000/],
  ['VMClass with 51 extraConfig keys', () => { const o = byKind('VMClass'); o.metadata.namespace = NS; o.spec.extraConfig = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])); return o; }, 'spec.extraConfig', /must have at most 50 items/],
  ['Provider with 11 replicas', () => { const o = byKind('Provider'); o.metadata.namespace = NS; o.spec.runtime.replicas = 11; return o; }, 'spec.runtime.replicas', /less than or equal to 10/],
  ['Provider with 0 replicas', () => { const o = byKind('Provider'); o.metadata.namespace = NS; o.spec.runtime.replicas = 0; return o; }, 'spec.runtime.replicas', /greater than or equal to 1/],
  ['Provider with 11 imagePullSecrets', () => { const o = byKind('Provider'); o.metadata.namespace = NS; o.spec.runtime.imagePullSecrets = Array.from({ length: 11 }, (_, i) => ({ name: `s${i}` })); return o; }, 'spec.runtime.imagePullSecrets', /must have at most 10 items/],
  ['Provider with 21 tolerations', () => { const o = byKind('Provider'); o.metadata.namespace = NS; o.spec.runtime.tolerations = Array.from({ length: 21 }, (_, i) => ({ key: `k${i}`, operator: 'Exists' })); return o; }, 'spec.runtime.tolerations', /must have at most 20 items/],
  ['Provider with 51 env vars', () => { const o = byKind('Provider'); o.metadata.namespace = NS; o.spec.runtime.env = Array.from({ length: 51 }, (_, i) => ({ name: `E${i}`, value: 'v' })); return o; }, 'spec.runtime.env', /must have at most 50 items/],
  ['disk name of 64 characters', () => { const o = vm(); o.spec.disks[0].name = 'd'.repeat(64); return o; }, 'spec.disks[0].name', /may not be more than 63 bytes|Too long/],
  ['network name of 64 characters', () => { const o = vm(); o.spec.networks[0].name = 'n'.repeat(64); return o; }, 'spec.networks[0].name', /may not be more than 63 bytes|Too long/],
  ['VMSet template with imageRef and importedDisk', () => ({
    apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMSet', metadata: { name: 'set', namespace: NS },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { ...vm().spec, importedDisk: { diskID: 'd' } } } },
  }), 'spec.template.spec', /imageRef and importedDisk are mutually exclusive/],
  ['VMClone without a source', () => ({
    apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMClone', metadata: { name: 'c', namespace: NS }, spec: { source: {}, target: { name: 'web-2' } },
  }), 'spec.source', /a clone source needs exactly one of vmRef, snapshotRef, templateRef or imageRef/],
  ['Provider allowedNamespaces from Selector without a selector', () => { const o = byKind('Provider'); o.metadata.namespace = NS; o.spec.allowedNamespaces = { from: 'Selector' }; return o; }, 'spec.allowedNamespaces', /selector is required with from: Selector and used only with it/],
  ['VMImage allowedNamespaces selector with from: All', () => { const o = byKind('VMImage'); o.metadata.namespace = NS; o.spec.allowedNamespaces = { from: 'All', selector: { matchLabels: { a: 'b' } } }; return o; }, 'spec.allowedNamespaces', /selector is required with from: Selector and used only with it/],
];

t.test('violations are rejected with our message at the right field', async (t) => {
  for (const [name, make, field, message] of rejections) {
    const v = await create(make());
    t.notOk(v.ok, `${name}: rejected`);
    const cause = v.causes.find((c) => c.field === field);
    t.ok(cause, `${name}: a cause at ${field} (got ${v.causes.map((c) => c.field).join(', ')})`);
    t.match(cause?.message ?? '', message, `${name}: message`);
  }
});

t.test('boundary values are accepted', async (t) => {
  const accepted: [string, () => any][] = [
    ['disk of 65536 GiB', () => { const o = vm(); o.spec.disks[0].sizeGiB = 65536; return o; }],
    ['20 disks', () => { const o = vm(); o.spec.disks = Array.from({ length: 20 }, (_, i) => ({ name: `d${i}`, sizeGiB: 1 })); return o; }],
    ['VMClass at the limits', () => { const o = byKind('VMClass'); o.metadata.namespace = NS; o.spec.cpu = 128; o.spec.diskDefaults.iops = 100000; o.spec.extraConfig = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'])); return o; }],
    ['Provider at the limits', () => { const o = byKind('Provider'); o.metadata.namespace = NS; o.spec.runtime.replicas = 10; o.spec.runtime.env = Array.from({ length: 50 }, (_, i) => ({ name: `E${i}`, value: 'v' })); o.spec.runtime.tolerations = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, operator: 'Exists' })); return o; }],
    ['50 tags and 63-character names', () => { const o = vm(); o.spec.tags = Array.from({ length: 50 }, (_, i) => `t${i}`); o.spec.disks[0].name = 'd'.repeat(63); return o; }],
    ['10 networks', () => { const o = vm(); o.spec.networks = Array.from({ length: 10 }, (_, i) => ({ name: `n${i}` })); return o; }],
    ['consent by selector and by name', () => { const o = byKind('VMClass'); o.metadata.namespace = NS; o.spec.allowedNamespaces = { from: 'Selector', selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold'] }] }, names: ['team-b'] }; return o; }],
    ['importedDisk alone', () => { const o = vm(); delete o.spec.imageRef; o.spec.importedDisk = { diskID: 'd1' }; return o; }],
    ['tpmVersion "2.0"', () => { const o = byKind('VMClass'); o.metadata.namespace = NS; o.spec.securityProfile = { tpmEnabled: true, tpmVersion: '2.0' }; return o; }],
    ['VMClone from a VM', () => ({ apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMClone', metadata: { name: 'c', namespace: NS }, spec: { source: { vmRef: { name: 'web' } }, target: { name: 'web-2' } } })],
  ];
  for (const [name, make] of accepted) {
    const v = await create(make());
    t.ok(v.ok, `${name}: ${v.message}`);
  }
});

t.test('immutable fields cannot change after creation', async (t) => {
  const created = await create(vm(), false);
  t.ok(created.ok, created.message);
  const get = async () => (await api.getNamespacedCustomObject({ group: 'infra.virtrigaud.io', version: 'v1beta1', namespace: NS, plural: 'virtualmachines', name: 'web' })) as any;
  let o = await get();
  o.spec.providerRef.name = 'other-provider';
  let v = await replace(o);
  t.match(v.causes.find((c) => c.field === 'spec.providerRef')?.message ?? v.message, /providerRef cannot be changed after the VM is created/);
  o = await get();
  delete o.spec.imageRef;
  v = await replace(o);
  t.match(v.causes.find((c) => c.field === 'spec')?.message ?? v.message, /imageRef cannot be added or removed after the VM is created/);
  o = await get();
  o.spec.powerState = 'Off';
  v = await replace(o);
  t.ok(v.ok, `a mutable field still changes: ${v.message}`);

  const snap = { apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMSnapshot', metadata: { name: 's', namespace: NS }, spec: { vmRef: { name: 'web' } } };
  t.ok((await create(snap, false)).ok);
  const s = (await api.getNamespacedCustomObject({ group: 'infra.virtrigaud.io', version: 'v1beta1', namespace: NS, plural: 'vmsnapshots', name: 's' })) as any;
  s.spec.vmRef.name = 'another';
  v = await replace(s);
  t.match(v.causes.find((c) => c.field === 'spec.vmRef')?.message ?? v.message, /vmRef cannot be changed after the snapshot has been created/);
});

t.test('the YAML samples in the README apply cleanly', async (t) => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => b.includes('infra.virtrigaud.io/v1beta1'));
  t.ok(blocks.length >= 1, `${blocks.length} manifest block(s) in the README`);
  for (const b of blocks) {
    for (const doc of parseAllDocuments(b).map((d) => d.toJS())) {
      const v = await create({ ...doc, metadata: { ...doc.metadata, namespace: NS } });
      t.ok(v.ok, `README ${doc.kind}/${doc.metadata.name}: ${v.message}`);
    }
  }
});
