/**
 * An environment for reconciler tests on the real API server: a namespace,
 * the install's ClusterRole and Role (same rules, test-unique names) bound
 * to a ServiceAccount, and an Operator started with that ServiceAccount's
 * token, never as admin, so a missing permission fails the test. Logs are
 * captured for assertions (e.g. no credential ever appears).
 */
import { PassThrough } from 'node:stream';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { useControlPlane, REPO_ROOT, type ControlPlane, type TeardownHost } from '../../../src/testenv';
import { Operator, type OperatorOptions } from '../../../src/reconciler/operator';
import { MemoryProvider, memoryOptionsFromContext } from '../../../src/providers/memory';
import { ProviderRegistry } from '../../../src/providers/registry';
import { CoreResources, createLogger, KubeClient, type ResourceType } from '../../../src/reconciler/runtime';
import { SecretRedactor } from '../../../src/reconciler/secrets';
import { Kinds } from '../../../src/reconciler/kinds';
import { DEFAULT_CONFIG, type InProcessInstance, type ReconcilerConfig } from '../../../src/reconciler/config';

/**
 * The operator configuration reconciler tests run with: the in-memory test
 * driver switched on explicitly (as `--enable-test-providers` does) as the
 * instance `memory` for the given namespaces, plus any instances a test adds.
 */
export function testConfig(namespaces: readonly string[], extra: { instances?: InProcessInstance[]; images?: Partial<ReconcilerConfig['images']>; hooks?: ReconcilerConfig['hooks']; ipam?: ReconcilerConfig['ipam'] } = {}): ReconcilerConfig {
  return {
    ...DEFAULT_CONFIG,
    testProviders: true,
    inProcessProviders: [{ name: 'memory', driver: 'memory', namespaces: [...namespaces] }, ...(extra.instances ?? [])],
    images: { ...DEFAULT_CONFIG.images, ...extra.images },
    hooks: extra.hooks ?? DEFAULT_CONFIG.hooks,
    ipam: extra.ipam ?? DEFAULT_CONFIG.ipam,
  };
}

export const RBAC = { group: 'rbac.authorization.k8s.io', version: 'v1', namespaced: false } as const;
const clusterRoles: ResourceType = { ...RBAC, plural: 'clusterroles', kind: 'ClusterRole' };
const clusterRoleBindings: ResourceType = { ...RBAC, plural: 'clusterrolebindings', kind: 'ClusterRoleBinding' };
const roles: ResourceType = { ...RBAC, plural: 'roles', kind: 'Role', namespaced: true };
const roleBindings: ResourceType = { ...RBAC, plural: 'rolebindings', kind: 'RoleBinding', namespaced: true };

export function installDocs(): any[] {
  return parseAllDocuments(readFileSync(path.join(REPO_ROOT, 'dist', 'install.yaml'), 'utf8')).map((d) => d.toJSON());
}

/** A stream for a logger that appends each complete line to `lines` (and echoes them with VIRTRIGAUD_TEST_LOGS=1). */
export function lineCapture(lines: string[]): PassThrough {
  const stream = new PassThrough();
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    const complete = (partial + chunk.toString('utf8')).split('\n');
    partial = complete.pop() ?? '';
    lines.push(...complete);
    if (process.env.VIRTRIGAUD_TEST_LOGS === '1') for (const l of complete) process.stderr.write(`# op: ${l}\n`);
  });
  return stream;
}

export interface RunningOperator {
  readonly operator: Operator;
  readonly logs: string[];
  stop(): Promise<void>;
  /** Rejects if the operator stopped with an error. */
  readonly done: Promise<void>;
}

export interface OperatorEnv {
  readonly cp: ControlPlane;
  /** Admin client, for the test's own reads and writes. */
  readonly admin: KubeClient;
  /** Namespace of the test's objects and of the operator (Lease, ServiceAccount). */
  readonly ns: string;
  readonly serviceAccount: string;
  /** The operator's kubeconfig: the ServiceAccount bound to the install's roles. */
  readonly kubeConfig: KubeConfig;
  start(opts?: Partial<OperatorOptions>): Promise<RunningOperator>;
  /** Polls `get` until `check` passes; the last object is in the failure message. */
  waitFor<T = any>(rt: ResourceType, name: string, check: (o: T) => boolean, what: string, timeoutMs?: number): Promise<T>;
}

export async function operatorEnv(t: TeardownHost, opts: { private?: boolean; apiServerArgs?: string[] } = {}): Promise<OperatorEnv> {
  const cp = await useControlPlane(t, opts);
  await cp.applyCrds([path.join(REPO_ROOT, 'dist', 'crds.yaml')]);
  const admin = new KubeClient(cp.kubeConfig, { qps: 500, burst: 1000 });
  const suffix = randomBytes(3).toString('hex');
  const ns = `rec-${suffix}`;
  const serviceAccount = 'virtrigaud-reconciler';
  await admin.create(CoreResources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });

  // The install's rules, under names of our own so test files do not collide.
  const docs = installDocs();
  const clusterRole = docs.find((d) => d.kind === 'ClusterRole');
  const role = docs.find((d) => d.kind === 'Role');
  if (!clusterRole || !role) throw new Error('dist/install.yaml has no ClusterRole or Role: run npm run synth');
  const subject = [{ kind: 'ServiceAccount', name: serviceAccount, namespace: ns }];
  const crName = `virtrigaud-test-${suffix}`;
  await admin.create(clusterRoles, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: crName }, rules: clusterRole.rules });
  await admin.create(clusterRoleBindings, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: crName }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: crName }, subjects: subject });
  await admin.create(roles, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'virtrigaud-leader-election', namespace: ns }, rules: role.rules });
  await admin.create(roleBindings, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'virtrigaud-leader-election', namespace: ns }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'virtrigaud-leader-election' }, subjects: subject });
  t.teardown(async () => {
    await admin.delete(clusterRoleBindings, undefined, crName).catch(() => undefined);
    await admin.delete(clusterRoles, undefined, crName).catch(() => undefined);
  });
  const sa = await cp.kubeconfigForServiceAccount(ns, serviceAccount, { expirationSeconds: 7200 });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(sa.path);

  const start = async (o: Partial<OperatorOptions> = {}): Promise<RunningOperator> => {
    const logs: string[] = [];
    const stream = lineCapture(logs);
    const redactor = o.redactor ?? new SecretRedactor();
    const logger = o.logger ?? createLogger({ level: 'debug', format: 'json', stream, redact: () => redactor.secrets() });
    const operator = new Operator({
      kubeConfig,
      logger,
      redactor,
      namespace: ns,
      healthProbeBindAddress: '127.0.0.1:0',
      metricsBindAddress: '127.0.0.1:0',
      vmTiming: { pollMs: 200, resyncMs: 5_000, dependencyRetryMs: 2_000, errorRetryMs: 500 },
      config: testConfig([ns]),
      // The operator's own namespace is the test's (its Role is bound there): address Leases live there.
      systemNamespace: ns,
      ...o,
    });
    const ctl = new AbortController();
    const done = operator.start(ctl.signal);
    done.catch(() => undefined);
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      ctl.abort();
      await done.catch(() => undefined);
    };
    t.teardown(stop);
    return { operator, logs, stop, done };
  };

  const waitFor = async <T = any>(rt: ResourceType, name: string, check: (o: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    let last: T | undefined;
    for (;;) {
      last = await admin.get<T>(rt, rt.namespaced ? ns : undefined, name);
      if (last && check(last)) return last;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${rt.kind} ${name}: ${what}\nlast seen: ${JSON.stringify(last, null, 1)?.slice(0, 4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  return { cp, admin, ns, serviceAccount, kubeConfig, start, waitFor };
}

/**
 * A Provider served in process by the in-memory test driver (the operator instance `memory` that
 * {@link testConfig} switches on; `spec.type` is only a label here), its credentials Secret, a VMClass and a VMImage.
 */
export async function createFixtures(env: OperatorEnv, opts: { endpoint?: string; password?: string } = {}): Promise<void> {
  const { admin, ns } = env;
  await admin.create(CoreResources.secrets, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'lab-creds', namespace: ns },
    stringData: { username: 'admin', password: opts.password ?? 'hunter2-Very-Secret-Pa55' },
  });
  await admin.create(Kinds.Provider, {
    apiVersion: 'infra.virtrigaud.io/v1beta1',
    kind: 'Provider',
    metadata: { name: 'lab', namespace: ns, annotations: { 'virtrigaud.io/in-process': 'memory' } },
    spec: {
      type: 'libvirt',
      endpoint: opts.endpoint ?? 'https://memory.invalid/lab',
      credentialSecretRef: { name: 'lab-creds' },
      runtime: { image: 'example.invalid/provider:v1', service: { tls: { enabled: false } } },
      healthCheck: { interval: '2s' },
    },
  });
  await admin.create(Kinds.VMClass, { apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMClass', metadata: { name: 'small', namespace: ns }, spec: { cpu: 2, memory: '4Gi' } });
  await admin.create(Kinds.VMImage, {
    apiVersion: 'infra.virtrigaud.io/v1beta1',
    kind: 'VMImage',
    metadata: { name: 'ubuntu', namespace: ns },
    spec: { source: { libvirt: { path: '/var/lib/libvirt/images/ubuntu.qcow2', format: 'qcow2' } } },
  });
}

export function vmObject(ns: string, name: string, spec: Record<string, unknown> = {}): any {
  return {
    apiVersion: 'infra.virtrigaud.io/v1beta1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: ns },
    spec: { providerRef: { name: 'lab' }, classRef: { name: 'small' }, imageRef: { name: 'ubuntu' }, powerState: 'On', ...spec },
  };
}

export function condition(obj: any, type: string): { status: string; reason: string; message: string } | undefined {
  return obj?.status?.conditions?.find((c: any) => c.type === type);
}

/** A registry serving the in-memory driver that keeps each instance it makes, by Provider name (for tests to look inside). */
export function memoryRegistry(): { registry: ProviderRegistry; providers: Map<string, MemoryProvider> } {
  const providers = new Map<string, MemoryProvider>();
  const registry = new ProviderRegistry().register('memory', (ctx) => {
    const p = new MemoryProvider(memoryOptionsFromContext(ctx));
    providers.set(ctx.name, p);
    return p;
  });
  return { registry, providers };
}
