/**
 * dist/install.yaml against a real kube-apiserver: it applies with
 * `kubectl apply -f` as documented, the reconciler's pod passes the
 * "restricted" Pod Security admission of its namespace, and the reconciler's
 * ServiceAccount can do exactly what the reconciler needs: real requests for
 * the important cases, and a SelfSubjectAccessReview for every verb on every
 * resource involved.
 *
 * A private control plane: the install creates cluster-scoped objects with
 * fixed names (ClusterRole, ClusterRoleBinding, the CRDs) and its namespace.
 * There is no kubelet, so the Deployment never gets pods; that is fine here.
 */
import t from 'tap';
import * as path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { rawRequest, useControlPlane, type ControlPlane, type RawResponse } from '../../src/testenv';
import {
  ALL_VERBS,
  expectedClusterGrants,
  expectedRoleGrants,
  GROUP,
  NAMESPACE,
  CACHED,
  PLURALS,
  readYamlDocs,
  ROOT,
  SERVICE_ACCOUNT,
} from './expected';

const TENANT = 'tenant-a';
const seed = readYamlDocs('examples/manifests/vsphere-web-server.yaml');
const seedOf = (kind: string) => structuredClone(seed.find((d) => d.kind === kind));
const V = `/apis/${GROUP}/v1beta1`;

let cp: ControlPlane;
let admin: KubeConfig;
let sa: KubeConfig;

/** One request; retried on 429 as client-go does (a new CRD's watch cache answers "storage is (re)initializing" at first). */
async function req(kc: KubeConfig, method: string, p: string, body?: unknown, contentType = 'application/json'): Promise<RawResponse> {
  for (let attempt = 1; ; attempt++) {
    const r = await rawRequest(kc, { method, path: p, body, contentType: body === undefined ? undefined : contentType });
    if (r.status !== 429 || attempt === 20) return r;
    await new Promise((res) => setTimeout(res, 250));
  }
}
async function mustAdmin(method: string, p: string, body?: unknown): Promise<any> {
  const r = await req(admin, method, p, body);
  if (r.status >= 300) throw new Error(`${method} ${p} as admin: ${r.status} ${r.text}`);
  return JSON.parse(r.text);
}

t.before(async () => {
  cp = await useControlPlane(t, { private: true });
  admin = cp.kubeConfig;
});

t.test('kubectl apply -f dist/install.yaml', async (t) => {
  const r = await cp.kubectl(['apply', '-f', path.join(ROOT, 'dist', 'install.yaml')]);
  t.equal(r.code, 0, r.stderr);
  t.notMatch(r.stderr, /Warning/i, 'no warnings (Pod Security warn=restricted included)');
  const created = r.stdout.trim().split('\n');
  t.equal(created.length, 19, r.stdout);
  for (const line of created) t.match(line, / created$/);

  const wait = await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...readYamlDocs('dist/crds.yaml').map((c) => `crd/${c.metadata.name}`)]);
  t.equal(wait.code, 0, wait.stderr || wait.stdout);

  const again = await cp.kubectl(['apply', '-f', path.join(ROOT, 'dist', 'install.yaml')]);
  t.equal(again.code, 0, again.stderr);
  t.equal(again.stdout.trim().split('\n').filter((l) => !l.endsWith(' unchanged')).length, 0, `re-applying changes nothing:\n${again.stdout}`);

  const ssa = await cp.kubectl(['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-f', path.join(ROOT, 'dist', 'install.yaml')]);
  t.equal(ssa.code, 0, `server-side apply accepts it too: ${ssa.stderr}`);
});

t.test('the reconciler pod passes the namespace\'s restricted Pod Security admission', async (t) => {
  const d = await mustAdmin('GET', `/apis/apps/v1/namespaces/${NAMESPACE}/deployments/virtrigaud-reconciler`);
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'reconciler-check', namespace: NAMESPACE, labels: d.spec.template.metadata.labels }, spec: d.spec.template.spec };
  const ok = await req(admin, 'POST', `/api/v1/namespaces/${NAMESPACE}/pods?dryRun=All`, pod);
  t.equal(ok.status, 201, ok.text);

  // Control: the namespace really enforces "restricted" (so the acceptance above means something).
  const weak = structuredClone(pod);
  delete weak.spec.containers[0].securityContext.seccompProfile;
  weak.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
  const bad = await req(admin, 'POST', `/api/v1/namespaces/${NAMESPACE}/pods?dryRun=All`, weak);
  t.equal(bad.status, 403, 'a weaker pod is refused');
  t.match(JSON.parse(bad.text).message, /violates PodSecurity "restricted/);
});

t.test('as the reconciler ServiceAccount', async (t) => {
  await mustAdmin('POST', '/api/v1/namespaces', { metadata: { name: TENANT } });
  sa = (await cp.kubeconfigForServiceAccount(NAMESPACE, SERVICE_ACCOUNT, { create: false })).kubeConfig;
  const vm = { ...seedOf('VirtualMachine'), metadata: { name: 'web', namespace: TENANT } };
  await mustAdmin('POST', `${V}/namespaces/${TENANT}/virtualmachines`, vm);
  await mustAdmin('POST', `${V}/namespaces/${TENANT}/vmclasses`, { ...seedOf('VMClass'), metadata: { name: 'small', namespace: TENANT } });
  await mustAdmin('POST', `/api/v1/namespaces/${TENANT}/secrets`, { metadata: { name: 'vsphere-creds' }, stringData: { username: 'u', password: 'p' } });

  const can = async (what: string, method: string, p: string, body?: unknown, contentType?: string) => {
    const r = await req(sa, method, p, body, contentType);
    t.ok(r.status >= 200 && r.status < 300, `CAN ${what} (${r.status}${r.status >= 300 ? ` ${r.text}` : ''})`);
    return r;
  };
  const cannot = async (what: string, method: string, p: string, body?: unknown) => {
    const r = await req(sa, method, p, body);
    t.equal(r.status, 403, `CANNOT ${what} (${r.status})`);
  };

  const list = await can('list VirtualMachines in all namespaces', 'GET', `${V}/virtualmachines`);
  t.same(JSON.parse(list.text).items.map((i: any) => `${i.metadata.namespace}/${i.metadata.name}`), [`${TENANT}/web`]);
  await can('watch VirtualMachines in all namespaces', 'GET', `${V}/virtualmachines?watch=true&timeoutSeconds=1`);
  await can('watch VirtualMachines in one namespace', 'GET', `${V}/namespaces/${TENANT}/virtualmachines?watch=true&timeoutSeconds=1`);
  for (const p of CACHED) await can(`list ${p}`, 'GET', `${V}/${p}`);
  for (const p of PLURALS.filter((p) => !(CACHED as readonly string[]).includes(p))) await cannot(`list ${p} (no controller)`, 'GET', `${V}/${p}`);
  const got = JSON.parse((await can('get a VirtualMachine', 'GET', `${V}/namespaces/${TENANT}/virtualmachines/web`)).text);
  await can('PUT VirtualMachine status', 'PUT', `${V}/namespaces/${TENANT}/virtualmachines/web/status`, { ...got, status: { phase: 'Running' } });
  await cannot('PATCH VirtualMachine status (the reconciler PUTs it)', 'PATCH', `${V}/namespaces/${TENANT}/virtualmachines/web/status`, { status: { phase: 'Failed' } });
  await can('add a finalizer to a VirtualMachine', 'PATCH', `${V}/namespaces/${TENANT}/virtualmachines/web`, { metadata: { finalizers: ['infra.virtrigaud.io/finalizer'] } }, 'application/merge-patch+json');
  await cannot('PUT a VirtualMachine (the reconciler patches it)', 'PUT', `${V}/namespaces/${TENANT}/virtualmachines/web`, got);
  // VMSet members: the reconciler creates and deletes VirtualMachines (and nothing else of ours).
  await can('create a VirtualMachine (a VMSet member)', 'POST', `${V}/namespaces/${TENANT}/virtualmachines`, { ...vm, metadata: { name: 'web-1', namespace: TENANT } });
  await can('delete a VirtualMachine (a VMSet member)', 'DELETE', `${V}/namespaces/${TENANT}/virtualmachines/web-1`);
  await cannot('create a VMClass', 'POST', `${V}/namespaces/${TENANT}/vmclasses`, { apiVersion: `${GROUP}/v1beta1`, kind: 'VMClass', metadata: { name: 'big', namespace: TENANT }, spec: { cpu: 8, memory: '8Gi' } });
  await cannot('delete a VMSet', 'DELETE', `${V}/namespaces/${TENANT}/vmsets/any`);
  await cannot('update a VMClass', 'PATCH', `${V}/namespaces/${TENANT}/vmclasses/small`, { metadata: { labels: { seen: 'yes' } } });
  await cannot('get a VMClass (read from the cache)', 'GET', `${V}/namespaces/${TENANT}/vmclasses/small`);
  await can('create a core Event', 'POST', `/api/v1/namespaces/${TENANT}/events`, {
    metadata: { generateName: 'web.' },
    involvedObject: { apiVersion: `${GROUP}/v1beta1`, kind: 'VirtualMachine', name: 'web', namespace: TENANT },
    reason: 'Provisioning',
    message: 'cloning from template',
    type: 'Normal',
  });
  await cannot('create an events.k8s.io Event', 'POST', `/apis/events.k8s.io/v1/namespaces/${TENANT}/events`, {
    metadata: { generateName: 'web-' },
    eventTime: new Date().toISOString().replace(/\.\d+Z$/, '.000000Z'),
    reportingController: 'virtrigaud.io/reconciler',
    reportingInstance: 'virtrigaud-reconciler-0',
    action: 'Provision',
    reason: 'Provisioning',
    regarding: { apiVersion: `${GROUP}/v1beta1`, kind: 'VirtualMachine', name: 'web', namespace: TENANT },
    type: 'Normal',
  });
  await can('get a Secret (provider credentials)', 'GET', `/api/v1/namespaces/${TENANT}/secrets/vsphere-creds`);
  await cannot('watch Secrets in all namespaces', 'GET', `/api/v1/secrets?watch=true&timeoutSeconds=1`);
  await cannot('list Secrets in a namespace', 'GET', `/api/v1/namespaces/${TENANT}/secrets`);
  await can('list Namespaces (allowedNamespaces selectors)', 'GET', '/api/v1/namespaces');
  await can('create a Lease in its namespace (leader election)', 'POST', `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases`, { metadata: { name: 'virtrigaud-reconciler' }, spec: { holderIdentity: 'a' } });
  const lease = JSON.parse((await can('get its Lease', 'GET', `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/virtrigaud-reconciler`)).text);
  await can('renew its Lease', 'PUT', `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/virtrigaud-reconciler`, { ...lease, spec: { ...lease.spec, holderIdentity: 'b' } });
  await can('create a provider runtime Deployment', 'POST', `/apis/apps/v1/namespaces/${TENANT}/deployments`, {
    metadata: { name: 'provider-vsphere' },
    spec: { selector: { matchLabels: { app: 'p' } }, template: { metadata: { labels: { app: 'p' } }, spec: { containers: [{ name: 'p', image: 'p' }] } } },
  });
  await can('create a provider runtime Service', 'POST', `/api/v1/namespaces/${TENANT}/services`, { metadata: { name: 'provider-vsphere' }, spec: { ports: [{ port: 9443 }], selector: { app: 'p' } } });
  await can('create a provider runtime ServiceAccount', 'POST', `/api/v1/namespaces/${TENANT}/serviceaccounts`, { metadata: { name: 'provider-vsphere' } });
  await cannot('delete a provider runtime Deployment (garbage collection does)', 'DELETE', `/apis/apps/v1/namespaces/${TENANT}/deployments/provider-vsphere`);

  await cannot('delete a namespace', 'DELETE', `/api/v1/namespaces/${TENANT}`);
  await cannot('list nodes', 'GET', '/api/v1/nodes');
  await cannot('create a ClusterRole', 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { metadata: { name: 'evil' }, rules: [] });
  await cannot('bind a ClusterRole', 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${TENANT}/rolebindings`, {
    metadata: { name: 'evil' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: NAMESPACE }],
  });
  await cannot('create a Secret', 'POST', `/api/v1/namespaces/${TENANT}/secrets`, { metadata: { name: 'x' } });
  await cannot('delete a Secret', 'DELETE', `/api/v1/namespaces/${TENANT}/secrets/vsphere-creds`);
  await cannot('create a Pod directly', 'POST', `/api/v1/namespaces/${TENANT}/pods`, { metadata: { name: 'x' }, spec: { containers: [{ name: 'x', image: 'x' }] } });
  await cannot('list ConfigMaps', 'GET', '/api/v1/configmaps');
  await cannot('create a VMClass', 'POST', `${V}/namespaces/${TENANT}/vmclasses`, { ...seedOf('VMClass'), metadata: { name: 'other', namespace: TENANT } });
  await cannot('delete a VMClass', 'DELETE', `${V}/namespaces/${TENANT}/vmclasses/small`);
  await cannot('delete all VirtualMachines at once', 'DELETE', `${V}/namespaces/${TENANT}/virtualmachines`);
  await cannot('delete a CRD', 'DELETE', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/virtualmachines.${GROUP}`);
  await cannot('create a Lease in another namespace', 'POST', `/apis/coordination.k8s.io/v1/namespaces/${TENANT}/leases`, { metadata: { name: 'x' }, spec: {} });
  await can('list the Leases in its namespace (addresses held)', 'GET', `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases`);
  await cannot('list Leases in another namespace', 'GET', `/apis/coordination.k8s.io/v1/namespaces/${TENANT}/leases`);
  await cannot('list Leases in all namespaces', 'GET', '/apis/coordination.k8s.io/v1/leases');
  await can('delete a Lease in its namespace (an address released)', 'DELETE', `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/virtrigaud-reconciler`);
  await cannot('delete a Lease in another namespace', 'DELETE', `/apis/coordination.k8s.io/v1/namespaces/${TENANT}/leases/x`);
});

/** Resources checked in the matrix, as `group/resource[/subresource]`, beyond those the install grants. */
const UNGRANTED = [
  '/pods',
  '/pods/exec',
  '/configmaps',
  '/nodes',
  '/persistentvolumeclaims',
  '/serviceaccounts/token',
  '/secrets/status',
  'apps/daemonsets',
  'apps/statefulsets',
  'apps/deployments/scale',
  'batch/jobs',
  'rbac.authorization.k8s.io/clusterroles',
  'rbac.authorization.k8s.io/clusterrolebindings',
  'rbac.authorization.k8s.io/roles',
  'rbac.authorization.k8s.io/rolebindings',
  'apiextensions.k8s.io/customresourcedefinitions',
  'admissionregistration.k8s.io/validatingwebhookconfigurations',
  `${GROUP}/vmsets/scale`,
  `${GROUP}/vmclones/finalizers`,
  `${GROUP}/vmmigrations`,
  `${GROUP}/vmclasses/status`,
  `${GROUP}/vmclasses/finalizers`,
  `${GROUP}/virtualmachines/finalizers`,
  'events.k8s.io/events',
  '/services/status',
];

t.test('SelfSubjectAccessReview: every verb on every resource is allowed exactly as granted', async (t) => {
  const cluster = expectedClusterGrants();
  const role = expectedRoleGrants();
  const resources = [...new Set([...cluster.keys(), ...role.keys(), ...UNGRANTED])];
  const cases: { ns: string; res: string; verb: string; want: boolean }[] = [];
  for (const ns of ['', TENANT, NAMESPACE]) {
    for (const res of resources) {
      for (const verb of ALL_VERBS) {
        const want = (cluster.get(res)?.includes(verb) ?? false) || (ns === NAMESPACE && (role.get(res)?.includes(verb) ?? false));
        cases.push({ ns, res, verb, want });
      }
    }
  }
  const verdicts: string[] = [];
  const wrong: string[] = [];
  for (let i = 0; i < cases.length; i += 24) {
    await Promise.all(
      cases.slice(i, i + 24).map(async (c) => {
        const [group, resource, subresource] = c.res.split('/');
        const r = await req(sa, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { group, resource, subresource, verb: c.verb, namespace: c.ns || undefined } },
        });
        if (r.status !== 201) throw new Error(`SelfSubjectAccessReview: ${r.status} ${r.text}`);
        const allowed = JSON.parse(r.text).status.allowed === true;
        verdicts.push(`${allowed ? 'allow' : 'deny '} ${c.verb} ${c.res} in ${c.ns || 'all namespaces'}`);
        if (allowed !== c.want) wrong.push(`${c.verb} ${c.res} in ${c.ns || 'all namespaces'}: allowed=${allowed}, expected ${c.want}`);
      }),
    );
  }
  t.equal(verdicts.length, cases.length);
  t.same(wrong, [], `${cases.length} access reviews, ${cases.filter((c) => c.want).length} allowed`);
});
