/**
 * The libvirt provider end to end: the operator (as the install's
 * ServiceAccount, on the real API server) drives real domains on
 * qemu:///system through a Provider of type libvirt. Create → running
 * domain, power off/on, resize, snapshot + revert, delete → domain and
 * volumes gone. The guest has no OS (a blank qcow2 image): cheap under TCG.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostPolicy, qemuImg } from '../../../src/providers/hostutil';
import { registerLibvirtProvider } from '../../../src/providers/libvirt';
import { ProviderRegistry } from '../../../src/providers/registry';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { condition, operatorEnv, testConfig, type OperatorEnv } from '../../reconciler/support/env';
import { requireHypervisorTools, TEST_POOL, virsh } from './support';

requireHypervisorTools(t);

const API = 'infra.virtrigaud.io/v1beta1';
const VM = `vre2e-${randomBytes(3).toString('hex')}`;
let env: OperatorEnv;
let id = '';
let imageDir = '';
/** Volumes the VMImage controller prepared in the test pool (removed at the end). */
const prepared: string[] = [];

const domstate = (uuid: string) => virsh('domstate', uuid).trim();
const volumes = () => virsh('vol-list', '--pool', TEST_POOL).split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((v) => v.startsWith(VM));

t.before(async () => {
  env = await operatorEnv(t);
  const { admin, ns } = env;
  // The image the VMImage points at: a blank 64 MiB qcow2 in a world-readable dir.
  const dir = await mkdtemp(join(tmpdir(), 'vr-e2e-image-'));
  imageDir = dir;
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  t.teardown(() => {
    for (const v of prepared) {
      try {
        virsh('vol-delete', '--pool', TEST_POOL, v);
      } catch {
        // already gone
      }
    }
  });
  await chmod(dir, 0o755);
  const image = join(dir, 'tiny.qcow2');
  await qemuImg.create(image, 64 * 1024 * 1024);
  const sha = createHash('sha256').update(await readFile(image)).digest('hex');

  await admin.create(CoreResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'libvirt-creds', namespace: ns }, stringData: { note: 'local qemu:///system needs no credentials' } });
  await admin.create(Kinds.Provider, {
    apiVersion: API, kind: 'Provider',
    metadata: { name: 'lab', namespace: ns, annotations: { 'virtrigaud.io/in-process': 'libvirt' } },
    spec: {
      type: 'libvirt', endpoint: 'qemu:///system', credentialSecretRef: { name: 'libvirt-creds' },
      defaults: { datastore: TEST_POOL },
      runtime: { image: 'example.invalid/provider:v1', service: { tls: { enabled: false } } },
      healthCheck: { interval: '5s' },
    },
  });
  await admin.create(Kinds.VMClass, { apiVersion: API, kind: 'VMClass', metadata: { name: 'tiny', namespace: ns }, spec: { cpu: 1, memory: '128Mi', firmware: 'BIOS' } });
  await admin.create(Kinds.VMImage, {
    apiVersion: API, kind: 'VMImage', metadata: { name: 'blank', namespace: ns },
    spec: { source: { libvirt: { path: image, format: 'qcow2', checksum: sha, checksumType: 'sha256' } } },
  });
  // The operator's policy: images from this test's directory only.
  const registry = registerLibvirtProvider(new ProviderRegistry(), { shutdownPollMs: 200, hostPolicy: hostPolicy({ imageRoots: [dir], tempDir: join(dir, 'tmp') }) });
  await env.start({ registry, config: testConfig([env.ns], { instances: [{ name: 'libvirt', driver: 'libvirt', namespaces: [env.ns], libvirt: { uris: ['qemu:///system'], pools: [TEST_POOL], networks: [], bridges: [] } }] }) });
});

const ready = (phase: string) => (o: any) => o.status?.phase === phase && condition(o, 'Ready')?.status === 'True';

t.test('create → a running domain', async (t) => {
  await env.admin.create(Kinds.VirtualMachine, {
    apiVersion: API, kind: 'VirtualMachine', metadata: { name: VM, namespace: env.ns },
    spec: { providerRef: { name: 'lab' }, classRef: { name: 'tiny' }, imageRef: { name: 'blank' }, powerState: 'On', disks: [{ name: 'data', sizeGiB: 1 }] },
  });
  const vm = await env.waitFor(Kinds.VirtualMachine, VM, ready('Running'), 'Running and Ready', 120_000);
  id = vm.status.id;
  t.match(id, /^[0-9a-f-]{36}$/, 'status.id is the domain UUID');
  t.equal(domstate(id), 'running', 'virsh: running');
  t.equal(virsh('domname', id).trim(), VM, 'domain named after the VM');
  t.same(volumes().sort(), [`${VM}-disk-data.qcow2`, `${VM}-root.qcow2`], 'root overlay and data disk in the pool');
  // The VMImage controller prepared the image into the pool first (ImagePrepare); the root disk overlays that volume.
  const img = await env.admin.get<any>(Kinds.VMImage, env.ns, 'blank');
  const entry = img.status.providerStatus.lab;
  t.match(entry, { available: true, phase: 'Ready', id: /^vmimg-[0-9a-f]{16}\.qcow2$/ }, `prepared as ${entry.id}`);
  t.match(img.status, { ready: true, phase: 'Ready', availableOn: ['lab'] });
  prepared.push(entry.id);
  t.match(virsh('vol-list', '--pool', TEST_POOL), entry.id, 'the prepared volume is in the pool');
  t.match(virsh('vol-dumpxml', '--pool', TEST_POOL, `${VM}-root.qcow2`), new RegExp(`<backingStore>[\\s\\S]*<path>${entry.path}</path>`), 'root disk is an overlay on the prepared volume');
  t.match(vm.status.consoleURL, /^vnc:\/\/127\.0\.0\.1:\d+$/);
});

t.test('power off, then on', async (t) => {
  await env.admin.patch(Kinds.VirtualMachine, env.ns, VM, { spec: { powerState: 'Off' } }, { type: 'merge' });
  await env.waitFor(Kinds.VirtualMachine, VM, ready('Stopped'), 'Stopped', 60_000);
  t.equal(domstate(id), 'shut off', 'virsh: shut off');
  await env.admin.patch(Kinds.VirtualMachine, env.ns, VM, { spec: { powerState: 'On' } }, { type: 'merge' });
  await env.waitFor(Kinds.VirtualMachine, VM, ready('Running'), 'Running again', 60_000);
  t.equal(domstate(id), 'running', 'virsh: running');
});

t.test('resize through spec.resources', async (t) => {
  await env.admin.patch(Kinds.VirtualMachine, env.ns, VM, { spec: { resources: { cpu: 2, memoryMiB: 192 } } }, { type: 'merge' });
  const vm = await env.waitFor(Kinds.VirtualMachine, VM, (o: any) => o.status?.currentResources?.cpu === 2 && ready('Running')(o), 'resized', 60_000);
  t.same(vm.status.currentResources, { cpu: 2, memoryMiB: 192 });
  t.match(virsh('dumpxml', '--inactive', id), /<vcpu placement='static'( current='2')?>2<\/vcpu>/, 'next boot: 2 vCPUs');
  t.match(virsh('dumpxml', '--inactive', id), /<currentMemory unit='KiB'>196608<\/currentMemory>/, 'next boot: 192 MiB');
});

t.test('snapshot, then revert to it', async (t) => {
  await env.admin.create(Kinds.VMSnapshot, { apiVersion: API, kind: 'VMSnapshot', metadata: { name: 'before', namespace: env.ns }, spec: { vmRef: { name: VM } } });
  const snap = await env.waitFor(Kinds.VMSnapshot, 'before', (o: any) => o.status?.phase === 'Ready', 'snapshot Ready', 120_000);
  t.ok(virsh('snapshot-list', id, '--name').split('\n').map((s) => s.trim()).includes(snap.status.snapshotID), 'virsh lists the snapshot');
  await env.admin.patch(Kinds.VirtualMachine, env.ns, VM, { spec: { snapshot: { revertToRef: { name: 'before' } } } }, { type: 'merge' });
  await env.waitFor(Kinds.VirtualMachine, VM, (o: any) => o.metadata.annotations?.['virtrigaud.io/reverted-snapshot'] === snap.metadata.uid && ready('Running')(o), 'reverted and running', 120_000);
  t.equal(domstate(id), 'running', 'virsh: running after the revert');
  t.match(virsh('snapshot-current', id, '--name').trim(), snap.status.snapshotID, 'libvirt: current snapshot is the reverted one');
});

t.test('delete → domain and volumes gone', async (t) => {
  await env.admin.delete(Kinds.VirtualMachine, env.ns, VM);
  const deadline = Date.now() + 120_000;
  while (await env.admin.get(Kinds.VirtualMachine, env.ns, VM)) {
    if (Date.now() > deadline) throw new Error('VM was not released');
    await new Promise((r) => setTimeout(r, 200));
  }
  t.throws(() => virsh('dominfo', id), 'virsh: no such domain');
  t.same(volumes(), [], 'no volumes of the VM left in the pool');
});

t.test('VMImage prepare.onMissing on libvirt: Fail does not download; Wait takes the file in once it is there', async (t) => {
  const { admin, ns } = env;
  const vmImage = (name: string, source: Record<string, unknown>, onMissing: string) => ({ apiVersion: API, kind: 'VMImage', metadata: { name, namespace: ns }, spec: { source: { libvirt: source }, prepare: { onMissing } } });
  const vm = (name: string, image: string) => ({
    apiVersion: API, kind: 'VirtualMachine', metadata: { name, namespace: ns },
    spec: { providerRef: { name: 'lab' }, classRef: { name: 'tiny' }, imageRef: { name: image }, powerState: 'Off' },
  });
  await admin.create(Kinds.VMImage, vmImage('nodownload', { url: 'http://203.0.113.7/never.qcow2' }, 'Fail'));
  await admin.create(Kinds.VirtualMachine, vm(`${VM}-f`, 'nodownload'));
  const failed = await env.waitFor(Kinds.VMImage, 'nodownload', (o: any) => o.status?.phase === 'Failed', 'Failed', 60_000);
  t.match(failed.status.providerStatus.lab, { reason: 'MissingOnProvider', message: /is not in pool .* and spec\.prepare\.onMissing is Fail: not downloading http:\/\/203\.0\.113\.7\/never\.qcow2/ });
  await env.waitFor(Kinds.VirtualMachine, `${VM}-f`, (o: any) => condition(o, 'Ready')?.reason === 'ImageNotReady', 'ImageNotReady', 30_000);

  const later = join(imageDir, 'later.qcow2');
  await admin.create(Kinds.VMImage, vmImage('later', { path: later, format: 'qcow2' }, 'Wait'));
  await admin.create(Kinds.VirtualMachine, vm(`${VM}-w`, 'later'));
  const waiting = await env.waitFor(Kinds.VMImage, 'later', (o: any) => o.status?.providerStatus?.lab?.phase === 'Waiting', 'Waiting', 60_000);
  t.match(waiting.status.providerStatus.lab.message, /does not exist/);
  t.notOk((await admin.get<any>(Kinds.VirtualMachine, ns, `${VM}-w`))?.status?.id, 'no domain while the image is missing');
  await qemuImg.create(later, 32 * 1024 * 1024);
  const made = await env.waitFor(Kinds.VirtualMachine, `${VM}-w`, ready('Stopped'), 'created once the file is there', 120_000);
  const entry = (await admin.get<any>(Kinds.VMImage, ns, 'later')).status.providerStatus.lab;
  prepared.push(entry.id);
  t.match(entry, { phase: 'Ready', available: true });
  t.equal(virsh('domname', made.status.id).trim(), `${VM}-w`);
  for (const n of [`${VM}-f`, `${VM}-w`]) await admin.delete(Kinds.VirtualMachine, ns, n);
  const deadline = Date.now() + 120_000;
  while ((await admin.get(Kinds.VirtualMachine, ns, `${VM}-w`)) || (await admin.get(Kinds.VirtualMachine, ns, `${VM}-f`))) {
    if (Date.now() > deadline) throw new Error('VMs were not released');
    await new Promise((r) => setTimeout(r, 200));
  }
  t.same(volumes(), [], 'no volumes of the VMs left in the pool');
});
