/**
 * The runtime policy's pure checks: each refused securityContext field with
 * its path and message, image prefixes (and look-alikes), placement,
 * reserved env names and value sources, the policy's defaults, and the
 * restricted-standard check of a rendered pod.
 */
import t from 'tap';
import {
  checkRuntime,
  DEFAULT_RUNTIME_POLICY,
  imageMatches,
  renderProviderRuntime,
  RESERVED_ENV_NAMES,
  restrictedPodProblems,
  restrictedSecurityContext,
  runtimePolicy,
  UPSTREAM_PROVIDER_IMAGES,
} from '../../../src/reconciler/provider-runtime';
import { byKind, provider } from './fixtures';

const IMAGE = 'ghcr.io/projectbeskar/virtrigaud/provider-vsphere:v0.3.7';
const PSS = '(restricted Pod Security Standard)';
type Runtime = NonNullable<NonNullable<ReturnType<typeof provider>['spec']>['runtime']>;
const check = (runtime: Partial<Runtime>, policy = DEFAULT_RUNTIME_POLICY) => checkRuntime({ image: IMAGE, ...runtime } as Runtime, policy);
const sc = (securityContext: Record<string, unknown>) => check({ securityContext } as Partial<Runtime>);

t.test('the defaults', async (t) => {
  t.same(DEFAULT_RUNTIME_POLICY.allowScheduling, false, 'placement is not the tenant’s by default');
  t.same([...DEFAULT_RUNTIME_POLICY.allowedImages].sort(), [
    'ghcr.io/projectbeskar/virtrigaud/provider-firecracker',
    'ghcr.io/projectbeskar/virtrigaud/provider-libvirt',
    'ghcr.io/projectbeskar/virtrigaud/provider-proxmox',
    'ghcr.io/projectbeskar/virtrigaud/provider-qemu',
    'ghcr.io/projectbeskar/virtrigaud/provider-vsphere',
  ]);
  t.ok(Object.isFrozen(DEFAULT_RUNTIME_POLICY) && Object.isFrozen(DEFAULT_RUNTIME_POLICY.allowedImages), 'frozen: no caller can widen it for everyone');
  for (const [type, repo] of Object.entries(UPSTREAM_PROVIDER_IMAGES)) {
    t.same(check({ image: `${repo}:v0.3.3` }), [], `${type}: the upstream image with a tag`);
    t.same(check({ image: `${repo}@sha256:${'a'.repeat(64)}` }), [], `${type}: by digest`);
  }
  t.same(check({}), [], 'a spec with only an image passes');
  t.same(checkRuntime(undefined), [], 'no runtime: nothing to check (refused elsewhere as MissingRuntime)');

  const p = runtimePolicy({ allowScheduling: true });
  t.equal(p.allowScheduling, true);
  t.same(p.allowedImages, DEFAULT_RUNTIME_POLICY.allowedImages, 'what is left out keeps its default');
  t.same(runtimePolicy({ allowedImages: ['registry.example/'] }).allowedImages, ['registry.example/']);
  for (const bad of ['', '   ', ' ghcr.io/x']) t.throws(() => runtimePolicy({ allowedImages: [bad] }), TypeError, `prefix ${JSON.stringify(bad)} is rejected`);
});

t.test('securityContext: every field that breaks the restricted standard, with its path', async (t) => {
  const cases: [Record<string, unknown>, string, string][] = [
    [{ privileged: true }, 'privileged', `must be false or unset ${PSS}`],
    [{ allowPrivilegeEscalation: true }, 'allowPrivilegeEscalation', `must be false or unset ${PSS}`],
    [{ runAsNonRoot: false }, 'runAsNonRoot', `must be true or unset ${PSS}`],
    [{ runAsUser: 0 }, 'runAsUser', `must not be 0 ${PSS}`],
    [{ capabilities: { add: ['SYS_ADMIN'] } }, 'capabilities.add[0]', `"SYS_ADMIN" is not allowed: only NET_BIND_SERVICE may be added ${PSS}`],
    [{ capabilities: { add: ['NET_BIND_SERVICE', 'NET_RAW'] } }, 'capabilities.add[1]', `"NET_RAW" is not allowed: only NET_BIND_SERVICE may be added ${PSS}`],
    [{ capabilities: { add: ['CAP_SYS_ADMIN'] } }, 'capabilities.add[0]', `"CAP_SYS_ADMIN" is not allowed: only NET_BIND_SERVICE may be added ${PSS}`],
    [{ seccompProfile: { type: 'Unconfined' } }, 'seccompProfile.type', `Unsupported value: "Unconfined": must be RuntimeDefault or Localhost ${PSS}`],
    [{ seccompProfile: { type: 'Localhost' } }, 'seccompProfile.localhostProfile', 'Required value: must be set when type is Localhost'],
    [{ appArmorProfile: { type: 'Unconfined' } }, 'appArmorProfile.type', `Unsupported value: "Unconfined": must be RuntimeDefault or Localhost ${PSS}`],
    [{ procMount: 'Unmasked' }, 'procMount', `must be Default or unset ${PSS}`],
    [{ seLinuxOptions: { type: 'spc_t' } }, 'seLinuxOptions.type', `"spc_t" is not allowed: must be one of container_t, container_init_t, container_kvm_t, container_engine_t or unset ${PSS}`],
    [{ seLinuxOptions: { user: 'system_u' } }, 'seLinuxOptions.user', `must be unset ${PSS}`],
    [{ seLinuxOptions: { role: 'sysadm_r' } }, 'seLinuxOptions.role', `must be unset ${PSS}`],
    [{ windowsOptions: { hostProcess: true } }, 'windowsOptions.hostProcess', `must be false or unset ${PSS}`],
    [{ hostNetwork: true }, 'hostNetwork', 'unknown field: cannot be checked against the restricted Pod Security Standard'],
  ];
  for (const [context, field, message] of cases) {
    t.strictSame(sc(context), [{ field: `spec.runtime.securityContext.${field}`, message, reason: 'PodSecurityViolation' }], JSON.stringify(context));
  }
  const all = sc({ privileged: true, runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: true });
  t.same(all.map((v) => v.field.split('.').at(-1)), ['privileged', 'allowPrivilegeEscalation', 'runAsNonRoot', 'runAsUser'], 'every offending field is named, not just the first');

  // What the restricted standard accepts passes, and explicit false/true/Default values are fine.
  for (const ok of [
    {},
    { privileged: false, allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 1000, runAsGroup: 0, readOnlyRootFilesystem: false },
    { capabilities: { add: ['NET_BIND_SERVICE'], drop: ['NET_RAW'] } },
    { seccompProfile: { type: 'RuntimeDefault' }, appArmorProfile: { type: 'Localhost', localhostProfile: 'k8s-provider' } },
    { procMount: 'Default', seLinuxOptions: { type: 'container_t', level: 's0:c123,c456' }, windowsOptions: { hostProcess: false } },
  ]) t.same(sc(ok), [], JSON.stringify(ok));
});

t.test('the rendered context always carries what the standard requires', async (t) => {
  t.strictSame(restrictedSecurityContext({}), { runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
  t.strictSame(
    restrictedSecurityContext({ privileged: false, runAsUser: 7, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['NET_RAW'] }, seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } }),
    { runAsUser: 7, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] }, seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' }, runAsNonRoot: true, allowPrivilegeEscalation: false },
  );
  const input = { runAsUser: 7 };
  restrictedSecurityContext(input);
  t.strictSame(input, { runAsUser: 7 }, 'the input is not modified');
});

t.test('images: prefixes match whole repository names', async (t) => {
  const repo = 'ghcr.io/projectbeskar/virtrigaud/provider-vsphere';
  t.ok(imageMatches(repo, repo), 'the bare repository (latest)');
  t.ok(imageMatches(`${repo}:v1`, repo));
  t.ok(imageMatches(`${repo}@sha256:${'0'.repeat(64)}`, repo));
  t.ok(imageMatches(`${repo}/debug:v1`, repo), 'a repository below it');
  for (const lookalike of [`${repo}-evil:v1`, `${repo}.attacker.example/x:v1`, `${repo}x`, 'ghcr.io/projectbeskar/virtrigaud/provider-vspher:v1', `docker.io/${repo}:v1`]) {
    t.notOk(imageMatches(lookalike, repo), `${lookalike} is not ${repo}`);
  }
  t.ok(imageMatches('registry.example/team/anything:1', 'registry.example/'), 'a prefix ending in / matches anything below');
  t.notOk(imageMatches('registry.example/p:v1.2', 'registry.example/p:v1'), 'a prefix without a separator at its end needs a boundary: tag v1 is not v1.2');
  t.ok(imageMatches(`registry.example/p:v1@sha256:${'0'.repeat(64)}`, 'registry.example/p:v1'), 'tag v1 pinned by digest');
  t.ok(imageMatches('registry.example/p:v1.2', 'registry.example/p:'), 'any tag');
  t.notOk(imageMatches('anything', ''), 'the empty prefix matches nothing');

  const refused = check({ image: 'docker.io/library/busybox:1.36' });
  t.equal(refused.length, 1);
  t.equal(refused[0].field, 'spec.runtime.image');
  t.equal(refused[0].reason, 'ImageNotAllowed');
  t.match(refused[0].message, /^"docker\.io\/library\/busybox:1\.36" is not allowed: it must start with one of: ghcr\.io\/projectbeskar\/virtrigaud\/provider-vsphere, /);
  t.same(check({ image: `${repo}-evil:v1` }).map((v) => v.reason), ['ImageNotAllowed']);
  t.same(check({ image: `${repo}/../../attacker/x:v1` }).map((v) => v.message), [`"${repo}/../../attacker/x:v1" is not a valid image reference`], 'no path games below an allowed prefix');
  t.same(check({ image: 'registry.example/p:v1' }, runtimePolicy({ allowedImages: ['registry.example/'] })), [], 'the operator’s own registry');
  t.match(check({}, runtimePolicy({ allowedImages: [] }))[0].message, /the runtime policy allows no image/);
});

t.test('placement: refused unless the operator allows it', async (t) => {
  const placement = {
    tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
    nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['cp-1'] }] }] } } },
  } as Partial<Runtime>;
  const refused = check(placement);
  t.same(refused.map((v) => [v.field, v.reason]), [
    ['spec.runtime.tolerations', 'SchedulingNotAllowed'],
    ['spec.runtime.nodeSelector', 'SchedulingNotAllowed'],
    ['spec.runtime.affinity', 'SchedulingNotAllowed'],
  ]);
  t.equal(refused[0].message, 'must be unset: the runtime policy does not let Providers choose their nodes (allowScheduling is false)');
  t.same(check(placement, runtimePolicy({ allowScheduling: true })), [], 'allowed when the operator says so');
  t.same(check({ tolerations: [], nodeSelector: {}, affinity: {} }), [], 'empty values ask for nothing');
});

t.test('env: reserved names and value sources', async (t) => {
  t.ok(RESERVED_ENV_NAMES.includes('VIRTRIGAUD_PROVIDER_INSECURE') && RESERVED_ENV_NAMES.includes('PROVIDER_NAMESPACE'));
  // Every variable the reconciler renders, with every option on, is reserved.
  const all = renderProviderRuntime(provider({
    spec: { insecureSkipVerify: true, defaults: { datastore: 'd', storagePod: 's', cluster: 'c', folder: 'f' } },
    runtime: { logLevel: 'debug', logFormat: 'json', service: { tls: { enabled: false } } },
  }));
  const rendered = byKind(all.objects, 'Deployment').spec.template.spec.containers[0].env.map((e: any) => e.name);
  t.equal(rendered.length, RESERVED_ENV_NAMES.length);
  t.same([...rendered].sort(), [...RESERVED_ENV_NAMES].sort(), 'the reserved list is exactly what the reconciler sets');

  for (const name of RESERVED_ENV_NAMES) {
    const v = check({ env: [{ name: 'OK', value: '1' }, { name, value: 'x' }] });
    t.same(v.map((x) => [x.field, x.reason]), [['spec.runtime.env[1].name', 'EnvNotAllowed']], name);
    t.match(v[0].message, new RegExp(`^${name} is set by the reconciler and cannot be overridden`));
  }
  t.equal(check({ env: [{ name: 'LOG_LEVEL', value: 'debug' }] })[0].message, 'LOG_LEVEL is set by the reconciler and cannot be overridden (use spec.runtime.logLevel)');
  t.same(check({ env: [{ name: 'VIRTRIGAUD_SOMETHING_LATER', value: '1' }] }).map((v) => v.field), ['spec.runtime.env[0].name'], 'the VIRTRIGAUD_ prefix is reserved');

  t.same(check({ env: [
    { name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
    { name: 'B', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } },
    { name: 'C', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: 'D', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } },
    { name: 'E', value: 'plain' },
  ] }), [], 'the four value sources of the pod’s own namespace');
  const other = check({ env: [{ name: 'F', valueFrom: { fileKeyRef: { path: '/etc/shadow', key: 'root', volumeName: 'host' } } } as any] });
  t.strictSame(other, [{ field: 'spec.runtime.env[0].valueFrom.fileKeyRef', message: 'not allowed: only secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef may be used', reason: 'EnvNotAllowed' }]);
});

t.test('the condition reason is the most fundamental violation', async (t) => {
  const both = renderProviderRuntime(provider({ runtime: { image: 'docker.io/x/y:1', tolerations: [{ operator: 'Exists' }], env: [{ name: 'PROVIDER_NAME', value: 'x' }], securityContext: { privileged: true } } }));
  t.equal(both.refused?.reason, 'PodSecurityViolation');
  t.same(both.violations.map((v) => v.reason), ['PodSecurityViolation', 'ImageNotAllowed', 'SchedulingNotAllowed', 'EnvNotAllowed']);
  t.equal(both.refused?.message.split('; ').length, 4, 'the message names every field');
  const env = renderProviderRuntime(provider({ runtime: { env: [{ name: 'PROVIDER_NAME', value: 'x' }] } }));
  t.equal(env.refused?.reason, 'EnvNotAllowed');
  t.equal(env.refused?.message, 'spec.runtime.env[0].name: PROVIDER_NAME is set by the reconciler and cannot be overridden');
});

t.test('restrictedPodProblems: what PodSecurity admission would refuse in a rendered pod', async (t) => {
  const rendered = byKind(renderProviderRuntime(provider()).objects, 'Deployment').spec.template.spec;
  t.same(restrictedPodProblems(rendered), [], 'the default rendering passes');
  const libvirt = byKind(renderProviderRuntime(provider({ spec: { type: 'libvirt' }, runtime: { service: { tls: { enabled: false } } } })).objects, 'Deployment').spec.template.spec;
  t.same(restrictedPodProblems(libvirt), [], 'libvirt (memory emptyDir), plaintext');

  const mutate = (f: (pod: any) => void) => {
    const pod = structuredClone(rendered);
    f(pod);
    return restrictedPodProblems(pod).map((p) => p.field);
  };
  t.same(mutate((p) => (p.hostNetwork = true)), ['hostNetwork']);
  t.same(mutate((p) => (p.hostPID = true)), ['hostPID']);
  t.same(mutate((p) => (p.hostIPC = true)), ['hostIPC']);
  t.same(mutate((p) => delete p.automountServiceAccountToken), ['automountServiceAccountToken']);
  t.same(mutate((p) => p.volumes.push({ name: 'root', hostPath: { path: '/' } })), ['volumes[3].hostPath']);
  t.same(mutate((p) => (p.containers[0].ports[0].hostPort = 9443)), ['containers[0].ports[0].hostPort']);
  t.same(mutate((p) => delete p.containers[0].securityContext.seccompProfile), ['containers[0].securityContext.seccompProfile.type'], 'seccomp must be set explicitly');
  t.same(mutate((p) => { delete p.containers[0].securityContext.seccompProfile; p.securityContext = { seccompProfile: { type: 'RuntimeDefault' } }; }), [], 'or inherited from the pod');
  t.same(mutate((p) => delete p.containers[0].securityContext.allowPrivilegeEscalation), ['containers[0].securityContext.allowPrivilegeEscalation']);
  t.same(mutate((p) => delete p.containers[0].securityContext.runAsNonRoot), ['containers[0].securityContext.runAsNonRoot']);
  t.same(mutate((p) => (p.containers[0].securityContext.capabilities = { drop: ['NET_RAW'] })), ['containers[0].securityContext.capabilities.drop']);
  t.same(mutate((p) => (p.securityContext = { runAsUser: 0 })), ['securityContext.runAsUser'], 'the container sets its own uid: only the pod level is wrong');
  t.same(mutate((p) => { p.securityContext = { runAsUser: 0 }; delete p.containers[0].securityContext.runAsUser; }), ['securityContext.runAsUser', 'containers[0].securityContext.runAsUser'], 'inherited by a container without its own');
  t.same(mutate((p) => p.initContainers = [{ name: 'init', image: 'x', securityContext: { privileged: true } }]).slice(0, 2), ['initContainers[0].securityContext.privileged', 'initContainers[0].securityContext.allowPrivilegeEscalation'], 'init containers are judged too');
  t.same(mutate((p) => (p.securityContext = { sysctls: [{ name: 'kernel.msgmax', value: '1' }] })), ['securityContext.sysctls']);
});
