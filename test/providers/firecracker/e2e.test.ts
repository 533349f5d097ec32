/**
 * End to end on the real API server: the reconciler serves a Provider
 * with `virtrigaud.io/in-process: firecracker`; Provider + VMClass +
 * VMImage (a directory with the Debian vmlinux and an ext4 rootfs, in the
 * operator's image roots) + VMNetworkAttachment + VirtualMachine with
 * cloud-init → a real Firecracker process in a network namespace this test
 * made, its NIC on a tap there with the operator's rate limit, the
 * user-data in MMDS; a resize that needs a restart and says so in status;
 * power off/on; VMSnapshot and revert (a new process); OffGraceful killed
 * at gracefulShutdownTimeout; delete → process, files and tap gone; a
 * Provider whose instance names a missing binary → a condition saying what
 * to set.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { ProviderRegistry } from '../../../src/providers/registry';
import { fcApi, FirecrackerProvider, livePid, registerFirecrackerProvider } from '../../../src/providers/firecracker';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { condition, operatorEnv, testConfig, type OperatorEnv } from '../../reconciler/support/env';
import { destroyStateDir, firecrackerBin, firecrackerPidsUnder, linksIn, makeNetns, removeNetns, stateDir, templateDir } from './support';

const API = 'infra.virtrigaud.io/v1beta1';
let env: OperatorEnv;
let dir: string;
let fc: FirecrackerProvider;
let netns: string;
let startOpts: Parameters<OperatorEnv['start']>[0];
let operator: Awaited<ReturnType<OperatorEnv['start']>>;

const USER_DATA = '#cloud-config\nhostname: web\n';
const vmConfig = async (id: string) => fcApi<Record<string, any>>(fc.layout.socket(id), { method: 'GET', path: '/vm/config' });

const vm = () => env.admin.get<any>(Kinds.VirtualMachine, env.ns, 'web');
const patchVm = (spec: Record<string, unknown>) => env.admin.patch(Kinds.VirtualMachine, env.ns, 'web', { spec }, { type: 'merge' });
const ready = (o: any, phase: string) => o.status?.phase === phase && condition(o, 'Ready')?.status === 'True';

t.before(async () => {
  const binary = firecrackerBin();
  const template = templateDir();
  dir = await stateDir('e2e', []);
  netns = makeNetns();
  t.teardown(async () => {
    await destroyStateDir(dir);
    removeNetns(netns);
  });
  fc = new FirecrackerProvider({ stateDir: dir, binary, netns });
  t.teardown(() => fc.close());
  env = await operatorEnv(t);
  const { admin, ns } = env;
  await admin.create(CoreResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'fc-creds', namespace: ns }, stringData: { username: 'unused' } });
  await admin.create(Kinds.Provider, {
    apiVersion: API, kind: 'Provider',
    metadata: { name: 'lab', namespace: ns, annotations: { 'virtrigaud.io/in-process': 'firecracker' } },
    spec: {
      type: 'firecracker', endpoint: 'firecracker:///system', credentialSecretRef: { name: 'fc-creds' },
      runtime: { image: 'example.invalid/provider:v1', service: { tls: { enabled: false } } }, healthCheck: { interval: '5s' },
    },
  });
  await admin.create(Kinds.VMClass, { apiVersion: API, kind: 'VMClass', metadata: { name: 'tiny', namespace: ns }, spec: { cpu: 1, memory: '128Mi' } });
  await admin.create(Kinds.VMNetworkAttachment, { apiVersion: API, kind: 'VMNetworkAttachment', metadata: { name: 'app-net', namespace: ns }, spec: { network: { libvirt: { networkName: 'lab-net' } }, qos: { egressLimit: 4_000_000 } } });
  await admin.create(Kinds.Provider, {
    apiVersion: API, kind: 'Provider',
    metadata: { name: 'nobin', namespace: ns, annotations: { 'virtrigaud.io/in-process': 'fc-nobin' } },
    spec: {
      type: 'firecracker', endpoint: 'firecracker:///system', credentialSecretRef: { name: 'fc-creds' },
      runtime: { image: 'example.invalid/provider:v1', service: { tls: { enabled: false } } }, healthCheck: { interval: '5s' },
    },
  });
  await admin.create(Kinds.VMImage, { apiVersion: API, kind: 'VMImage', metadata: { name: 'debian', namespace: ns }, spec: { source: { libvirt: { path: template } } } });
  startOpts = {
    // The reconciler's own namespace is the test's (address Leases are looked up there at delete).
    systemNamespace: env.ns,
    registry: registerFirecrackerProvider(new ProviderRegistry()),
    config: testConfig([env.ns], {
      instances: [
        { name: 'firecracker', driver: 'firecracker', namespaces: [env.ns], firecracker: { stateDir: dir, binary, netns, networks: [{ name: 'lab-net', rxBitsPerSecond: 8_000_000 }], smt: false } },
        { name: 'fc-nobin', driver: 'firecracker', namespaces: [env.ns], firecracker: { stateDir: `${dir}/nobin`, binary: `${dir}/no-such-firecracker`, networks: [], smt: false } },
      ],
      images: { roots: [template], tempDir: `${dir}/tmp` },
    }),
  };
  operator = await env.start(startOpts);
});

t.test('VirtualMachine → a Firecracker process running', async (t) => {
  await env.admin.create(Kinds.VirtualMachine, {
    apiVersion: API, kind: 'VirtualMachine', metadata: { name: 'web', namespace: env.ns },
    spec: {
      providerRef: { name: 'lab' }, classRef: { name: 'tiny' }, imageRef: { name: 'debian' }, powerState: 'On',
      networks: [{ name: 'eth0', networkRef: { name: 'app-net' } }], userData: { cloudInit: { inline: USER_DATA } },
    },
  });
  const o = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => ready(o, 'Running'), 'Running and Ready', 60_000);
  const id = o.status.id;
  t.match(id, /^web-[0-9a-f]{8}$/, 'status.id is the Firecracker provider id');
  t.ok(await livePid(fc.layout, id), 'a Firecracker process runs');
  t.equal((await fc.describe(id)).providerRaw.state, 'Running', 'Firecracker: Running');
  t.same(o.status.currentResources, { cpu: 1, memoryMiB: 128 });
  const provider = await env.waitFor(Kinds.Provider, 'lab', (o: any) => o.status?.healthy === true, 'healthy', 30_000);
  t.equal(provider.status.reportedCapabilities.supportsSnapshots, true, 'capabilities reported');
  const c = await vmConfig(id);
  const nic = c['network-interfaces'][0];
  t.ok(linksIn(netns).includes(nic.host_dev_name), `the NIC from the VMNetworkAttachment is on tap ${nic.host_dev_name} in the test's namespace`);
  t.equal(nic.rx_rate_limiter?.bandwidth?.size, 1_000_000, 'with the operator\'s 8 Mbit/s limit of lab-net');
  t.equal(nic.tx_rate_limiter?.bandwidth?.size, 500_000, 'and the attachment\'s qos.egressLimit of 4 Mbit/s out');
  const mmds = await fcApi<Record<string, any>>(fc.layout.socket(id), { method: 'GET', path: '/mmds' });
  t.equal(mmds.latest['user-data'], USER_DATA, 'the cloud-init user-data in MMDS');
  t.equal(c['machine-config'].vcpu_count, 1, 'vCPUs from the VMClass');
  t.equal(c['machine-config'].mem_size_mib, 128, 'memory from the VMClass');
});

t.test('a Provider whose binary is missing: a condition saying what to set', async (t) => {
  const p = await env.waitFor(Kinds.Provider, 'nobin', (o: any) => condition(o, 'ProviderAvailable')?.status === 'False', 'ProviderAvailable False', 30_000);
  const c = condition(p, 'ProviderAvailable')!;
  t.equal(c.reason, 'ValidationFailed', 'ValidationFailed');
  t.match(c.message, /Firecracker binary .*no-such-firecracker is not there: set FIRECRACKER_BIN/, `message: ${c.message}`);
  t.not(p.status?.healthy, true, 'not healthy');
});

t.test('resize of a running microVM: status says a restart is needed', async (t) => {
  const id = (await vm()).status.id;
  const pid = await livePid(fc.layout, id);
  await patchVm({ resources: { cpu: 2, memoryMiB: 256 } });
  const o = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.provider?.pendingRestart === 'true' && ready(o, 'Running'), 'pendingRestart in status', 30_000);
  t.match(o.status.provider.pendingRestartReason, /next power on/, `status.provider says why: ${o.status.provider.pendingRestartReason}`);
  const held = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.conditions?.some((c: any) => c.type === 'Reconfiguring' && c.reason === 'PendingRestart'), 'Reconfiguring=PendingRestart', 30_000);
  const rc = held.status.conditions.find((c: any) => c.type === 'Reconfiguring');
  t.equal(rc.status, 'True', 'the resize is not reported done while the process runs the old size');
  t.match(rc.message, /next power on; it applies at the next restart/);
  t.same(o.status.currentResources, { cpu: 2, memoryMiB: 256 }, 'the new size recorded');
  t.equal(await livePid(fc.layout, id), pid, 'the running process was left alone');
  t.equal((await vmConfig(id))['machine-config'].vcpu_count, 1, 'which still has 1 vCPU');
});

t.test('operator restart: the running microVM is found again, not made twice', async (t) => {
  const before = await vm();
  const id = before.status.id;
  const pid = await livePid(fc.layout, id);
  await operator.stop();
  operator = await env.start(startOpts);
  // The new operator's provider reads the state directory; a spec change proves it drives the VM.
  await env.admin.patch(Kinds.VirtualMachine, env.ns, 'web', { metadata: { labels: { restarted: 'yes' } } }, { type: 'merge' });
  const o = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => ready(o, 'Running') && o.status?.provider?.pid === String(pid), 'Running, same process', 30_000);
  t.equal(o.status.id, id, 'the same provider id');
  t.equal(await livePid(fc.layout, id), pid, 'the same Firecracker process, left running');
  t.equal((await fc.listVMs()).length, 1, 'one microVM on the host');
});

t.test('power off, then on', async (t) => {
  const id = (await vm()).status.id;
  await patchVm({ powerState: 'Off' });
  await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => ready(o, 'Stopped'), 'Stopped', 30_000);
  t.notOk(await livePid(fc.layout, id), 'no Firecracker process');
  await patchVm({ powerState: 'On' });
  const o = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => ready(o, 'Running') && o.status?.provider?.pendingRestart === undefined, 'Running again', 30_000);
  t.ok(await livePid(fc.layout, id), 'a new Firecracker process');
  const c = await vmConfig(id);
  t.same([c['machine-config'].vcpu_count, c['machine-config'].mem_size_mib], [2, 256], 'from the saved config: the new size');
  t.equal(o.status.provider.pendingRestart, undefined, 'no restart pending in status');
  const done = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.status?.conditions?.some((c: any) => c.type === 'Reconfiguring' && c.status === 'False'), 'Reconfiguring=False', 30_000);
  t.equal(done.status.conditions.find((c: any) => c.type === 'Reconfiguring').reason, 'ReconcileSuccess', 'applied by the restart');
});

t.test('VMSnapshot, then revert to it in a new process', async (t) => {
  const id = (await vm()).status.id;
  await env.admin.create(Kinds.VMSnapshot, {
    apiVersion: API, kind: 'VMSnapshot', metadata: { name: 'warm', namespace: env.ns },
    spec: { vmRef: { name: 'web' }, snapshotConfig: { includeMemory: true } },
  });
  const snap = await env.waitFor(Kinds.VMSnapshot, 'warm', (o: any) => o.status?.phase === 'Ready', 'snapshot Ready', 60_000);
  const before = await livePid(fc.layout, id);
  await patchVm({ snapshot: { revertToRef: { name: 'warm' } } });
  await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => o.metadata.annotations?.['virtrigaud.io/reverted-snapshot'] === snap.metadata.uid && ready(o, 'Running'), 'reverted and Running', 60_000);
  const after = await livePid(fc.layout, id);
  t.ok(after && after !== before, `restored by a new process (${before} → ${after})`);
});

t.test('OffGraceful: Ctrl+Alt+Del, then killed at gracefulShutdownTimeout', async (t) => {
  const id = (await vm()).status.id;
  const started = Date.now();
  await patchVm({ powerState: 'OffGraceful', lifecycle: { gracefulShutdownTimeout: '3s' } });
  const o = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => ready(o, 'Stopped'), 'Stopped', 30_000);
  const took = Date.now() - started;
  t.ok(took >= 3_000, `not before the 3 s timeout (${took} ms): no guest answers Ctrl+Alt+Del here`);
  t.equal(o.status.provider.lastShutdown, 'forced-after-timeout', 'status.provider says it was forced after the timeout');
  t.notOk(await livePid(fc.layout, id), 'no Firecracker process');
});

t.test('delete: Firecracker process and files gone', async (t) => {
  const id = (await vm()).status.id;
  await env.admin.delete(Kinds.VirtualMachine, env.ns, 'web');
  const end = Date.now() + 60_000;
  while ((await vm()) && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  t.notOk(await vm(), 'VM released by the finalizer');
  t.notOk(existsSync(fc.layout.vmDir(id)), 'VM directory removed');
  t.same(await firecrackerPidsUnder(dir), [], 'no Firecracker process under the state directory');
  t.same(await fc.listVMs(), [], 'no VM left on the host');
  t.same(linksIn(netns).filter((l) => l.startsWith('fc')), [], 'no tap left in the namespace');
});
