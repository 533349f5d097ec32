/**
 * The reconciler's RBAC is least privilege, shown verb by verb on a real
 * kube-apiserver. The verbs come from clusterRules() and
 * leaderElectionRules(), one case per verb of each resource. For each case
 * the Operator runs as a ServiceAccount bound to the install's ClusterRole
 * and Role (as rendered in dist/install.yaml) minus that one verb, and the
 * smallest scenario that needs the verb must fail: the API server's refusal
 * of exactly that request shows in the reconciler's log and the scenario's
 * goal is not reached within three times what the same scenario took with
 * the complete rules (at least 6 s). With the complete rules every scenario
 * reaches its goal without a single 403.
 * A verb no scenario claims fails the test: a new grant needs its proof.
 *
 * One private control plane with the OwnerReferencesPermissionEnforcement
 * admission plugin (so that `update` on providers/finalizers can be shown);
 * each trial has a namespace, a ServiceAccount and roles of its own, and
 * its operator watches that namespace only, so trials run side by side.
 * Scenarios that need a cluster-wide operator run first, one at a time.
 * Providers are the in-memory implementation served in process.
 *
 * VIRTRIGAUD_RBAC_LOGDIR=<dir> writes each trial's operator log there.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { ALL_KINDS } from '../../src/api/v1beta1';
import { clusterRules, leaderElectionRules } from '../../src/install';
import { MemoryProvider } from '../../src/providers/memory';
import { ProviderError } from '../../src/providers/provider';
import { ProviderRegistry } from '../../src/providers/registry';
import { allInformers } from '../../src/reconciler/informers';
import { Kinds } from '../../src/reconciler/kinds';
import { Operator } from '../../src/reconciler/operator';
import { CoreResources, createLogger, KubeClient, type ResourceType } from '../../src/reconciler/runtime';
import { SecretRedactor } from '../../src/reconciler/secrets';
import { templateHash } from '../../src/reconciler/vmset/naming';
import { REPO_ROOT, useControlPlane, type ControlPlane } from '../../src/testenv';
import { lineCapture, testConfig } from '../reconciler/support/env';

/** How long a scenario may take with the install's complete rules. */
const POSITIVE_LIMIT_MS = 20_000;
/**
 * Without one verb, a scenario gets NEGATIVE_FACTOR times what it took with
 * the complete rules in this run (under the same load), but at least
 * NEGATIVE_MIN_MS, to show that its goal is not reached.
 */
const NEGATIVE_FACTOR = 3;
// 6 s, not less: under a loaded CI machine a fast scenario (a retry after a failed provider call) did not reach the refused request within 3 s.
const NEGATIVE_MIN_MS = 6_000;
/** Upper bound on waiting for the informers to sync (or a 403) before a scenario starts. */
const SETTLE_MS = 5_000;
/** Trials running at the same time. */
const PARALLEL = 4;
const SERVICE_ACCOUNT = 'virtrigaud-reconciler';
const LEASE = 'virtrigaud-leader';
const API_VERSION = 'infra.virtrigaud.io/v1beta1';

const RBAC = { group: 'rbac.authorization.k8s.io', version: 'v1' } as const;
const clusterRoles: ResourceType = { ...RBAC, plural: 'clusterroles', kind: 'ClusterRole', namespaced: false };
const clusterRoleBindings: ResourceType = { ...RBAC, plural: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false };
const roles: ResourceType = { ...RBAC, plural: 'roles', kind: 'Role', namespaced: true };
const roleBindings: ResourceType = { ...RBAC, plural: 'rolebindings', kind: 'RoleBinding', namespaced: true };
const reviews: ResourceType = { group: 'authorization.k8s.io', version: 'v1', plural: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview', namespaced: false };

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** One verb on one resource, as granted by the ClusterRole or the leader-election Role. */
interface Grant {
  readonly scope: 'cluster' | 'role';
  readonly group: string;
  readonly resource: string;
  readonly verb: string;
  readonly key: string;
}

/** `update virtualmachines.infra.virtrigaud.io/status`, `get secrets`: the verb and resource as kubectl spells them. */
function keyOf(group: string, resource: string, verb: string): string {
  const [plural, sub] = resource.split('/');
  return `${verb} ${plural}${group ? `.${group}` : ''}${sub ? `/${sub}` : ''}`;
}

const grants: Grant[] = [
  ...clusterRules(ALL_KINDS).map((r) => ({ r, scope: 'cluster' as const })),
  ...leaderElectionRules().map((r) => ({ r, scope: 'role' as const })),
].flatMap(({ r, scope }) => r.resources.flatMap((resource) => r.verbs.map((verb) => ({ scope, group: r.apiGroup, resource, verb, key: keyOf(r.apiGroup, resource, verb) }))));

/** The install's rendered rules: what a trial takes one verb away from. */
const install = parseAllDocuments(readFileSync(path.join(REPO_ROOT, 'dist', 'install.yaml'), 'utf8')).map((d) => d.toJSON());
const renderedRules = {
  cluster: (install.find((d) => d?.kind === 'ClusterRole')?.rules ?? []) as PolicyRule[],
  role: (install.find((d) => d?.kind === 'Role')?.rules ?? []) as PolicyRule[],
};

function keysOf(rules: PolicyRule[]): string[] {
  return rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => keyOf(g, res, v))))).sort();
}

/** The rules with `g.verb` gone from `g.resource` (a rule naming more groups or resources is split so the rest keep it). */
function withoutGrant(rules: PolicyRule[], g: Grant | undefined): PolicyRule[] {
  if (!g) return rules;
  const out: PolicyRule[] = [];
  for (const r of rules) {
    if (!(r.apiGroups.includes(g.group) && r.resources.includes(g.resource) && r.verbs.includes(g.verb))) {
      out.push(r);
      continue;
    }
    const otherResources = r.resources.filter((x) => x !== g.resource);
    if (otherResources.length) out.push({ ...r, resources: otherResources });
    const otherGroups = r.apiGroups.filter((x) => x !== g.group);
    if (otherGroups.length) out.push({ ...r, apiGroups: otherGroups, resources: [g.resource] });
    const verbs = r.verbs.filter((v) => v !== g.verb);
    if (verbs.length) out.push({ apiGroups: [g.group], resources: [g.resource], verbs });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Trials: one operator, one namespace, one set of rules, one scenario.

interface Trial {
  readonly ns: string;
  readonly admin: KubeClient;
  /** The in-memory providers the operator built, by Provider name. */
  readonly memory: Map<string, MemoryProvider>;
  /** Creates another namespace for the trial (its name derived from `ns`). */
  namespace(suffix: string, labels?: Record<string, string>): Promise<string>;
  /** Polls `check` every 50 ms: true once it passes, false when the scenario's time is up. */
  until(check: () => Promise<boolean> | boolean): Promise<boolean>;
  get(rt: ResourceType, name: string): Promise<any>;
}

interface Scenario {
  readonly name: string;
  /** What the reconciler achieves in it. */
  readonly goal: string;
  /** The grants (keys) the scenario cannot do without. */
  readonly proves: readonly string[];
  /** How a refusal shows when not as the API server's `cannot VERB resource "R" in API group "G"`. */
  readonly evidence?: Readonly<Record<string, RegExp>>;
  /** The operator watches every namespace (the trial then runs alone). */
  readonly clusterWide?: boolean;
  /** Objects that exist before the operator starts. */
  before?(x: Trial): Promise<void>;
  /** Drives the scenario; true once the goal is observed, false when time ran out first. */
  run(x: Trial): Promise<boolean>;
}

interface TrialResult {
  readonly completed: boolean;
  readonly ms: number;
  /** How long the scenario was given. */
  readonly waitMs: number;
  readonly logs: string[];
  /** Keys of every request the API server refused, from the operator's log. */
  readonly denials: string[];
  readonly operatorError?: string;
  readonly error?: string;
  /** The status of every virtrigaud object of the trial, when the goal was not reached (for the failure message). */
  readonly state?: string[];
}

/** One line per virtrigaud object in these namespaces: kind, name, phase and conditions. */
async function stateOf(namespaces: readonly string[]): Promise<string[]> {
  const lines: string[] = [];
  for (const ns of namespaces) for (const rt of Object.values(Kinds)) {
    for (const o of (await admin.list<any>(rt, ns)).items) {
      const conditions = (o.status?.conditions ?? []).map((c: any) => `${c.type}=${c.status} ${c.reason}: ${c.message}`).join('; ');
      lines.push(`${rt.kind} ${o.metadata.name}: phase ${o.status?.phase ?? o.status?.runtime?.phase ?? '-'}; ${conditions}`);
    }
  }
  return lines;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The text of a JSON log line with its strings unescaped (a message quotes the API server's quotes). */
function textOf(line: string): string {
  try {
    const strings: string[] = [];
    const walk = (v: unknown) => {
      if (typeof v === 'string') strings.push(v);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(JSON.parse(line));
    return strings.join('\n');
  } catch {
    return line;
  }
}

/** The warnings and errors of a log, unescaped, for failure messages. */
function problems(logs: readonly string[]): string[] {
  return logs.filter((l) => /"level":"(warn|error)"/.test(l)).slice(-15).map(textOf);
}

const DENIAL = /cannot (\w+) resource "([^"]+)" in API group "([^"]*)"/g;

function denialsIn(logs: readonly string[]): string[] {
  const found = new Set<string>();
  for (const line of logs) for (const m of textOf(line).matchAll(DENIAL)) found.add(keyOf(m[3]!, m[2]!, m[1]!));
  return [...found].sort();
}

let cp: ControlPlane;
let admin: KubeClient;

/** Waits until the new bindings are in force: one granted verb of each role is allowed to the ServiceAccount. */
async function bindingsActive(kubeConfig: KubeConfig, ns: string, cluster: PolicyRule[], role: PolicyRule[]): Promise<void> {
  const client = new KubeClient(kubeConfig, { qps: 100, burst: 100 });
  const probes = [cluster[0], role[0]].filter((r): r is PolicyRule => r !== undefined);
  for (const r of probes) {
    const [resource, subresource] = r.resources[0]!.split('/');
    const deadline = Date.now() + 10_000;
    for (;;) {
      const review = await client.create<any>(reviews, {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { group: r.apiGroups[0], resource, subresource, verb: r.verbs[0], namespace: ns } },
      });
      if (review.status?.allowed) break;
      if (Date.now() > deadline) throw new Error(`the bindings of ${ns} did not take effect: ${JSON.stringify(review.status)}`);
      await sleep(50);
    }
  }
  client.close();
}

async function runTrial(s: Scenario, without: Grant | undefined, waitMs: number): Promise<TrialResult> {
  const suffix = randomBytes(4).toString('hex');
  const ns = `rbac-${suffix}`;
  const logs: string[] = [];
  const namespaces = [ns];
  let ctl: AbortController | undefined;
  let done: Promise<void> | undefined;
  try {
    await admin.create(CoreResources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const cluster = withoutGrant(renderedRules.cluster, without?.scope === 'cluster' ? without : undefined);
    const role = withoutGrant(renderedRules.role, without?.scope === 'role' ? without : undefined);
    const subjects = [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: ns }];
    const name = `virtrigaud-rbac-${suffix}`;
    const roleRef = (kind: string, n: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind, name: n });
    await admin.create(clusterRoles, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules: cluster });
    await admin.create(clusterRoleBindings, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name }, roleRef: roleRef('ClusterRole', name), subjects });
    await admin.create(roles, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'virtrigaud-leader-election', namespace: ns }, rules: role });
    await admin.create(roleBindings, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'virtrigaud-leader-election', namespace: ns }, roleRef: roleRef('Role', 'virtrigaud-leader-election'), subjects });
    const sa = await cp.kubeconfigForServiceAccount(ns, SERVICE_ACCOUNT, { expirationSeconds: 3600 });
    await bindingsActive(sa.kubeConfig, ns, cluster, role);

    const memory = new Map<string, MemoryProvider>();
    let deadline = Infinity;
    const x: Trial = {
      ns,
      admin,
      memory,
      async namespace(sfx, labels) {
        const name = `${ns}-${sfx}`;
        await admin.create(CoreResources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
        namespaces.push(name);
        return name;
      },
      async until(check) {
        for (;;) {
          if (await check()) return true;
          if (Date.now() > deadline) return false;
          await sleep(50);
        }
      },
      get: (rt, n) => admin.get(rt, rt.namespaced ? ns : undefined, n),
    };
    if (s.before) await s.before(x);

    const registry = new ProviderRegistry().register('memory', (ctx) => {
      // "slow": every call takes 400 ms; "flaky": the first Create and the first SnapshotCreate fail.
      const m = new MemoryProvider({ credentials: ctx.credentials, latencyMs: ctx.name === 'slow' ? 400 : undefined });
      if (ctx.name === 'flaky') {
        m.faults.failNext('Create', new ProviderError('Retryable', 'the hypervisor is busy; try again'));
        m.faults.failNext('SnapshotCreate', new ProviderError('Retryable', 'the datastore is busy; try again'));
        m.faults.failNext('Clone', new ProviderError('Retryable', 'the datastore is busy; try again'));
      }
      memory.set(ctx.name, m);
      return m;
    });
    const stream = lineCapture(logs);
    const redactor = new SecretRedactor();
    const operator = new Operator({
      kubeConfig: sa.kubeConfig,
      logger: createLogger({ level: 'debug', format: 'json', stream, redact: () => redactor.secrets() }),
      redactor,
      registry,
      // The in-memory driver as instance "memory" for this trial's namespace.
      config: testConfig([ns], { ipam: { pools: [{ name: 'trial', cidr: '10.99.0.0/29', dns: [], exclude: [], namespaces: [ns] }] } }),
      // Address Leases beside the leader-election Lease, where the trial's Role applies.
      systemNamespace: ns,
      namespace: s.clusterWide ? undefined : ns,
      leaderElection: { namespace: ns, name: LEASE, identity: ns, leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 300 },
      healthProbeBindAddress: '127.0.0.1:0',
      metricsBindAddress: '0',
      // Dependencies must wake a VM through the watches: no fallback timer within a trial.
      vmTiming: { pollMs: 100, resyncMs: 60_000, dependencyRetryMs: 60_000, errorRetryMs: 300 },
      vmCloneTiming: { pollMs: 200 },
    });
    ctl = new AbortController();
    let operatorError: string | undefined;
    done = operator.start(ctl.signal).catch((e: Error) => {
      operatorError = e.message;
    });

    // The scenario starts once the caches are filled (so what it creates arrives through the watches), or a 403 says they never will be.
    const settled = Date.now() + SETTLE_MS;
    while (Date.now() < settled && !allInformers(operator.informers).every((i) => i.hasSynced()) && !logs.some((l) => /forbidden/i.test(l))) await sleep(25);

    const started = Date.now();
    logs.push(JSON.stringify({ ts: new Date(started).toISOString(), level: 'debug', msg: 'trial: scenario starts' }));
    deadline = started + waitMs;
    const completed = await s.run(x);
    const ms = Date.now() - started;
    const state = completed ? [] : await stateOf(namespaces);
    if (process.env.VIRTRIGAUD_RBAC_LOGDIR) writeFileSync(path.join(process.env.VIRTRIGAUD_RBAC_LOGDIR, `${s.name}-${without?.key.replace(/\W+/g, '_') ?? 'all'}.log`), logs.join('\n'));
    return { completed, ms, waitMs, logs, denials: denialsIn(logs), operatorError, state };
  } catch (e) {
    return { completed: false, ms: 0, waitMs, logs, denials: denialsIn(logs), error: (e as Error).stack ?? String(e) };
  } finally {
    ctl?.abort();
    await done;
    // What a cluster-wide trial leaves behind would be reconciled by the next cluster-wide operator: remove it.
    if (s.clusterWide) await removeObjects(namespaces).catch((e: Error) => logs.push(`cleanup failed: ${e.message}`));
  }
}

/** Deletes every virtrigaud object in these namespaces, finalizers stripped first (no operator runs to release them). */
async function removeObjects(namespaces: readonly string[]): Promise<void> {
  for (const ns of namespaces) {
    for (const rt of Object.values(Kinds)) {
      for (const o of (await admin.list<any>(rt, ns)).items) {
        if (o.metadata.finalizers?.length) await admin.patch(rt, ns, o.metadata.name, { metadata: { finalizers: null } }, { type: 'merge' }).catch(() => undefined);
        await admin.delete(rt, ns, o.metadata.name);
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Objects and scenarios.

const meta = (x: Trial, name: string, extra: Record<string, unknown> = {}, namespace = x.ns) => ({ name, namespace, ...extra });
const IN_PROCESS = { 'virtrigaud.io/in-process': 'memory' };

async function credentials(x: Trial): Promise<void> {
  await x.admin.create(CoreResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: meta(x, 'lab-creds'), stringData: { username: 'admin', password: 'rbac-Test-Pa55word' } });
}

async function provider(x: Trial, name: string, opts: { remote?: boolean; allowedNamespaces?: unknown } = {}): Promise<void> {
  await x.admin.create(Kinds.Provider, {
    apiVersion: API_VERSION,
    kind: 'Provider',
    metadata: meta(x, name, opts.remote ? {} : { annotations: IN_PROCESS }),
    spec: {
      ...(opts.allowedNamespaces ? { allowedNamespaces: opts.allowedNamespaces } : {}),
      type: 'libvirt',
      endpoint: opts.remote ? 'qemu+ssh://root@hv1.example.com/system' : `https://memory.invalid/${name}`,
      credentialSecretRef: { name: 'lab-creds' },
      runtime: { image: 'ghcr.io/projectbeskar/virtrigaud/provider-libvirt:v0.3.0', service: { tls: { enabled: false } } },
      healthCheck: { interval: '2s' },
    },
  });
}

/** What a VM references besides its Provider: a class, an image, a network attachment and a placement policy. */
async function vmDependencies(x: Trial, ns = x.ns): Promise<void> {
  await Promise.all([
    x.admin.create(Kinds.VMClass, { apiVersion: API_VERSION, kind: 'VMClass', metadata: meta(x, 'small', {}, ns), spec: { cpu: 1, memory: '1Gi' } }),
    x.admin.create(Kinds.VMImage, { apiVersion: API_VERSION, kind: 'VMImage', metadata: meta(x, 'ubuntu', {}, ns), spec: { source: { libvirt: { path: '/var/lib/libvirt/images/ubuntu.qcow2', format: 'qcow2' } } } }),
    x.admin.create(Kinds.VMNetworkAttachment, { apiVersion: API_VERSION, kind: 'VMNetworkAttachment', metadata: meta(x, 'lan', {}, ns), spec: { network: { libvirt: { networkName: 'default' } } } }),
    x.admin.create(Kinds.VMPlacementPolicy, { apiVersion: API_VERSION, kind: 'VMPlacementPolicy', metadata: meta(x, 'spread', {}, ns), spec: {} }),
  ]);
}

async function vm(x: Trial, name: string, providerRef: { name: string; namespace?: string }, ns = x.ns): Promise<void> {
  await x.admin.create(Kinds.VirtualMachine, {
    apiVersion: API_VERSION,
    kind: 'VirtualMachine',
    metadata: meta(x, name, {}, ns),
    spec: {
      providerRef,
      classRef: { name: 'small' },
      imageRef: { name: 'ubuntu' },
      networks: [{ name: 'eth0', networkRef: { name: 'lan' } }],
      placementRef: { name: 'spread' },
      powerState: 'On',
    },
  });
}

/** Secret, in-process Provider `providerName`, the dependencies and VM "web" on it, all at once. */
async function withVM(x: Trial, providerName = 'lab'): Promise<void> {
  await Promise.all([credentials(x), provider(x, providerName), vmDependencies(x), vm(x, 'web', { name: providerName })]);
}

const condition = (o: any, type: string) => o?.status?.conditions?.find((c: any) => c.type === type);
const phaseIs = (x: Trial, rt: ResourceType, name: string, phase: string) => async () => (await x.get(rt, name))?.status?.phase === phase;
const vmRunning = (x: Trial, name = 'web') => async () => {
  const o = await x.get(Kinds.VirtualMachine, name);
  return o?.status?.phase === 'Running' && condition(o, 'Ready')?.status === 'True';
};
const providerReady = (x: Trial, name: string) => async () => condition(await x.get(Kinds.Provider, name), 'Ready')?.status === 'True';
async function eventsOf(x: Trial, name: string): Promise<any[]> {
  return (await x.admin.list(CoreResources.events, x.ns, { fieldSelector: `involvedObject.name=${name}` })).items;
}
async function setPower(x: Trial, powerState: string): Promise<void> {
  await x.admin.patch(Kinds.VirtualMachine, x.ns, 'web', { spec: { powerState } }, { type: 'merge' });
}

const G = 'infra.virtrigaud.io';
const k = (verb: string, resource: string, group = G) => keyOf(group, resource, verb);

const SCENARIOS: Scenario[] = [
  {
    name: 'namespace-consent',
    goal: 'a VM in a namespace that gets the label a Provider\'s allowedNamespaces selector asks for, after start-up, runs on that Provider in another namespace',
    proves: [k('list', 'namespaces', ''), k('watch', 'namespaces', '')],
    clusterWide: true,
    async before(x) {
      await credentials(x);
      await provider(x, 'shared', { allowedNamespaces: { from: 'Selector', selector: { matchLabels: { 'virtrigaud.io/tenant': 'blue' } } } });
    },
    async run(x) {
      const tenant = await x.namespace('blue', { 'virtrigaud.io/tenant': 'blue' });
      await vmDependencies(x, tenant);
      await vm(x, 'web', { name: 'shared', namespace: x.ns }, tenant);
      let touch = 0;
      return x.until(async () => {
        const o = await x.admin.get(Kinds.VirtualMachine, tenant, 'web');
        if (o?.status?.phase === 'Running') return true;
        // Nothing wakes a VM when a Namespace changes: touch it now and then, as a user re-applying it would.
        if (++touch % 20 === 0) await x.admin.patch(Kinds.VirtualMachine, tenant, 'web', { metadata: { annotations: { touched: String(touch) } } }, { type: 'merge' });
        return false;
      });
    },
  },
  {
    name: 'vm-running',
    goal: 'a VM created with its Provider, class, image, network and placement policy after start-up reaches Running',
    proves: [
      ...['virtualmachines', 'providers', 'vmclasses', 'vmimages', 'vmnetworkattachments', 'vmplacementpolicies'].flatMap((r) => [k('list', r), k('watch', r)]),
      k('list', 'vmsnapshots'),
      k('patch', 'virtualmachines'),
      k('update', 'virtualmachines/status'),
      k('update', 'vmimages/status'),
      k('get', 'secrets', ''),
    ],
    async run(x) {
      await withVM(x);
      return x.until(vmRunning(x));
    },
  },
  {
    name: 'vmset-rollout',
    goal: 'a VMSet whose first revision name is taken by a foreign ControllerRevision gets collisionCount 1 and its members; scaled after start-up it deletes one; an image change and its rollback renumber the old revision; revisionHistoryLimit 0 then prunes the unused one',
    proves: [
      k('list', 'vmsets'),
      k('watch', 'vmsets'),
      k('patch', 'vmsets'),
      k('update', 'vmsets/status'),
      k('update', 'vmsets/finalizers'),
      k('create', 'virtualmachines'),
      k('delete', 'virtualmachines'),
      ...['get', 'list', 'watch', 'create', 'patch', 'delete'].map((v) => k(v, 'controllerrevisions', 'apps')),
    ],
    evidence: { [k('update', 'vmsets/finalizers')]: /cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on/ },
    async before(x) {
      await Promise.all([credentials(x), provider(x, 'lab'), vmDependencies(x)]);
      await x.admin.create(Kinds.VMImage, { apiVersion: API_VERSION, kind: 'VMImage', metadata: meta(x, 'debian'), spec: { source: { libvirt: { path: '/var/lib/libvirt/images/debian.qcow2', format: 'qcow2' } } } });
      const set = await x.admin.create(Kinds.VMSet, {
        apiVersion: API_VERSION,
        kind: 'VMSet',
        metadata: meta(x, 'fleet'),
        spec: {
          replicas: 2,
          revisionHistoryLimit: 1,
          selector: { matchLabels: { app: 'fleet' } },
          updateStrategy: { rollingUpdate: { podManagementPolicy: 'Parallel' } },
          template: { metadata: { labels: { app: 'fleet' } }, spec: { providerRef: { name: 'lab' }, classRef: { name: 'small' }, imageRef: { name: 'ubuntu' }, powerState: 'On' } },
        },
      });
      // Someone else's ControllerRevision holds the name of the set's first revision (and the cache cannot see it: no VMSet label).
      await x.admin.create(CoreResources.controllerRevisions, { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: meta(x, `fleet-${templateHash(set.spec.template, 0)}`), data: { other: true }, revision: 1 });
    },
    async run(x) {
      const revs = async () => (await x.admin.list<any>(CoreResources.controllerRevisions, x.ns, { labelSelector: 'vmset.infra.virtrigaud.io/name=fleet' })).items;
      const setIs = (n: number, image: string) => async () => {
        const s = await x.get(Kinds.VMSet, 'fleet');
        if (!(s?.status?.observedGeneration === s?.metadata.generation && s.status.readyReplicas === n && s.status.replicas === n && s.status.updatedReplicas === n && s.status.currentRevision === s.status.updateRevision)) return false;
        const vms = (await x.admin.list<any>(Kinds.VirtualMachine, x.ns, { labelSelector: 'app=fleet' })).items;
        return vms.length === n && vms.every((v) => v.spec.imageRef.name === image);
      };
      if (!(await x.until(setIs(2, 'ubuntu')))) return false;
      if ((await x.get(Kinds.VMSet, 'fleet')).status.collisionCount !== 1) return false;
      await x.admin.patch(Kinds.VMSet, x.ns, 'fleet', { spec: { replicas: 1 } }, { type: 'merge' });
      if (!(await x.until(setIs(1, 'ubuntu')))) return false;
      const first = (await x.get(Kinds.VMSet, 'fleet')).status.updateRevision;
      await x.admin.patch(Kinds.VMSet, x.ns, 'fleet', { spec: { template: { spec: { imageRef: { name: 'debian' } } } } }, { type: 'merge' });
      if (!(await x.until(setIs(1, 'debian')))) return false;
      const second = (await x.get(Kinds.VMSet, 'fleet')).status.updateRevision;
      await x.admin.patch(Kinds.VMSet, x.ns, 'fleet', { spec: { template: { spec: { imageRef: { name: 'ubuntu' } } } } }, { type: 'merge' });
      if (!(await x.until(async () => (await setIs(1, 'ubuntu')()) && (await revs()).find((r) => r.metadata.name === first)?.revision === 3))) return false;
      await x.admin.patch(Kinds.VMSet, x.ns, 'fleet', { spec: { revisionHistoryLimit: 0 } }, { type: 'merge' });
      return x.until(async () => {
        const names = (await revs()).map((r) => r.metadata.name);
        return names.includes(first) && !names.includes(second) && !!(await x.admin.get(CoreResources.controllerRevisions, x.ns, `fleet-${first.split('-').pop()}`));
      });
    },
  },
  {
    name: 'vm-create-retry',
    goal: 'a VM whose first create on the provider fails is created on the retry (which re-reads the VM first) and reaches Running',
    proves: [k('get', 'virtualmachines')],
    before: (x) => withVM(x, 'flaky'),
    async run(x) {
      return (await x.until(vmRunning(x))) && x.memory.get('flaky')!.calls.Create >= 2;
    },
  },
  {
    name: 'provider-ready',
    goal: 'an in-process Provider created after start-up reports Ready in its status',
    proves: [k('update', 'providers/status')],
    async run(x) {
      await credentials(x);
      await provider(x, 'lab');
      return x.until(providerReady(x, 'lab'));
    },
  },
  {
    name: 'provider-status-conflict',
    goal: 'a Provider whose labels keep changing while it is checked (each status write conflicts once) still reports Ready',
    proves: [k('get', 'providers')],
    async run(x) {
      await credentials(x);
      await provider(x, 'slow');
      let churning = true;
      const churn = (async () => {
        for (let i = 0; churning; i++) {
          await x.admin.patch(Kinds.Provider, x.ns, 'slow', { metadata: { labels: { churn: String(i) } } }, { type: 'merge' });
          await sleep(100);
        }
      })();
      try {
        return await x.until(providerReady(x, 'slow'));
      } finally {
        churning = false;
        await churn;
      }
    },
  },
  {
    name: 'snapshot-ready',
    goal: 'a VMSnapshot of a running VM, created after start-up, becomes Ready',
    proves: [k('watch', 'vmsnapshots'), k('patch', 'vmsnapshots'), k('update', 'vmsnapshots/status')],
    before: withVM,
    async run(x) {
      if (!(await x.until(vmRunning(x)))) return false;
      await x.admin.create(Kinds.VMSnapshot, { apiVersion: API_VERSION, kind: 'VMSnapshot', metadata: meta(x, 'before-upgrade'), spec: { vmRef: { name: 'web' } } });
      return x.until(phaseIs(x, Kinds.VMSnapshot, 'before-upgrade', 'Ready'));
    },
  },
  {
    name: 'snapshot-expiry',
    goal: 'a VMSnapshot with retentionPolicy.maxAge 1s is deleted once it expires, and its snapshot on the provider with it',
    proves: [k('delete', 'vmsnapshots')],
    before: withVM,
    async run(x) {
      if (!(await x.until(vmRunning(x)))) return false;
      await x.admin.create(Kinds.VMSnapshot, { apiVersion: API_VERSION, kind: 'VMSnapshot', metadata: meta(x, 'brief'), spec: { vmRef: { name: 'web' }, retentionPolicy: { maxAge: '1s' } } });
      if (!(await x.until(async () => (await x.get(Kinds.VMSnapshot, 'brief'))?.status?.snapshotID))) return false;
      return x.until(async () => !(await x.get(Kinds.VMSnapshot, 'brief')) && Object.values(x.memory.get('lab')!.store.read().vms).every((v) => !v.snapshots.length));
    },
  },
  {
    name: 'snapshot-schedule',
    goal: 'a VMSnapshot schedule (@every 2s) created after start-up makes a child VMSnapshot, owned by it, that becomes Ready',
    proves: [k('create', 'vmsnapshots'), k('update', 'vmsnapshots/finalizers')],
    evidence: { [k('update', 'vmsnapshots/finalizers')]: /cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on/ },
    before: withVM,
    async run(x) {
      if (!(await x.until(vmRunning(x)))) return false;
      await x.admin.create(Kinds.VMSnapshot, { apiVersion: API_VERSION, kind: 'VMSnapshot', metadata: meta(x, 'nightly'), spec: { vmRef: { name: 'web' }, schedule: { enabled: true, cronSpec: '@every 2s' } } });
      return x.until(async () => {
        const children = (await x.admin.list<any>(Kinds.VMSnapshot, x.ns, { labelSelector: 'vmsnapshot.infra.virtrigaud.io/schedule=nightly' })).items;
        return children.some((c) => c.status?.phase === 'Ready' && c.metadata.ownerReferences?.[0]?.name === 'nightly');
      });
    },
  },
  {
    name: 'snapshot-retry',
    goal: 'a VMSnapshot whose first SnapshotCreate fails is taken on the retry (which re-reads the VMSnapshot first) and becomes Ready',
    proves: [k('get', 'vmsnapshots')],
    before: (x) => withVM(x, 'flaky'),
    async run(x) {
      if (!(await x.until(vmRunning(x)))) return false;
      await x.admin.create(Kinds.VMSnapshot, { apiVersion: API_VERSION, kind: 'VMSnapshot', metadata: meta(x, 'before-upgrade'), spec: { vmRef: { name: 'web' } } });
      return (await x.until(phaseIs(x, Kinds.VMSnapshot, 'before-upgrade', 'Ready'))) && x.memory.get('flaky')!.calls.SnapshotCreate >= 2;
    },
  },
  {
    name: 'vmclone-ready',
    goal: 'a VMClone of a running VM, created after start-up, makes a new VirtualMachine bound to the copy and becomes Ready',
    proves: [k('list', 'vmclones'), k('watch', 'vmclones'), k('patch', 'vmclones'), k('update', 'vmclones/status')],
    before: withVM,
    async run(x) {
      if (!(await x.until(vmRunning(x)))) return false;
      await x.admin.create(Kinds.VMClone, { apiVersion: API_VERSION, kind: 'VMClone', metadata: meta(x, 'copy'), spec: { source: { vmRef: { name: 'web' } }, target: { name: 'web-copy' } } });
      return x.until(async () => {
        const c = await x.get(Kinds.VMClone, 'copy');
        return c?.status?.phase === 'Ready' && !!c.status.targetVMID && (await x.get(Kinds.VirtualMachine, 'web-copy'))?.status?.id === c.status.targetVMID;
      });
    },
  },
  {
    name: 'vmclone-retry',
    goal: 'a VMClone whose first Clone fails after its intent was recorded is cloned once on the retry (which re-reads the VMClone first) and becomes Ready',
    proves: [k('get', 'vmclones')],
    before: (x) => withVM(x, 'flaky'),
    async run(x) {
      if (!(await x.until(vmRunning(x)))) return false;
      await x.admin.create(Kinds.VMClone, {
        apiVersion: API_VERSION,
        kind: 'VMClone',
        metadata: meta(x, 'copy'),
        spec: { source: { vmRef: { name: 'web' } }, target: { name: 'web-copy' }, options: { retryPolicy: { retryDelay: '1s', backoffMultiplier: 1 } } },
      });
      return (await x.until(phaseIs(x, Kinds.VMClone, 'copy', 'Ready'))) && x.memory.get('flaky')!.calls.Clone === 2;
    },
  },
  {
    name: 'event-recorded',
    goal: 'creating a VM records a Created Event on it',
    proves: [k('create', 'events', '')],
    before: withVM,
    async run(x) {
      return x.until(async () => (await eventsOf(x, 'web')).some((e) => e.reason === 'Created'));
    },
  },
  {
    name: 'event-repeated',
    goal: 'a VM running, stopped and running again counts the repeated Running Event (count 2) instead of dropping it',
    proves: [k('patch', 'events', '')],
    before: withVM,
    async run(x) {
      if (!(await x.until(vmRunning(x)))) return false;
      await setPower(x, 'Off');
      if (!(await x.until(phaseIs(x, Kinds.VirtualMachine, 'web', 'Stopped')))) return false;
      await setPower(x, 'On');
      return x.until(async () => (await eventsOf(x, 'web')).some((e) => e.reason === 'Running' && e.count >= 2));
    },
  },
  {
    name: 'remote-runtime',
    goal: 'a Provider with a remote runtime gets its ServiceAccount, Service and Deployment (owned by it), and its status follows the Deployment becoming ready',
    proves: [
      ...['get', 'list', 'watch', 'create', 'patch'].map((v) => k(v, 'deployments', 'apps')),
      k('create', 'services', ''),
      k('patch', 'services', ''),
      k('create', 'serviceaccounts', ''),
      k('patch', 'serviceaccounts', ''),
      k('update', 'providers/finalizers'),
    ],
    // OwnerReferencesPermissionEnforcement refuses in its own words, checking update on the owner's finalizers.
    evidence: { [k('update', 'providers/finalizers')]: /cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on/ },
    async run(x) {
      await credentials(x);
      await provider(x, 'remote', { remote: true });
      const name = `virtrigaud-provider-${x.ns}-remote`;
      const applied = await x.until(async () => {
        const [sa, svc, dep] = await Promise.all([x.get(CoreResources.serviceAccounts, name), x.get(CoreResources.services, name), x.get(CoreResources.deployments, name)]);
        const owned = (o: any) => o?.metadata?.ownerReferences?.some((r: any) => r.kind === 'Provider' && r.name === 'remote' && r.blockOwnerDeletion === true);
        return owned(sa) && owned(svc) && owned(dep);
      });
      if (!applied || !(await x.until(async () => (await x.get(Kinds.Provider, 'remote'))?.status?.runtime?.phase === 'Pending'))) return false;
      // Play the kubelet: one ready replica. Only the Deployment watch tells the Provider controller.
      await x.admin.patch(CoreResources.deployments, x.ns, name, { status: { replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1 } }, { type: 'merge', subresource: 'status' });
      return x.until(async () => (await x.get(Kinds.Provider, 'remote'))?.status?.runtime?.phase === 'Running');
    },
  },
  {
    name: 'ip-pool',
    goal: 'a VM on a Pool VMNetworkAttachment runs with the first address of the operator pool, the attachment lists it in status, and deleting the VM releases that address (its Lease)',
    proves: [k('list', 'leases', 'coordination.k8s.io'), k('delete', 'leases', 'coordination.k8s.io'), k('update', 'vmnetworkattachments/status')],
    async run(x) {
      await Promise.all([
        credentials(x), provider(x, 'lab'), vmDependencies(x),
        x.admin.create(Kinds.VMNetworkAttachment, {
          apiVersion: API_VERSION, kind: 'VMNetworkAttachment', metadata: meta(x, 'pooled'),
          spec: { network: { libvirt: { networkName: 'default' } }, ipAllocation: { type: 'Pool', poolConfig: { poolRef: { name: 'trial' } } } },
        }),
        x.admin.create(Kinds.VirtualMachine, {
          apiVersion: API_VERSION, kind: 'VirtualMachine', metadata: meta(x, 'web'),
          spec: { providerRef: { name: 'lab' }, classRef: { name: 'small' }, imageRef: { name: 'ubuntu' }, networks: [{ name: 'eth0', networkRef: { name: 'pooled' } }], powerState: 'On' },
        }),
      ]);
      const leases = async () => (await x.admin.list(CoreResources.leases, x.ns, { labelSelector: 'ipam.virtrigaud.io/scope=p.trial' })).items;
      if (!(await x.until(async () => (await vmRunning(x)()) && (await x.get(Kinds.VirtualMachine, 'web'))?.status?.ips?.includes('10.99.0.1')))) return false;
      if (!(await x.until(async () => (await x.get(Kinds.VMNetworkAttachment, 'pooled'))?.status?.ipAllocations?.[0]?.ip === '10.99.0.1'))) return false;
      await x.admin.delete(Kinds.VirtualMachine, x.ns, 'web');
      return x.until(async () => !(await x.get(Kinds.VirtualMachine, 'web')) && (await leases()).length === 0);
    },
  },
  {
    name: 'leader-election',
    goal: 'the operator takes the Lease and renews it twice',
    proves: [k('get', 'leases', 'coordination.k8s.io'), k('create', 'leases', 'coordination.k8s.io'), k('update', 'leases', 'coordination.k8s.io')],
    async run(x) {
      const renewals = new Set<string>();
      return x.until(async () => {
        const lease = await x.admin.get(CoreResources.leases, x.ns, LEASE);
        // The trial's identity is its namespace's name.
        if (lease?.spec?.holderIdentity === x.ns) renewals.add(lease.spec.renewTime);
        return renewals.size >= 3;
      });
    },
  },
];

// ---------------------------------------------------------------------------
// The test.

t.before(async () => {
  cp = await useControlPlane(t, { private: true, apiServerArgs: ['--enable-admission-plugins=OwnerReferencesPermissionEnforcement'] });
  await cp.applyCrds([path.join(REPO_ROOT, 'dist', 'crds.yaml')]);
  admin = new KubeClient(cp.kubeConfig, { qps: 500, burst: 1000 });
  // A new CRD's watch cache answers "storage is (re)initializing" at first: wait that out here, not in a trial.
  for (const rt of Object.values(Kinds)) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await admin.list(rt, 'default');
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await sleep(200);
      }
    }
  }
});

t.test('the trials start from the install\'s rules: dist/install.yaml renders clusterRules() and leaderElectionRules()', async (t) => {
  t.same(keysOf(renderedRules.cluster), grants.filter((g) => g.scope === 'cluster').map((g) => g.key).sort(), 'ClusterRole');
  t.same(keysOf(renderedRules.role), grants.filter((g) => g.scope === 'role').map((g) => g.key).sort(), 'Role');
  const keys = grants.map((g) => g.key);
  t.same(keys.filter((key, i) => keys.indexOf(key) !== i), [], 'no verb is granted twice (taking one away must leave none)');
  t.ok(grants.length > 20, `${grants.length} verbs granted`);
  // Taking a verb away removes exactly that verb.
  const sample = grants.find((g) => g.key === k('get', 'virtualmachines'))!;
  t.same(keysOf(withoutGrant(renderedRules.cluster, sample)), keysOf(renderedRules.cluster).filter((key) => key !== sample.key));
});

t.test('every granted verb has a scenario that needs it, and every scenario proves a granted verb', async (t) => {
  const claimed = new Map<string, string>();
  for (const s of SCENARIOS) for (const key of s.proves) claimed.set(key, s.name);
  for (const g of grants) if (!claimed.has(g.key)) t.fail(`rule ${g.key} has no scenario proving it is needed`);
  const granted = new Set(grants.map((g) => g.key));
  for (const [key, s] of claimed) t.ok(granted.has(key), `scenario ${s} proves ${key}, which the install grants`);
  t.equal(new Set(SCENARIOS.map((s) => s.name)).size, SCENARIOS.length, 'scenario names are unique');
});

interface Job {
  readonly scenario: Scenario;
  readonly without?: Grant;
  readonly result: Promise<TrialResult>;
}

/** How long a scenario may take its negative trials: FACTOR times what it took with the complete rules, at least MIN. */
function negativeBound(positive: TrialResult): number {
  return positive.completed ? Math.min(POSITIVE_LIMIT_MS, Math.max(NEGATIVE_MIN_MS, NEGATIVE_FACTOR * positive.ms)) : NEGATIVE_MIN_MS;
}

/**
 * Starts every trial: cluster-wide ones first and alone, then the others
 * PARALLEL at a time; a scenario's negative trials wait for its positive one,
 * which sets their bound. Results are read in order by the subtests.
 */
function startTrials(): Job[] {
  const specs: { scenario: Scenario; without?: Grant }[] = SCENARIOS.map((scenario) => ({ scenario }));
  for (const g of grants) {
    const scenario = SCENARIOS.find((sc) => sc.proves.includes(g.key));
    if (scenario) specs.push({ scenario, without: g });
  }
  const ordered = [...specs.filter((j) => j.scenario.clusterWide), ...specs.filter((j) => !j.scenario.clusterWide)];
  const resolvers: ((r: TrialResult) => void)[] = [];
  const jobs: Job[] = ordered.map((spec) => ({ ...spec, result: new Promise<TrialResult>((res) => resolvers.push(res)) }));
  const positive = new Map(jobs.filter((j) => !j.without).map((j) => [j.scenario, j.result]));
  void (async () => {
    let next = 0;
    const worker = async (alone: boolean) => {
      while (next < jobs.length && (!alone || jobs[next]!.scenario.clusterWide)) {
        const i = next++;
        const job = jobs[i]!;
        const waitMs = job.without ? negativeBound(await positive.get(job.scenario)!) : POSITIVE_LIMIT_MS;
        resolvers[i]!(await runTrial(job.scenario, job.without, waitMs));
      }
    };
    await worker(true);
    await Promise.all(Array.from({ length: PARALLEL }, () => worker(false)));
  })();
  return jobs;
}

t.test('each scenario, and each verb taken away', async (t) => {
  const jobs = startTrials();
  for (const job of jobs) {
    const s = job.scenario;
    if (!job.without) {
      await t.test(`with the install's rules: ${s.name} (${s.goal})`, async (t) => {
        const r = await job.result;
        t.notOk(r.error, r.error ?? 'the trial ran');
        t.ok(r.completed, `reached in ${r.ms} ms (its negative trials wait ${negativeBound(r)} ms)`, { operatorError: r.operatorError, state: r.state, log: problems(r.logs) });
        t.same(r.denials, [], 'no request refused');
        t.same(r.logs.filter((l) => /forbidden/i.test(l)), [], 'no 403 logged');
        t.notOk(r.operatorError, 'the operator kept running');
      });
      continue;
    }
    const key = job.without.key;
    await t.test(`without ${key}: ${s.name} fails`, async (t) => {
      const r = await job.result;
      t.notOk(r.error, r.error ?? 'the trial ran');
      t.notOk(r.completed, `${s.goal}: not within ${r.waitMs} ms`, { state: r.state });
      const evidence = s.evidence?.[key];
      const logged = evidence ? r.logs.some((l) => evidence.test(textOf(l))) : r.denials.includes(key);
      t.ok(logged, `the reconciler logged the API server's refusal of ${key}`, { denials: r.denials, forbidden: r.logs.filter((l) => /forbidden/i.test(l)).slice(0, 5).map(textOf) });
    });
  }
});
