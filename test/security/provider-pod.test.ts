/**
 * A tenant cannot use a Provider to get a pod it could not create itself.
 *
 * On the real API server: a tenant user whose Role allows only
 * infra.virtrigaud.io objects and Secrets in its namespace (so no pods, no
 * Deployments), and the Operator running as the install's ServiceAccount,
 * which may create Deployments anywhere. The namespace enforces the
 * restricted Pod Security Standard. The tenant creates Providers asking for a
 * privileged root pod, an image of its own, a place on the control-plane
 * nodes, and a reserved env variable (to switch mTLS off): each gets
 * ProviderRuntimeReady=False with the reason and every offending field, a
 * Warning Event, and no Deployment. A compliant Provider gets its Deployment,
 * whose pod template PodSecurity admission accepts (judged by a dry-run Pod:
 * a Deployment object itself is only warned about), and turning that
 * Provider privileged later leaves the Deployment exactly as it was.
 */
import t from 'tap';
import { tenantIn } from './tenant';
import type { KubeConfig } from '@kubernetes/client-node';
import { rawRequest, type RawResponse } from '../../src/testenv';
import { Kinds } from '../../src/reconciler/kinds';
import { CoreResources, KubeClient } from '../../src/reconciler/runtime';
import { condition, operatorEnv, type OperatorEnv } from '../reconciler/support/env';
import { eventually } from '../reconciler/support/faults-helpers';

const IMAGE = 'ghcr.io/projectbeskar/virtrigaud/provider-libvirt:v0.3.3';
const PSS = '(restricted Pod Security Standard)';

let env: OperatorEnv;
let ns: string;
let tenantKc: KubeConfig;
let tenant: KubeClient;

const runtimeName = (name: string) => `virtrigaud-provider-${ns}-${name}`;

function providerObject(name: string, runtime: Record<string, unknown>): any {
  return {
    apiVersion: 'infra.virtrigaud.io/v1beta1',
    kind: 'Provider',
    metadata: { name, namespace: ns },
    spec: {
      type: 'libvirt',
      endpoint: 'qemu+ssh://root@hv1.example.com/system',
      credentialSecretRef: { name: 'hv-creds' },
      runtime: { image: IMAGE, service: { tls: { enabled: false } }, ...runtime },
    },
  };
}

/** The Provider once the reconciler has judged its current generation. */
function judged(name: string, check: (p: any) => boolean, what: string): Promise<any> {
  return env.waitFor(Kinds.Provider, name, (p: any) => (condition(p, 'ProviderRuntimeReady') as any)?.observedGeneration === p.metadata.generation && check(p), what);
}

async function warningEvents(name: string, reason: string): Promise<{ reason: string; message: string }[]> {
  const found = await eventually(`a Warning ${reason} Event of Provider ${name}`, async () => {
    const list = await env.admin.list(CoreResources.events, ns, { fieldSelector: `involvedObject.kind=Provider,involvedObject.name=${name},type=Warning` });
    const matching = list.items.filter((e: any) => e.reason === reason).map((e: any) => ({ reason: e.reason as string, message: e.message as string }));
    return matching.length ? matching : undefined;
  }, 30_000, 100);
  return found ?? [];
}

/** PodSecurity admission's verdict on a pod template: a dry-run Pod in the namespace (as admin: only admission is under test). */
function dryRunPod(template: Record<string, any>, name: string): Promise<RawResponse> {
  return rawRequest(env.cp.kubeConfig, {
    method: 'POST',
    path: `/api/v1/namespaces/${ns}/pods?dryRun=All`,
    contentType: 'application/json',
    body: { apiVersion: 'v1', kind: 'Pod', metadata: { ...template.metadata, name }, spec: template.spec },
  });
}

t.before(async () => {
  env = await operatorEnv(t);
  ns = env.ns;
  await env.admin.patch(CoreResources.namespaces, undefined, ns, { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } }, { type: 'merge' });
  // The tenant: virtrigaud objects and Secrets in its own namespace, nothing else.
  const ten = await tenantIn(env, ns);
  tenantKc = ten.kubeConfig;
  tenant = ten.client;
  await tenant.create(CoreResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hv-creds', namespace: ns }, stringData: { username: 'root', password: 'tenant-Pa55' } });
  await env.start();
});

t.test('the tenant cannot create pods or Deployments itself', async (t) => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'direct' }, spec: { containers: [{ name: 'x', image: IMAGE }] } };
  const direct = await rawRequest(tenantKc, { method: 'POST', path: `/api/v1/namespaces/${ns}/pods`, body: pod, contentType: 'application/json' });
  t.equal(direct.status, 403, 'no pods');
  const dep = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'direct' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: pod.spec } } };
  const viaDeployment = await rawRequest(tenantKc, { method: 'POST', path: `/apis/apps/v1/namespaces/${ns}/deployments`, body: dep, contentType: 'application/json' });
  t.equal(viaDeployment.status, 403, 'no Deployments');
  // The Provider is the tenant's only way to get a pod.
  const allowed = await rawRequest(tenantKc, { method: 'POST', path: `/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, contentType: 'application/json', body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace: ns, group: 'infra.virtrigaud.io', resource: 'providers', verb: 'create' } } } });
  t.equal(JSON.parse(allowed.text).status?.allowed, true, 'but it may create Providers');
});

t.test('escalation attempts are refused: condition, Warning Event, no Deployment', async (t) => {
  const attempts: { name: string; runtime: Record<string, unknown>; reason: string; message: string }[] = [
    {
      name: 'privileged',
      runtime: { securityContext: { privileged: true, runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: true, capabilities: { add: ['SYS_ADMIN', 'NET_BIND_SERVICE'] }, seccompProfile: { type: 'Unconfined' }, procMount: 'Unmasked' } },
      reason: 'PodSecurityViolation',
      message: [
        `spec.runtime.securityContext.privileged: must be false or unset ${PSS}`,
        `spec.runtime.securityContext.allowPrivilegeEscalation: must be false or unset ${PSS}`,
        `spec.runtime.securityContext.runAsNonRoot: must be true or unset ${PSS}`,
        `spec.runtime.securityContext.runAsUser: must not be 0 ${PSS}`,
        `spec.runtime.securityContext.capabilities.add[0]: "SYS_ADMIN" is not allowed: only NET_BIND_SERVICE may be added ${PSS}`,
        `spec.runtime.securityContext.seccompProfile.type: Unsupported value: "Unconfined": must be RuntimeDefault or Localhost ${PSS}`,
        `spec.runtime.securityContext.procMount: must be Default or unset ${PSS}`,
      ].join('; '),
    },
    {
      name: 'own-image',
      runtime: { image: 'docker.io/attacker/provider-libvirt:latest' },
      reason: 'ImageNotAllowed',
      message: 'spec.runtime.image: "docker.io/attacker/provider-libvirt:latest" is not allowed: it must start with one of: ',
    },
    {
      name: 'lookalike-image',
      runtime: { image: 'ghcr.io/projectbeskar/virtrigaud/provider-libvirt-debug:v1' },
      reason: 'ImageNotAllowed',
      message: 'spec.runtime.image: "ghcr.io/projectbeskar/virtrigaud/provider-libvirt-debug:v1" is not allowed',
    },
    {
      name: 'control-plane',
      runtime: {
        tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
        nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
      },
      reason: 'SchedulingNotAllowed',
      message:
        'spec.runtime.tolerations: must be unset: the runtime policy does not let Providers choose their nodes (allowScheduling is false); ' +
        'spec.runtime.nodeSelector: must be unset: the runtime policy does not let Providers choose their nodes (allowScheduling is false)',
    },
    {
      // With mTLS decided, the tenant tries to switch the provider to plaintext behind the reconciler's back.
      name: 'reserved-env',
      runtime: { service: { tls: { enabled: true, secretRef: { name: 'hv-tls' } } }, env: [{ name: 'VIRTRIGAUD_PROVIDER_INSECURE', value: 'true' }, { name: 'PROVIDER_NAMESPACE', value: 'kube-system' }] },
      reason: 'EnvNotAllowed',
      message:
        'spec.runtime.env[0].name: VIRTRIGAUD_PROVIDER_INSECURE is set by the reconciler and cannot be overridden; ' +
        'spec.runtime.env[1].name: PROVIDER_NAMESPACE is set by the reconciler and cannot be overridden',
    },
  ];
  for (const a of attempts) await tenant.create(Kinds.Provider, providerObject(a.name, a.runtime));
  for (const a of attempts) {
    const p = await judged(a.name, (p) => condition(p, 'ProviderRuntimeReady')?.status === 'False', `${a.name} refused`);
    const c = condition(p, 'ProviderRuntimeReady')!;
    t.equal(c.reason, a.reason, `${a.name}: reason`);
    t.ok(c.message.startsWith(a.message), `${a.name}: the message names the fields\n  got:  ${c.message}\n  want: ${a.message}…`);
    t.equal(p.status.runtime.phase, 'Failed', `${a.name}: runtime Failed`);
    t.equal(condition(p, 'Ready')?.status, 'False', `${a.name}: not Ready`);
    const events = await warningEvents(a.name, a.reason);
    t.equal(events[0].message, c.message, `${a.name}: a Warning ${a.reason} Event with the same message`);
    for (const rt of [CoreResources.deployments, CoreResources.services, CoreResources.serviceAccounts]) {
      t.equal(await env.admin.get(rt, ns, runtimeName(a.name)), undefined, `${a.name}: no ${rt.kind}`);
    }
  }
  const ownImage = condition(await env.admin.get(Kinds.Provider, ns, 'own-image'), 'ProviderRuntimeReady')!;
  t.match(ownImage.message, 'ghcr.io/projectbeskar/virtrigaud/provider-libvirt', 'the message says which images are allowed');
});

t.test('a compliant Provider gets a restricted pod; a later privileged spec leaves it as it was', async (t) => {
  await tenant.create(Kinds.Provider, providerObject('compliant', { securityContext: { runAsUser: 1000, capabilities: { add: ['NET_BIND_SERVICE'] } }, env: [{ name: 'EXTRA', value: '1' }, { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }] }));
  const p = await judged('compliant', (p) => condition(p, 'ProviderRuntimeReady')?.reason === 'DeploymentNotReady', 'Deployment applied, no pod ready (no kubelet)');
  t.equal(p.status.runtime.phase, 'Pending');
  const dep = await env.admin.get<any>(CoreResources.deployments, ns, runtimeName('compliant'));
  t.ok(dep, 'the Deployment exists');
  const pod = dep.spec.template.spec;
  const c = pod.containers[0];
  t.equal(c.image, IMAGE);
  t.strictSame(
    { runAsNonRoot: c.securityContext.runAsNonRoot, allowPrivilegeEscalation: c.securityContext.allowPrivilegeEscalation, capabilities: c.securityContext.capabilities, seccompProfile: c.securityContext.seccompProfile },
    { runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
    'the restricted requirements are set explicitly',
  );
  t.equal(pod.automountServiceAccountToken, false, 'no API token in the pod');
  t.equal((await env.admin.get<any>(CoreResources.serviceAccounts, ns, runtimeName('compliant'))).automountServiceAccountToken, false, 'nor from its ServiceAccount');
  t.notOk(pod.hostNetwork || pod.hostPID || pod.hostIPC, 'no host namespaces');
  t.notOk(pod.volumes.some((v: any) => v.hostPath), 'no hostPath volume');
  t.equal(pod.tolerations, undefined);
  t.equal(pod.nodeSelector, undefined);

  const admitted = await dryRunPod(dep.spec.template, 'compliant-dry-run');
  t.equal(admitted.status, 201, `PodSecurity restricted admits the pod template (${admitted.text.slice(0, 300)})`);
  // Control: PodSecurity is on and enforcing here; the same template made privileged is refused.
  const privileged = structuredClone(dep.spec.template);
  Object.assign(privileged.spec.containers[0].securityContext, { privileged: true, allowPrivilegeEscalation: true });
  const refused = await dryRunPod(privileged, 'privileged-dry-run');
  t.equal(refused.status, 403, refused.text);
  t.match(JSON.parse(refused.text).message, /violates PodSecurity "restricted:latest": .*privileged \(container "provider" must not set securityContext.privileged=true\)/);

  // The tenant now asks for a privileged pod: refused, and the running Deployment is not touched.
  await tenant.patch(Kinds.Provider, ns, 'compliant', { spec: { runtime: { securityContext: { privileged: true, runAsUser: 1000 } } } }, { type: 'merge' });
  const after = await judged('compliant', (p) => condition(p, 'ProviderRuntimeReady')?.reason === 'PodSecurityViolation', 'refused');
  t.equal(condition(after, 'ProviderRuntimeReady')!.message, `spec.runtime.securityContext.privileged: must be false or unset ${PSS}`);
  t.same((await warningEvents('compliant', 'PodSecurityViolation')).map((e) => e.message), [`spec.runtime.securityContext.privileged: must be false or unset ${PSS}`]);
  const unchanged = await env.admin.get<any>(CoreResources.deployments, ns, runtimeName('compliant'));
  t.equal(unchanged.metadata.resourceVersion, dep.metadata.resourceVersion, 'the Deployment was not written');
  t.strictSame(unchanged.spec.template, dep.spec.template, 'its pod template is the compliant one');

  // Back to a compliant spec: applied again.
  await tenant.patch(Kinds.Provider, ns, 'compliant', { spec: { runtime: { securityContext: { privileged: false, runAsUser: 2000 } } } }, { type: 'merge' });
  const fixed = await judged('compliant', (p) => condition(p, 'ProviderRuntimeReady')?.reason === 'DeploymentNotReady', 'applied again');
  t.ok(fixed);
  const reapplied = await env.admin.get<any>(CoreResources.deployments, ns, runtimeName('compliant'));
  t.equal(reapplied.spec.template.spec.containers[0].securityContext.runAsUser, 2000);
  t.equal(reapplied.spec.template.spec.containers[0].securityContext.privileged, undefined, 'privileged: false is not carried into the pod');
});
