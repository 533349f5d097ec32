/**
 * The rendered runtime objects against a real kube-apiserver, applied the
 * way the reconciler does it (server-side apply, field manager
 * PROVIDER_RUNTIME_FIELD_MANAGER, force) and as the reconciler's
 * ServiceAccount bound to the ClusterRole of dist/install.yaml, in a
 * namespace that enforces the restricted Pod Security Standard.
 *
 * A private control plane: it enables OwnerReferencesPermissionEnforcement
 * (off by default, on in hardened clusters), which makes blockOwnerDeletion
 * need `update` on providers/finalizers, and the install's RBAC objects have
 * fixed cluster-wide names. There is no controller manager, so nothing is
 * garbage-collected: deletion is checked through the owner references.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { KubeConfig } from '@kubernetes/client-node';
import { rawRequest, REPO_ROOT, useControlPlane, type ControlPlane, type RawResponse } from '../../../src/testenv';
import { PROVIDER_RUNTIME_FIELD_MANAGER, renderProviderRuntime, runtimePolicy, type RuntimeRenderResult } from '../../../src/reconciler/provider-runtime';
import { readYamlDocs } from '../../install/expected';
import { provider } from './fixtures';

const TENANT = 'provider-runtime-a';
const PROVIDERS = `/apis/infra.virtrigaud.io/v1beta1/namespaces/${TENANT}/providers`;

let cp: ControlPlane;
let admin: KubeConfig;
let reconciler: KubeConfig;

/** Retried on 429: a new CRD's watch cache answers "storage is (re)initializing" at first. */
async function req(kc: KubeConfig, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<RawResponse> {
  for (let attempt = 1; ; attempt++) {
    const r = await rawRequest(kc, { method, path, body, contentType: body === undefined ? undefined : contentType });
    if (r.status !== 429 || attempt === 20) return r;
    await new Promise((res) => setTimeout(res, 250));
  }
}
async function must(kc: KubeConfig, method: string, path: string, body?: unknown): Promise<any> {
  const r = await req(kc, method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return JSON.parse(r.text);
}

function pathOf(o: Record<string, any>): string {
  const plural = { ServiceAccount: 'serviceaccounts', Service: 'services', Deployment: 'deployments' }[o.kind as string];
  if (!plural) throw new Error(`unexpected kind ${o.kind}`);
  const base = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`;
  return `${base}/namespaces/${o.metadata.namespace}/${plural}/${o.metadata.name}`;
}

/** Server-side apply of one object, as the reconciler does it. */
function apply(kc: KubeConfig, o: Record<string, any>): Promise<RawResponse> {
  const q = `fieldManager=${PROVIDER_RUNTIME_FIELD_MANAGER}&force=true`;
  return rawRequest(kc, { method: 'PATCH', path: `${pathOf(o)}?${q}`, body: o, contentType: 'application/apply-patch+yaml' });
}

/** Applies every object; each must be accepted. Returns the stored objects. */
async function applyAll(t: Test, kc: KubeConfig, rendered: RuntimeRenderResult, what: string): Promise<any[]> {
  t.equal(rendered.refused, undefined, `${what}: not refused`);
  t.equal(rendered.objects.length, 3);
  const stored = [];
  for (const o of rendered.objects) {
    const r = await apply(kc, o);
    t.ok(r.status === 200 || r.status === 201, `${what}: ${o.kind} ${o.metadata.name} applied (${r.status}${r.status >= 300 ? ` ${r.text}` : ''})`);
    stored.push(JSON.parse(r.text));
  }
  return stored;
}

async function createProvider(p: ReturnType<typeof provider>): Promise<any> {
  const { metadata, ...rest } = p;
  return must(admin, 'POST', PROVIDERS, { ...rest, metadata: { name: metadata!.name } });
}

t.before(async () => {
  cp = await useControlPlane(t, { private: true, apiServerArgs: ['--enable-admission-plugins=OwnerReferencesPermissionEnforcement'] });
  admin = cp.kubeConfig;
  await cp.applyCrds([join(REPO_ROOT, 'dist', 'crds.yaml')]);
  // The install's own Namespace, ServiceAccount, ClusterRole and binding, exactly as shipped.
  const rbac = readYamlDocs('dist/install.yaml').filter((d) => ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding'].includes(d.kind));
  t.same(rbac.map((d) => d.kind), ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding']);
  const r = await cp.kubectl(['apply', '-f', '-'], { input: rbac.map((d) => stringify(d)).join('---\n') });
  if (r.code !== 0) throw new Error(`kubectl apply of the install RBAC: ${r.stderr}`);
  const sa = rbac.find((d) => d.kind === 'ServiceAccount');
  reconciler = (await cp.kubeconfigForServiceAccount(sa.metadata.namespace, sa.metadata.name, { create: false })).kubeConfig;
  await must(admin, 'POST', '/api/v1/namespaces', { metadata: { name: TENANT, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } });
});

t.test('applied as the reconciler: accepted, then idempotent', async (t) => {
  const live = await createProvider(provider({ namespace: TENANT }));
  // Render from the stored Provider, with the CRD defaults filled in, as the reconciler sees it.
  const rendered = renderProviderRuntime(live);
  const stored = await applyAll(t, reconciler, rendered, 'mTLS vSphere');

  const dep = stored[2];
  t.strictSame(dep.metadata.ownerReferences, [
    { apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'Provider', name: live.metadata.name, uid: live.metadata.uid, controller: true, blockOwnerDeletion: true },
  ]);
  t.ok(dep.metadata.managedFields.some((m: any) => m.manager === PROVIDER_RUNTIME_FIELD_MANAGER && m.operation === 'Apply'), 'owned by our field manager');
  const want = rendered.objects[2].spec.template.spec.containers[0];
  const got = dep.spec.template.spec.containers[0];
  t.strictSame(got.env, want.env, 'env stored as rendered (LOG_LEVEL/LOG_FORMAT from the CRD defaults)');
  t.same(got.env.map((e: any) => e.name).slice(6), ['LOG_LEVEL', 'LOG_FORMAT']);
  t.strictSame(got.securityContext, want.securityContext);
  t.strictSame(got.resources, want.resources);
  t.equal(dep.spec.template.spec.automountServiceAccountToken, false);
  t.equal(stored[0].automountServiceAccountToken, false);
  t.equal(stored[1].spec.type, 'ClusterIP');

  const versions = stored.map((o) => o.metadata.resourceVersion);
  const again = await applyAll(t, reconciler, renderProviderRuntime(live), 're-apply');
  t.same(again.map((o) => o.metadata.resourceVersion), versions, 're-applying the same objects changes nothing');

  // A spec change is applied, and fields no longer rendered are removed (they were ours).
  const patched = await req(admin, 'PATCH', `${PROVIDERS}/${live.metadata.name}`, { spec: { runtime: { replicas: 2, service: { tls: { enabled: false, secretRef: null } } } } }, 'application/merge-patch+json');
  t.equal(patched.status, 200, patched.text);
  const changed = await applyAll(t, reconciler, renderProviderRuntime(JSON.parse(patched.text)), 'switched to plaintext');
  t.not(changed[2].metadata.resourceVersion, versions[2], 'the Deployment changed');
  t.equal(changed[2].spec.replicas, 2);
  const pod = changed[2].spec.template.spec;
  t.notOk(pod.volumes.some((v: any) => v.name === 'provider-tls'), 'the TLS volume is gone');
  t.notOk(pod.containers[0].volumeMounts.some((m: any) => m.name === 'provider-tls'), 'and its mount');
  t.same(pod.containers[0].env.find((e: any) => e.name === 'VIRTRIGAUD_PROVIDER_INSECURE'), { name: 'VIRTRIGAUD_PROVIDER_INSECURE', value: 'true' });
  t.equal(changed[0].metadata.resourceVersion, versions[0], 'the ServiceAccount did not change');
});

/** Has PodSecurity admission judge the Deployment's pod template: a dry-run Pod in the same namespace. */
function dryRunPod(deployment: Record<string, any>): Promise<RawResponse> {
  const { metadata, spec } = deployment.spec.template;
  const ns = deployment.metadata.namespace;
  return req(admin, 'POST', `/api/v1/namespaces/${ns}/pods?dryRun=All`, { apiVersion: 'v1', kind: 'Pod', metadata: { ...metadata, name: deployment.metadata.name }, spec });
}

t.test('overrides, libvirt, duplicate env names and long names are accepted, also by PodSecurity (restricted)', async (t) => {
  // The runtime policy defaults refuse placement; the operator may allow it.
  const policy = runtimePolicy({ allowScheduling: true });
  const cases = [
    provider({
      name: 'kvm',
      spec: { type: 'libvirt', endpoint: 'qemu+ssh://root@kvm1.example.com/system' },
      runtime: {
        service: { port: 10443, tls: { enabled: false } },
        replicas: 2,
        imagePullPolicy: 'Always',
        resources: { limits: { cpu: '2', memory: '1Gi' } },
        securityContext: { runAsUser: 1000, readOnlyRootFilesystem: false, capabilities: { add: ['NET_BIND_SERVICE'] }, appArmorProfile: { type: 'RuntimeDefault' } },
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'virt', effect: 'NoSchedule' }],
        affinity: {
          podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 50, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'virtrigaud-provider' } } } },
            ],
          },
        },
        env: [
          { name: 'EXTRA', value: 'first' },
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'EXTRA', value: 'last' },
        ],
      },
    }),
    provider({ name: 'vc.example.com' }),
    provider({ name: 'vcenter-production-cluster-west-with-a-rather-long-name' }),
  ];
  for (const p of cases) {
    const live = await createProvider({ ...p, metadata: { ...p.metadata, namespace: TENANT } });
    const rendered = renderProviderRuntime(live, policy);
    const stored = await applyAll(t, reconciler, rendered, live.metadata.name);
    t.ok(rendered.serviceName.length <= 63, rendered.serviceName);
    for (const o of stored) t.equal(o.metadata.name, rendered.serviceName);
    const pod = await dryRunPod(stored[2]);
    t.equal(pod.status, 201, `${live.metadata.name}: the pod template passes PodSecurity admission (${pod.text.slice(0, 300)})`);
    const again = await applyAll(t, reconciler, renderProviderRuntime(live, policy), `${live.metadata.name} again`);
    t.same(again.map((o) => o.metadata.resourceVersion), stored.map((o) => o.metadata.resourceVersion), `${live.metadata.name}: idempotent`);
  }
  const kvm = await must(admin, 'GET', `/apis/apps/v1/namespaces/${TENANT}/deployments/virtrigaud-provider-${TENANT}-kvm`);
  const c = kvm.spec.template.spec.containers[0];
  t.same(c.securityContext.appArmorProfile, { type: 'RuntimeDefault' }, 'newer core/v1 fields survive');
  t.same(c.env.filter((e: any) => e.name === 'EXTRA'), [{ name: 'EXTRA', value: 'last' }]);
  t.same(c.securityContext.capabilities, { add: ['NET_BIND_SERVICE'], drop: ['ALL'] });
  t.same(c.securityContext.seccompProfile, { type: 'RuntimeDefault' });

  // Control: the same namespace refuses a pod that is not restricted, so the 201s above mean something.
  const weaker = structuredClone(kvm);
  weaker.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
  const refused = await dryRunPod(weaker);
  t.equal(refused.status, 403, refused.text);
  t.match(JSON.parse(refused.text).message, /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  t.same(kvm.spec.template.spec.volumes.find((v: any) => v.name === 'libvirt-runtime'), { name: 'libvirt-runtime', emptyDir: { medium: 'Memory', sizeLimit: '4Mi' } });
});

t.test('the permissions matter (control)', async (t) => {
  const live = await createProvider(provider({ name: 'control', namespace: TENANT }));
  const rendered = renderProviderRuntime(live);

  const nobody = (await cp.kubeconfigForServiceAccount(TENANT, 'nobody')).kubeConfig;
  t.equal((await apply(nobody, rendered.objects[2])).status, 403, 'a ServiceAccount without the ClusterRole is refused');

  // The install's ClusterRole without the providers/finalizers rule: blockOwnerDeletion is refused.
  const role = readYamlDocs('dist/install.yaml').find((d) => d.kind === 'ClusterRole');
  const rules = role.rules.filter((r: any) => !r.resources.some((res: string) => res.endsWith('/finalizers')));
  t.ok(rules.length < role.rules.length);
  await must(admin, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { metadata: { name: 'provider-runtime-no-finalizers' }, rules });
  await must(admin, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    metadata: { name: 'provider-runtime-no-finalizers' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'provider-runtime-no-finalizers' },
    subjects: [{ kind: 'ServiceAccount', name: 'weaker', namespace: TENANT }],
  });
  const weaker = (await cp.kubeconfigForServiceAccount(TENANT, 'weaker')).kubeConfig;
  const refused = await apply(weaker, rendered.objects[1]);
  t.equal(refused.status, 403, refused.text);
  t.match(refused.text, /blockOwnerDeletion/);
  const noBlock = structuredClone(rendered.objects[1]);
  noBlock.metadata.ownerReferences[0].blockOwnerDeletion = false;
  t.equal((await apply(weaker, noBlock)).status, 201, 'without blockOwnerDeletion the same role suffices');
});

t.test('deleting the Provider: the objects are owned by it', async (t) => {
  for (const propagationPolicy of ['Background', 'Foreground']) {
    const name = `del-${propagationPolicy.toLowerCase()}`;
    const live = await createProvider(provider({ name, namespace: TENANT }));
    const rendered = renderProviderRuntime(live);
    await applyAll(t, reconciler, rendered, name);
    const del = await req(admin, 'DELETE', `${PROVIDERS}/${name}?propagationPolicy=${propagationPolicy}`);
    t.ok(del.status === 200 || del.status === 202, `${propagationPolicy} delete accepted (${del.status})`);
    for (const o of rendered.objects) {
      const got = await must(admin, 'GET', pathOf(o));
      t.strictSame(
        got.metadata.ownerReferences,
        [{ apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'Provider', name, uid: live.metadata.uid, controller: true, blockOwnerDeletion: true }],
        `${propagationPolicy}: ${o.kind} points at the Provider (the garbage collector would delete it)`,
      );
    }
    const after = await req(admin, 'GET', `${PROVIDERS}/${name}`);
    if (propagationPolicy === 'Foreground') {
      // Foreground waits for the dependents that block owner deletion; with no garbage collector it stays pending.
      t.equal(after.status, 200);
      const p = JSON.parse(after.text);
      t.ok(p.metadata.deletionTimestamp, 'deletion pending');
      t.same(p.metadata.finalizers, ['foregroundDeletion']);
    } else {
      t.equal(after.status, 404, 'the Provider is gone at once');
    }
  }
});
