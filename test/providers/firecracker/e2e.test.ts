/**
 * End to end on the real API server: the reconciler serves a Provider
 * with `virtrigaud.io/in-process: firecracker`; Provider + VMClass +
 * VMImage (a directory with the Debian vmlinux and an ext4 rootfs, in the
 * operator's image roots) + VirtualMachine → a real Firecracker process
 * in a network namespace this test made; power off/on; VMSnapshot and
 * revert (a new process); delete → process and files gone.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { ProviderRegistry } from '../../../src/providers/registry';
import { FirecrackerProvider, livePid, registerFirecrackerProvider } from '../../../src/providers/firecracker';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { condition, operatorEnv, testConfig, type OperatorEnv } from '../../reconciler/support/env';
import { destroyStateDir, firecrackerBin, firecrackerPidsUnder, makeNetns, removeNetns, stateDir, templateDir } from './support';

const API = 'infra.virtrigaud.io/v1beta1';
let env: OperatorEnv;
let dir: string;
let fc: FirecrackerProvider;

const vm = () => env.admin.get<any>(Kinds.VirtualMachine, env.ns, 'web');
const patchVm = (spec: Record<string, unknown>) => env.admin.patch(Kinds.VirtualMachine, env.ns, 'web', { spec }, { type: 'merge' });
const ready = (o: any, phase: string) => o.status?.phase === phase && condition(o, 'Ready')?.status === 'True';

t.before(async () => {
  const binary = firecrackerBin();
  const template = templateDir();
  dir = await stateDir('e2e', []);
  const netns = makeNetns();
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
  await admin.create(Kinds.VMImage, { apiVersion: API, kind: 'VMImage', metadata: { name: 'debian', namespace: ns }, spec: { source: { libvirt: { path: template } } } });
  await env.start({
    registry: registerFirecrackerProvider(new ProviderRegistry()),
    config: testConfig([env.ns], {
      instances: [{ name: 'firecracker', driver: 'firecracker', namespaces: [env.ns], firecracker: { stateDir: dir, binary, netns, networks: [], smt: false } }],
      images: { roots: [template], tempDir: `${dir}/tmp` },
    }),
  });
});

t.test('VirtualMachine → a Firecracker process running', async (t) => {
  await env.admin.create(Kinds.VirtualMachine, {
    apiVersion: API, kind: 'VirtualMachine', metadata: { name: 'web', namespace: env.ns },
    spec: { providerRef: { name: 'lab' }, classRef: { name: 'tiny' }, imageRef: { name: 'debian' }, powerState: 'On' },
  });
  const o = await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => ready(o, 'Running'), 'Running and Ready', 60_000);
  const id = o.status.id;
  t.match(id, /^web-[0-9a-f]{8}$/, 'status.id is the Firecracker provider id');
  t.ok(await livePid(fc.layout, id), 'a Firecracker process runs');
  t.equal((await fc.describe(id)).providerRaw.state, 'Running', 'Firecracker: Running');
  t.same(o.status.currentResources, { cpu: 1, memoryMiB: 128 });
  const provider = await env.waitFor(Kinds.Provider, 'lab', (o: any) => o.status?.healthy === true, 'healthy', 30_000);
  t.equal(provider.status.reportedCapabilities.supportsSnapshots, true, 'capabilities reported');
});

t.test('power off, then on', async (t) => {
  const id = (await vm()).status.id;
  await patchVm({ powerState: 'Off' });
  await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => ready(o, 'Stopped'), 'Stopped', 30_000);
  t.notOk(await livePid(fc.layout, id), 'no Firecracker process');
  await patchVm({ powerState: 'On' });
  await env.waitFor(Kinds.VirtualMachine, 'web', (o: any) => ready(o, 'Running'), 'Running again', 30_000);
  t.ok(await livePid(fc.layout, id), 'a new Firecracker process');
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

t.test('delete: Firecracker process and files gone', async (t) => {
  const id = (await vm()).status.id;
  await env.admin.delete(Kinds.VirtualMachine, env.ns, 'web');
  const end = Date.now() + 60_000;
  while ((await vm()) && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  t.notOk(await vm(), 'VM released by the finalizer');
  t.notOk(existsSync(fc.layout.vmDir(id)), 'VM directory removed');
  t.same(await firecrackerPidsUnder(dir), [], 'no Firecracker process under the state directory');
  t.same(await fc.listVMs(), [], 'no VM left on the host');
});
