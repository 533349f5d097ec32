/**
 * Redaction is scoped per Provider, on the real API server. Two tenants in
 * two namespaces, each with a Provider and its credentials Secret, on one
 * reconciler. Provider errors of tenant A quote A's password: A's Provider,
 * VirtualMachine and VMSnapshot conditions and Events show [REDACTED].
 * Tenant B's provider errors quote A's password too, as plain text of B's
 * own: B's messages keep it, since redacting them with A's values would tell
 * B what A's secret is. The logs (the reconciler operators' own) hide it
 * everywhere. Deleting A's Provider drops A's scope.
 */
import t from 'tap';
import { Faults, MemoryProvider, MemoryStore } from '../../src/providers/memory';
import { ProviderError } from '../../src/providers/provider';
import { ProviderRegistry } from '../../src/providers/registry';
import { Kinds } from '../../src/reconciler/kinds';
import { CoreResources, REDACTED } from '../../src/reconciler/runtime';
import { SecretRedactor } from '../../src/reconciler/secrets';
import { condition, operatorEnv, testConfig, vmObject, type OperatorEnv } from '../reconciler/support/env';
import { eventually } from '../reconciler/support/faults-helpers';

const SECRET_A = 'tenant-a-Pa55w0rd-7f3e';
const SECRET_B = 'tenant-b-Pa55w0rd-91c2';

let env: OperatorEnv;
let nsA: string;
let nsB: string;
const redactor = new SecretRedactor();
let logs: string[];
/** Faults per Provider key; every connection the reconciler builds for that Provider shares them (and a store). */
const faults = new Map<string, Faults>();
const stores = new Map<string, MemoryStore>();

async function tenant(ns: string, username: string, password: string): Promise<void> {
  const { admin } = env;
  await admin.create(CoreResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'lab-creds', namespace: ns }, stringData: { username, password } });
  await admin.create(Kinds.Provider, {
    apiVersion: 'infra.virtrigaud.io/v1beta1',
    kind: 'Provider',
    metadata: { name: 'lab', namespace: ns, annotations: { 'virtrigaud.io/in-process': 'memory' } },
    spec: {
      type: 'libvirt',
      endpoint: 'https://memory.invalid/lab',
      credentialSecretRef: { name: 'lab-creds' },
      runtime: { image: 'example.invalid/provider:v1', service: { tls: { enabled: false } } },
      healthCheck: { interval: '1s', failureThreshold: 1 },
    },
  });
  await admin.create(Kinds.VMClass, { apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMClass', metadata: { name: 'small', namespace: ns }, spec: { cpu: 1, memory: '1Gi' } });
  await admin.create(Kinds.VMImage, { apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMImage', metadata: { name: 'ubuntu', namespace: ns }, spec: { source: { libvirt: { path: '/var/lib/libvirt/images/ubuntu.qcow2', format: 'qcow2' } } } });
}

const faultsOf = (ns: string) => faults.get(`${ns}/lab`)!;

async function eventsOf(ns: string, name: string, kind: string): Promise<{ type: string; reason: string; message: string }[]> {
  const list = await env.admin.list(CoreResources.events, ns, { fieldSelector: `involvedObject.name=${name},involvedObject.kind=${kind}` });
  return list.items.map((e: any) => ({ type: e.type, reason: e.reason, message: e.message }));
}

async function get(rt: (typeof Kinds)[keyof typeof Kinds], ns: string, name: string, check: (o: any) => boolean, what: string): Promise<any> {
  return eventually(`${ns}/${name}: ${what}`, async () => {
    const o = await env.admin.get<any>(rt, ns, name);
    return o && check(o) ? o : undefined;
  }, 45_000, 100);
}

/** Waits for a Warning Event of `name` with this reason; returns the Warnings of that object. */
async function warnings(ns: string, name: string, kind: string, reason: string): Promise<{ reason: string; message: string }[]> {
  const found = await eventually(`${ns}/${name}: a Warning ${reason} Event`, async () => {
    const evs = (await eventsOf(ns, name, kind)).filter((e) => e.type === 'Warning');
    return evs.some((e) => e.reason === reason) ? evs : undefined;
  }, 30_000, 100);
  return found ?? [];
}

t.before(async () => {
  // All namespaces are watched: a private control plane, so no other test's objects are reconciled.
  env = await operatorEnv(t, { private: true });
  nsA = env.ns;
  nsB = `${env.ns}-b`;
  await env.admin.create(CoreResources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: nsB } });
  // Usernames the messages never mention: only the passwords are to be found in them.
  await tenant(nsA, 'svc-tenant-a', SECRET_A);
  await tenant(nsB, 'svc-tenant-b', SECRET_B);
  const registry = new ProviderRegistry().register('memory', (ctx) => {
    const key = `${ctx.namespace}/${ctx.name}`;
    if (!stores.has(key)) stores.set(key, new MemoryStore());
    if (!faults.has(key)) faults.set(key, new Faults());
    const p = new MemoryProvider({ store: stores.get(key), credentials: ctx.credentials });
    (p as { faults: Faults }).faults = faults.get(key)!;
    return p;
  });
  const op = await env.start({ registry, redactor, namespace: undefined, config: testConfig([nsA, nsB]) });
  logs = op.logs;
  await env.admin.create(Kinds.VirtualMachine, vmObject(nsA, 'web'));
  await env.admin.create(Kinds.VirtualMachine, vmObject(nsB, 'web'));
  await get(Kinds.VirtualMachine, nsA, 'web', (o) => o.status?.phase === 'Running', 'Running');
  await get(Kinds.VirtualMachine, nsB, 'web', (o) => o.status?.phase === 'Running', 'Running');
});

t.test('each Provider has a scope of its own', async (t) => {
  t.ok(redactor.valuesOf(`${nsA}/lab`).includes(SECRET_A), "A's password is in A's scope");
  t.ok(redactor.valuesOf(`${nsB}/lab`).includes(SECRET_B), "B's password is in B's scope");
  t.notOk(redactor.valuesOf(`${nsB}/lab`).includes(SECRET_A), "A's password is not in B's scope");
});

t.test('VMSnapshot conditions and Events', async (t) => {
  for (const ns of [nsA, nsB]) {
    // One failed call (the controller's ProviderError path), then a task that fails (Failed).
    faultsOf(ns).failNext('SnapshotCreate', new ProviderError('Unauthenticated', `SnapshotCreate: login operator/${SECRET_A} refused`, 'SnapshotCreate'));
    faultsOf(ns).failTask('SnapshotCreate', `snapshot store refused key ${SECRET_A}`);
    await env.admin.create(Kinds.VMSnapshot, { apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMSnapshot', metadata: { name: 'nightly', namespace: ns }, spec: { vmRef: { name: 'web' } } });
  }
  const a = await get(Kinds.VMSnapshot, nsA, 'nightly', (o) => o.status?.phase === 'Failed', 'Failed');
  t.equal(condition(a, 'Ready')?.message, `snapshot store refused key ${REDACTED}`, "A's condition is redacted");
  t.equal(a.status.message, `snapshot store refused key ${REDACTED}`, 'status.message too');
  const aEvents = await warnings(nsA, 'nightly', 'VMSnapshot', 'Failed');
  t.same(aEvents.filter((e) => e.reason === 'ProviderError').map((e) => e.message), [`SnapshotCreate: login operator/${REDACTED} refused`], "A's ProviderError Event is redacted");
  t.same(aEvents.filter((e) => e.reason === 'Failed').map((e) => e.message), [`snapshot store refused key ${REDACTED}`], "A's Failed Event is redacted");
  t.notMatch(JSON.stringify(a), SECRET_A, 'A\'s password is nowhere in the VMSnapshot');

  const b = await get(Kinds.VMSnapshot, nsB, 'nightly', (o) => o.status?.phase === 'Failed', 'Failed');
  t.equal(condition(b, 'Ready')?.message, `snapshot store refused key ${SECRET_A}`, "B's condition keeps the string: not B's secret");
  const bEvents = await warnings(nsB, 'nightly', 'VMSnapshot', 'Failed');
  t.same(bEvents.filter((e) => e.reason === 'ProviderError').map((e) => e.message), [`SnapshotCreate: login operator/${SECRET_A} refused`], "B's ProviderError Event keeps it");
  t.same(bEvents.filter((e) => e.reason === 'Failed').map((e) => e.message), [`snapshot store refused key ${SECRET_A}`], "B's Failed Event keeps it");
});

t.test('VirtualMachine conditions and Events', async (t) => {
  for (const ns of [nsA, nsB]) faultsOf(ns).failAlways('Describe', new ProviderError('Unauthenticated', `Describe: token ${SECRET_A} expired`, 'Describe'));
  const a = await get(Kinds.VirtualMachine, nsA, 'web', (o) => condition(o, 'Ready')?.reason === 'ProviderError', 'Ready=False ProviderError');
  const b = await get(Kinds.VirtualMachine, nsB, 'web', (o) => condition(o, 'Ready')?.reason === 'ProviderError', 'Ready=False ProviderError');
  const aEvents = await warnings(nsA, 'web', 'VirtualMachine', 'ProviderError');
  const bEvents = await warnings(nsB, 'web', 'VirtualMachine', 'ProviderError');
  for (const ns of [nsA, nsB]) faultsOf(ns).clear();
  t.match(condition(a, 'Ready')?.message, `token ${REDACTED} expired`, "A's VM condition is redacted");
  t.notMatch(JSON.stringify(a.status), SECRET_A);
  t.ok(aEvents.some((e) => e.message.includes(`token ${REDACTED} expired`)), "A's VM Event is redacted");
  t.notOk(aEvents.some((e) => e.message.includes(SECRET_A)));
  t.match(condition(b, 'Ready')?.message, `token ${SECRET_A} expired`, "B's VM condition keeps it");
  t.ok(bEvents.some((e) => e.message.includes(`token ${SECRET_A} expired`)), "B's VM Event keeps it");
});

t.test('Provider conditions and Events', async (t) => {
  for (const ns of [nsA, nsB]) faultsOf(ns).failAlways('Validate', new ProviderError('Unauthenticated', `Validate: login operator/${SECRET_A} refused`, 'Validate'));
  const a = await get(Kinds.Provider, nsA, 'lab', (o) => condition(o, 'ProviderAvailable')?.status === 'False', 'ProviderAvailable=False');
  const b = await get(Kinds.Provider, nsB, 'lab', (o) => condition(o, 'ProviderAvailable')?.status === 'False', 'ProviderAvailable=False');
  const aEvents = await warnings(nsA, 'lab', 'Provider', 'ValidationFailed');
  const bEvents = await warnings(nsB, 'lab', 'Provider', 'ValidationFailed');
  for (const ns of [nsA, nsB]) faultsOf(ns).clear();
  t.equal(condition(a, 'ProviderAvailable')?.message, `Validate: login operator/${REDACTED} refused`, "A's Provider condition is redacted");
  t.equal(condition(a, 'Ready')?.message, `Validate: login operator/${REDACTED} refused`, 'so is Ready, which repeats it');
  t.notMatch(JSON.stringify(a.status), SECRET_A);
  t.same(aEvents.filter((e) => e.reason === 'ValidationFailed').map((e) => e.message), [`Validate: login operator/${REDACTED} refused`], "A's Provider Event is redacted");
  t.equal(condition(b, 'ProviderAvailable')?.message, `Validate: login operator/${SECRET_A} refused`, "B's Provider condition keeps it");
  t.same(bEvents.filter((e) => e.reason === 'ValidationFailed').map((e) => e.message), [`Validate: login operator/${SECRET_A} refused`], "B's Provider Event keeps it");
});

t.test('the logs hide every scope', async (t) => {
  t.ok(logs.some((l) => l.includes('health check failed') && l.includes(REDACTED)), 'the failed health checks were logged, redacted');
  t.same(logs.filter((l) => l.includes(SECRET_A)), [], "A's password is in no log line, not even B's");
  t.same(logs.filter((l) => l.includes(SECRET_B)), [], "nor B's");
});

t.test('deleting a Provider drops its scope', async (t) => {
  await env.admin.delete(Kinds.Provider, nsA, 'lab');
  await eventually(`scope ${nsA}/lab dropped`, () => !redactor.scopeKeys().includes(`${nsA}/lab`), 30_000, 100);
  t.notOk(redactor.secrets().includes(SECRET_A), "A's password is forgotten");
  t.ok(redactor.scopeKeys().includes(`${nsB}/lab`), "B's scope stays");
});
