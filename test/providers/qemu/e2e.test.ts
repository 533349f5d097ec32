/**
 * End to end on the real API server: the reconciler (as the install's
 * ServiceAccount) serves a Provider with `virtrigaud.io/in-process: qemu`;
 * Provider + VMClass + VMImage (a boot-sector qcow2 built here) +
 * VirtualMachine → a real QEMU process; power off/on; resize; VMSnapshot
 * with memory and revert; delete → process and files gone. The test reads
 * the VMs through its own QemuProvider on the same state directory (the
 * state directory is the provider's only state) and over QMP.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ProviderRegistry } from '../../../src/providers/registry';
import { QemuProvider, registerQemuProvider, withQmp, livePid } from '../../../src/providers/qemu';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { condition, operatorEnv, testConfig, type OperatorEnv } from '../../reconciler/support/env';
import { bootImage, destroyStateDir, guestTicks, qemuPidsUnder, qmpStatus, requireQemu, stateDir, until } from './support';

const API = 'infra.virtrigaud.io/v1beta1';
let env: OperatorEnv;
let dir: string;
let qemu: QemuProvider;

const vm = () => env.admin.get<any>(Kinds.VirtualMachine, env.ns, 'web');
const patchVm = (spec: Record<string, unknown>) => env.admin.patch(Kinds.VirtualMachine, env.ns, 'web', { spec }, { type: 'merge' });
const ready = (o: any, phase: string) => o.status?.phase === phase && condition(o, 'Ready')?.status === 'True';

t.before(async () => {
  requireQemu();
  dir = await stateDir('e2e');
  t.teardown(() => destroyStateDir(dir));
  const image = await bootImage(join(dir, 'guest.qcow2'), { acpi: true });
  qemu = new QemuProvider({ stateDir: dir });
  t.teardown(() => qemu.close());
  env = await operatorEnv(t);
  const { admin, ns } = env;
  await admin.create(CoreResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'qemu-creds', namespace: ns }, stringData: { username: 'unused' } });
  await admin.create(Kinds.Provider, {
    apiVersion: API, kind: 'Provider',
    metadata: { name: 'lab', namespace: ns, annotations: { 'virtrigaud.io/in-process': 'qemu' } },
    spec: {
      type: 'qemu', endpoint: 'qemu:///system', credentialSecretRef: { name: 'qemu-creds' },
      runtime: { image: 'example.invalid/provider:v1', service: { tls: { enabled: false } } }, healthCheck: { interval: '5s' },
    },
  });
  await admin.create(Kinds.VMClass, { apiVersion: API, kind: 'VMClass', metadata: { name: 'tiny', namespace: ns }, spec: { cpu: 1, memory: '128Mi' } });
  await admin.create(Kinds.VMImage, { apiVersion: API, kind: 'VMImage', metadata: { name: 'bootsector', namespace: ns }, spec: { source: { libvirt: { path: image, format: 'qcow2' } } } });
  // The operator's instance: this test's state directory, images from it only.
  await env.start({
    registry: registerQemuProvider(new ProviderRegistry()),
    config: testConfig([env.ns], { instances: [{ name: 'qemu', driver: 'qemu', namespaces: [env.ns], qemu: { stateDir: dir, sandbox: true, nic: 'none' } }], images: { roots: [dir], tempDir: join(dir, 'tmp') } }),
  });
});

t.test('VirtualMachine → a QEMU process running', async (t) => {
  await env.admin.create(Kinds.VirtualMachine, {
    apiVersion: API, kind: 'VirtualMachine', metadata: { name: 'web', namespace: env.ns },
    spec: { providerRef: { name: 'lab' }, classRef: { name: 'tiny' }, imageRef: { name: 'bootsector' }, powerState: 'On' },
  });
  const o = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => ready(o, 'Running'), 'Running and Ready', 60_000);
  const id = o.status.id;
  t.match(id, /^web-[0-9a-f]{6}$/, 'status.id is the QEMU provider id');
  t.equal(await qmpStatus(qemu.layout.qmp(id)), 'running', 'QMP query-status: running');
  t.same(o.status.currentResources, { cpu: 1, memoryMiB: 128 });
  t.match(o.status.consoleURL, /^file:\/\/.*serial\.log$/, 'console: the serial log');
  t.equal((await qemu.listVMs()).filter((v) => v.name === 'web').length, 1, 'one VM on the host');
  const provider = await env.waitFor(Kinds.Provider, 'lab', (o: any) => o.status?.healthy === true, 'healthy', 30_000);
  t.equal(provider.status.reportedCapabilities.supportsMemorySnapshots, true, 'capabilities reported');
});

t.test('power off, then on', async (t) => {
  const id = (await vm()).status.id;
  await patchVm({ powerState: 'Off' });
  await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => ready(o, 'Stopped'), 'Stopped', 30_000);
  t.notOk(await livePid(qemu.layout, id), 'no QEMU process');
  await patchVm({ powerState: 'On' });
  await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => ready(o, 'Running'), 'Running again', 30_000);
  t.equal(await qmpStatus(qemu.layout.qmp(id)), 'running', 'QMP: running again');
});

t.test('resize: applied at the next power cycle', async (t) => {
  const id = (await vm()).status.id;
  await patchVm({ resources: { cpu: 2, memoryMiB: 192 } });
  const o = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.currentResources?.cpu === 2 && ready(o, 'Running'), 'resized', 30_000);
  t.same(o.status.currentResources, { cpu: 2, memoryMiB: 192 });
  const d = await qemu.describe(id);
  t.same({ cpu: d.cpu, memoryMiB: d.memoryMiB, pending: d.providerRaw.pendingRestart }, { cpu: 2, memoryMiB: 192, pending: 'true' }, 'stored, pending restart');
  await patchVm({ powerState: 'Off' });
  await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => ready(o, 'Stopped'), 'Stopped', 30_000);
  await patchVm({ powerState: 'On' });
  await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => ready(o, 'Running'), 'Running', 30_000);
  const cpus = await withQmp(qemu.layout.qmp(id), (q) => q.execute<unknown[]>('query-cpus-fast'));
  const mem = await withQmp(qemu.layout.qmp(id), (q) => q.execute<{ 'base-memory': number }>('query-memory-size-summary'));
  t.same({ cpus: cpus.length, memMiB: mem['base-memory'] / 2 ** 20 }, { cpus: 2, memMiB: 192 }, 'QEMU runs with the new size');
});

t.test('VMSnapshot with memory, then revert to it', async (t) => {
  const id = (await vm()).status.id;
  const qmp = qemu.layout.qmp(id);
  // The boot-sector guest counts timer ticks in RAM: a memory revert takes the count back, a cold boot restarts it near 0.
  await until(async () => (await guestTicks(qmp)) > 120, 'guest running a while', 30_000);
  const beforeSnap = await guestTicks(qmp);
  await env.admin.create(Kinds.VMSnapshot, {
    apiVersion: API, kind: 'VMSnapshot', metadata: { name: 'warm', namespace: env.ns },
    spec: { vmRef: { name: 'web' }, snapshotConfig: { includeMemory: true } },
  });
  const snap = await env.waitFor(Kinds.VMSnapshot, 'warm', (o: any) => o.status?.phase === 'Ready', 'snapshot Ready', 60_000);
  t.match(snap.status.snapshotID, /^warm-[0-9a-f]{10}-[0-9a-f]{6}$/);
  const tags = (await qemu.getDiskInfo(id, 'boot', '')).snapshots;
  t.same(tags, [snap.status.snapshotID], 'exactly one internal snapshot in the qcow2: SnapshotCreate ran once');
  const afterSnap = await guestTicks(qmp);
  await until(async () => (await guestTicks(qmp)) > afterSnap + 100, 'guest runs on after the snapshot', 30_000);
  const beforeRevert = await guestTicks(qmp);
  await patchVm({ snapshot: { revertToRef: { name: 'warm' } } });
  await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.metadata.annotations?.['virtrigaud.io/reverted-snapshot'] === snap.metadata.uid && ready(o, 'Running'), 'reverted and Running', 60_000);
  const afterRevert = await guestTicks(qmp);
  t.ok(afterRevert >= beforeSnap && afterRevert < beforeRevert, `guest memory went back (ticks: ${beforeSnap} before the snapshot, ${beforeRevert} before the revert, ${afterRevert} after)`);
  t.equal(await qmpStatus(qmp), 'running', 'QMP: running');
});

t.test('delete: QEMU process and files gone', async (t) => {
  const id = (await vm()).status.id;
  t.ok(await livePid(qemu.layout, id), 'running before');
  await env.admin.delete(Kinds.VirtualMachine, env.ns, 'web');
  await until(async () => !(await vm()), 'VM released by the finalizer', 60_000);
  t.notOk(existsSync(qemu.layout.vmDir(id)), 'VM directory removed');
  t.same(await qemuPidsUnder(dir), [], 'no QEMU process under the state directory');
  t.same(await qemu.listVMs(), [], 'no VM left on the host');
});
