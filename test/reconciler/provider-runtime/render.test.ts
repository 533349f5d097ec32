/**
 * renderProviderRuntime: the exact objects for an mTLS Provider, each TLS
 * decision and refusal, defaults vs overrides, policy refusals, env order,
 * the libvirt volume, long names, owner references and determinism.
 */
import t from 'tap';
import { labelValue, renderProviderRuntime, RESERVED_ENV_NAMES, restrictedPodProblems, runtimePolicy } from '../../../src/reconciler/provider-runtime';
import { byKind, containerOf, envNames, provider } from './fixtures';

const NAME = 'virtrigaud-provider-tenant-a-vcenter';
const LABELS = {
  'app.kubernetes.io/component': 'provider',
  'app.kubernetes.io/instance': 'vcenter',
  'app.kubernetes.io/managed-by': 'virtrigaud',
  'app.kubernetes.io/name': 'virtrigaud-provider',
  'virtrigaud.io/provider-type': 'vsphere',
};
const SELECTOR = { 'app.kubernetes.io/instance': 'vcenter', 'app.kubernetes.io/name': 'virtrigaud-provider' };
const OWNER = {
  apiVersion: 'infra.virtrigaud.io/v1beta1',
  blockOwnerDeletion: true,
  controller: true,
  kind: 'Provider',
  name: 'vcenter',
  uid: '3f1c2a9e-0000-4000-8000-000000000001',
};
const META = { labels: LABELS, name: NAME, namespace: 'tenant-a', ownerReferences: [OWNER] };
const probe = (initialDelaySeconds: number, periodSeconds: number) => ({
  failureThreshold: 3,
  httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' },
  initialDelaySeconds,
  periodSeconds,
});

t.test('mTLS Provider: exactly the intended ServiceAccount, Service and Deployment', async (t) => {
  const r = renderProviderRuntime(provider());
  t.equal(r.refused, undefined);
  t.same(r.tls.decision, 'Enabled');
  t.match(r.tls.message, `server name ${NAME}.tenant-a.svc.cluster.local`);
  t.equal(r.serviceName, NAME);
  t.equal(r.endpoint, `${NAME}.tenant-a.svc.cluster.local:9443`);
  t.same(r.objects.map((o) => o.kind), ['ServiceAccount', 'Service', 'Deployment']);
  t.strictSame(r.objects[0], { apiVersion: 'v1', kind: 'ServiceAccount', metadata: META, automountServiceAccountToken: false });
  t.strictSame(r.objects[1], {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: META,
    spec: {
      ports: [
        { name: 'grpc', port: 9443, protocol: 'TCP', targetPort: 9443 },
        { name: 'metrics', port: 8080, protocol: 'TCP', targetPort: 8080 },
      ],
      selector: SELECTOR,
      type: 'ClusterIP',
    },
  });
  t.strictSame(r.objects[2], {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: META,
    spec: {
      replicas: 1,
      selector: { matchLabels: SELECTOR },
      template: {
        metadata: { labels: LABELS },
        spec: {
          automountServiceAccountToken: false,
          containers: [
            {
              args: ['--port=9443', '--health-port=8080'],
              env: [
                { name: 'PROVIDER_TYPE', value: 'vsphere' },
                { name: 'PROVIDER_ENDPOINT', value: 'https://vcenter.example.com/sdk' },
                { name: 'PROVIDER_NAMESPACE', value: 'tenant-a' },
                { name: 'PROVIDER_NAME', value: 'vcenter' },
                { name: 'TLS_ENABLED', value: 'true' },
                { name: 'TLS_INSECURE_SKIP_VERIFY', value: 'false' },
              ],
              image: 'ghcr.io/projectbeskar/virtrigaud/provider-vsphere:v0.3.7',
              imagePullPolicy: 'IfNotPresent',
              lifecycle: { preStop: { exec: { command: ['sleep', '15'] } } },
              livenessProbe: probe(15, 20),
              name: 'provider',
              ports: [
                { containerPort: 9443, name: 'grpc', protocol: 'TCP' },
                { containerPort: 8080, name: 'metrics', protocol: 'TCP' },
              ],
              readinessProbe: probe(5, 10),
              resources: { limits: { cpu: '1', memory: '512Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 65532,
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: [
                { mountPath: '/etc/virtrigaud/credentials', name: 'provider-credentials', readOnly: true },
                { mountPath: '/etc/virtrigaud/tls', name: 'provider-tls', readOnly: true },
                { mountPath: '/tmp', name: 'tmp' },
              ],
            },
          ],
          serviceAccountName: NAME,
          terminationGracePeriodSeconds: 30,
          volumes: [
            { name: 'provider-credentials', secret: { secretName: 'vsphere-creds' } },
            { name: 'provider-tls', secret: { secretName: 'vsphere-tls' } },
            { emptyDir: {}, name: 'tmp' },
          ],
        },
      },
    },
  });
});

t.test('TLS decisions (PR-2)', async (t) => {
  const off = renderProviderRuntime(provider({ runtime: { service: { tls: { enabled: false } } } }));
  t.equal(off.tls.decision, 'ExplicitlyDisabled');
  t.equal(off.refused, undefined, 'plaintext is deployed');
  t.equal(off.objects.length, 3);
  const env = containerOf(off.objects).env;
  t.same(env.find((e: any) => e.name === 'TLS_ENABLED'), { name: 'TLS_ENABLED', value: 'false' });
  t.same(env.at(-1), { name: 'VIRTRIGAUD_PROVIDER_INSECURE', value: 'true' }, 'opt-out env set');
  t.notOk(containerOf(off.objects).volumeMounts.some((m: any) => m.mountPath === '/etc/virtrigaud/tls'), 'no TLS mount');
  t.notOk(byKind(off.objects, 'Deployment').spec.template.spec.volumes.some((v: any) => v.name === 'provider-tls'));
  // A secretRef with enabled=false is ignored: plaintext means no TLS material.
  const offWithSecret = renderProviderRuntime(provider({ runtime: { service: { tls: { enabled: false, secretRef: { name: 'x' } } } } }));
  t.equal(offWithSecret.tls.decision, 'ExplicitlyDisabled');
  t.notOk(containerOf(offWithSecret.objects).volumeMounts.some((m: any) => m.name === 'provider-tls'));

  const on = renderProviderRuntime(provider());
  t.notOk(envNames(on.objects).includes('VIRTRIGAUD_PROVIDER_INSECURE'), 'no opt-out with mTLS');

  for (const [what, service] of [
    ['no service block', undefined],
    ['service without tls', { port: 9443 }],
  ] as const) {
    const r = renderProviderRuntime(provider({ runtime: { service } }));
    t.equal(r.tls.decision, 'TLSBlockMissing', what);
    t.same(r.objects, [], `${what}: nothing deployed`);
    t.equal(r.refused?.reason, 'TLSNotConfigured', what);
    t.equal(r.endpoint, `${NAME}.tenant-a.svc.cluster.local:9443`, `${what}: endpoint still reported`);
  }
  for (const [what, tls] of [
    ['tls: {} (enabled defaults to true)', {}],
    ['enabled without secretRef', { enabled: true }],
    ['enabled with an empty secretRef name', { enabled: true, secretRef: { name: '' } }],
  ] as const) {
    const r = renderProviderRuntime(provider({ runtime: { service: { tls } } }));
    t.equal(r.tls.decision, 'SecretRefMissing', what);
    t.equal(r.refused?.reason, 'TLSNotConfigured', what);
    t.same(r.objects, [], `${what}: nothing deployed`);
  }
  const skip = renderProviderRuntime(provider({ runtime: { service: { tls: { enabled: true, insecureSkipVerify: true, secretRef: { name: 's' } } } } }));
  t.equal(skip.tls.decision, 'Enabled');
  t.match(skip.tls.message, /NOT verified/);
});

t.test('refusals before TLS (PR-1) and impossible configurations', async (t) => {
  const noRuntime = provider();
  delete (noRuntime.spec as any).runtime;
  let r = renderProviderRuntime(noRuntime);
  t.equal(r.refused?.reason, 'MissingRuntime');
  t.same(r.objects, []);
  r = renderProviderRuntime({ ...provider(), spec: undefined });
  t.equal(r.refused?.reason, 'MissingRuntime');
  r = renderProviderRuntime(provider({ runtime: { image: '' } }));
  t.equal(r.refused?.reason, 'InvalidConfiguration');
  t.match(r.refused?.message, /image/);
  t.same(r.objects, []);
  r = renderProviderRuntime(provider({ spec: { credentialSecretRef: { name: '' } } }));
  t.equal(r.refused?.reason, 'InvalidConfiguration');
  r = renderProviderRuntime(provider({ runtime: { service: { port: 8080, tls: { enabled: false } } } }));
  t.equal(r.refused?.reason, 'InvalidConfiguration', 'the gRPC port cannot be the health port');
  t.same(r.objects, []);
  t.throws(() => renderProviderRuntime({ ...provider(), metadata: { name: 'x', namespace: 'y' } }), TypeError, 'uid is required');
});

t.test('defaults vs overrides (PR-4), under a policy that allows scheduling', async (t) => {
  const scheduling = runtimePolicy({ allowScheduling: true });
  const d = renderProviderRuntime(
    provider({
      runtime: {
        replicas: 3,
        imagePullPolicy: 'Always',
        service: { port: 10443, tls: { enabled: true, secretRef: { name: 'tls' } } },
        resources: { limits: { memory: '1Gi' } },
        securityContext: { runAsUser: 1000, readOnlyRootFilesystem: false, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['NET_RAW'] }, appArmorProfile: { type: 'RuntimeDefault' } },
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'virt', effect: 'NoSchedule' }],
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { a: 'b' } }, matchLabelKeys: ['pod-template-hash'] },
            ],
          },
        },
        livenessProbe: { httpGet: { path: '/other', port: 1 } },
      },
    }),
    scheduling,
  );
  t.equal(d.refused, undefined, 'not refused');
  const dep = byKind(d.objects, 'Deployment');
  const c = containerOf(d.objects);
  t.equal(dep.spec.replicas, 3);
  t.equal(c.imagePullPolicy, 'Always');
  t.same(c.args, ['--port=10443', '--health-port=8080']);
  t.same(c.ports.map((p: any) => p.containerPort), [10443, 8080]);
  t.same(byKind(d.objects, 'Service').spec.ports.map((p: any) => [p.name, p.port, p.targetPort]), [['grpc', 10443, 10443], ['metrics', 8080, 8080]]);
  t.equal(d.endpoint, `${NAME}.tenant-a.svc.cluster.local:10443`);
  t.strictSame(c.resources, { limits: { memory: '1Gi' } }, 'resources replaced wholesale: no default requests left');
  t.strictSame(
    c.securityContext,
    {
      runAsUser: 1000,
      readOnlyRootFilesystem: false,
      capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
      appArmorProfile: { type: 'RuntimeDefault' },
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    "the spec's context replaces the default, newer fields kept, with the restricted standard's requirements set",
  );
  t.equal(dep.spec.template.spec.securityContext, undefined, 'no pod-level context that could contradict it');
  t.strictSame(dep.spec.template.spec.nodeSelector, { 'kubernetes.io/os': 'linux' });
  t.strictSame(dep.spec.template.spec.tolerations, [{ key: 'dedicated', operator: 'Equal', value: 'virt', effect: 'NoSchedule' }]);
  t.strictSame(dep.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].matchLabelKeys, ['pod-template-hash'], 'newer affinity fields kept');
  t.same(c.livenessProbe, probe(15, 20), 'the probes are fixed (spec probes are inert)');
  t.same(restrictedPodProblems(dep.spec.template.spec), [], 'the pod meets the restricted standard');

  const refused = renderProviderRuntime(provider({ runtime: { nodeSelector: { 'kubernetes.io/os': 'linux' } } }));
  t.equal(refused.refused?.reason, 'SchedulingNotAllowed', 'the same placement under the default policy is refused');
  t.same(refused.objects, []);

  const localhost = containerOf(renderProviderRuntime(provider({ runtime: { securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/provider.json' } } } })).objects);
  t.strictSame(localhost.securityContext.seccompProfile, { type: 'Localhost', localhostProfile: 'profiles/provider.json' }, 'a Localhost seccomp profile is kept');

  const empty = renderProviderRuntime(provider({ runtime: { resources: {}, securityContext: {} } }));
  t.strictSame(containerOf(empty.objects).resources, {}, 'an empty resources object is an override too');
  t.strictSame(
    containerOf(empty.objects).securityContext,
    { runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
    'an empty context: only what the restricted standard requires (no default runAsUser, no read-only root)',
  );
  t.same(restrictedPodProblems(byKind(empty.objects, 'Deployment').spec.template.spec), []);

  const zero = renderProviderRuntime(provider({ runtime: { replicas: 0, service: { port: 0, tls: { enabled: false } } } }));
  t.equal(byKind(zero.objects, 'Deployment').spec.replicas, 1, 'replicas 0/unset -> 1');
  t.equal(zero.endpoint.split(':').at(-1), '9443', 'port 0 -> 9443');
});

t.test('a spec that breaks the restricted standard is refused, nothing rendered', async (t) => {
  const r = renderProviderRuntime(provider({ runtime: { securityContext: { runAsUser: 0, privileged: true, appArmorProfile: { type: 'Unconfined' } } } }));
  t.same(r.objects, []);
  t.equal(r.refused?.reason, 'PodSecurityViolation');
  t.same(r.violations.map((v) => v.field), ['spec.runtime.securityContext.privileged', 'spec.runtime.securityContext.runAsUser', 'spec.runtime.securityContext.appArmorProfile.type']);
  t.equal(
    r.refused?.message,
    'spec.runtime.securityContext.privileged: must be false or unset (restricted Pod Security Standard); ' +
      'spec.runtime.securityContext.runAsUser: must not be 0 (restricted Pod Security Standard); ' +
      'spec.runtime.securityContext.appArmorProfile.type: Unsupported value: "Unconfined": must be RuntimeDefault or Localhost (restricted Pod Security Standard)',
  );
  t.equal(r.endpoint, `${NAME}.tenant-a.svc.cluster.local:9443`, 'endpoint and TLS decision still reported');
  t.equal(r.tls.decision, 'Enabled');

  const image = renderProviderRuntime(provider({ runtime: { image: 'docker.io/attacker/provider:v1' } }));
  t.equal(image.refused?.reason, 'ImageNotAllowed');
  t.match(image.refused?.message, /^spec\.runtime\.image: "docker\.io\/attacker\/provider:v1" is not allowed: it must start with one of: ghcr\.io\/projectbeskar\/virtrigaud\/provider-vsphere, /);
  t.equal(renderProviderRuntime(provider({ runtime: { image: 'docker.io/attacker/provider:v1' } }), runtimePolicy({ allowedImages: ['docker.io/attacker/'] })).refused, undefined, 'the operator can allow it');

  const notls = renderProviderRuntime(provider({ runtime: { image: 'docker.io/attacker/provider:v1', service: {} } }));
  t.equal(notls.refused?.reason, 'TLSNotConfigured', 'TLS is decided first');
  t.same(notls.violations, []);
});

t.test('env order (PR-5) and duplicates', async (t) => {
  const r = renderProviderRuntime(
    provider({
      spec: { insecureSkipVerify: true, defaults: { datastore: 'ds1', storagePod: 'sp', cluster: 'c1', folder: 'f', network: 'n', resourcePool: 'rp' } },
      runtime: {
        logLevel: 'debug',
        logFormat: 'json',
        service: { tls: { enabled: false } },
        env: [
          { name: 'EXTRA', value: '1' },
          { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
          { name: 'AGAIN', value: 'first' },
          { name: 'EXTRA', value: '2' },
        ],
      },
    }),
  );
  t.same(envNames(r.objects), [
    'PROVIDER_TYPE',
    'PROVIDER_ENDPOINT',
    'PROVIDER_NAMESPACE',
    'PROVIDER_NAME',
    'TLS_ENABLED',
    'TLS_INSECURE_SKIP_VERIFY',
    'LOG_LEVEL',
    'LOG_FORMAT',
    'PROVIDER_DEFAULT_DATASTORE',
    'PROVIDER_DEFAULT_STORAGE_POD',
    'PROVIDER_DEFAULT_CLUSTER',
    'PROVIDER_DEFAULT_FOLDER',
    'VIRTRIGAUD_PROVIDER_INSECURE',
    'FROM_SECRET',
    'AGAIN',
    'EXTRA',
  ], 'built-ins, optional ones, opt-out, then spec.runtime.env; a name defined twice keeps only its last definition');
  const env = containerOf(r.objects).env;
  t.same(env.find((e: any) => e.name === 'TLS_INSECURE_SKIP_VERIFY').value, 'true');
  t.same(env.find((e: any) => e.name === 'LOG_LEVEL'), { name: 'LOG_LEVEL', value: 'debug' });
  t.same(env.filter((e: any) => e.name === 'EXTRA'), [{ name: 'EXTRA', value: '2' }]);
  for (const name of envNames(r.objects).slice(0, -3)) t.ok(RESERVED_ENV_NAMES.includes(name), `${name} is reserved`);
  t.strictSame(env.find((e: any) => e.name === 'FROM_SECRET'), { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } });
});

t.test('libvirt gets a memory-backed 4Mi emptyDir at /tmp/virtrigaud-libvirt', async (t) => {
  const lv = renderProviderRuntime(provider({ spec: { type: 'libvirt', endpoint: 'qemu+ssh://root@kvm1/system' } }));
  const dep = byKind(lv.objects, 'Deployment');
  t.strictSame(dep.spec.template.spec.volumes.at(-1), { emptyDir: { medium: 'Memory', sizeLimit: '4Mi' }, name: 'libvirt-runtime' });
  t.strictSame(containerOf(lv.objects).volumeMounts.at(-1), { mountPath: '/tmp/virtrigaud-libvirt', name: 'libvirt-runtime' });
  t.equal(dep.metadata.labels['virtrigaud.io/provider-type'], 'libvirt');
  for (const type of ['vsphere', 'proxmox', 'qemu', 'firecracker'] as const) {
    const r = renderProviderRuntime(provider({ spec: { type } }));
    t.notOk(JSON.stringify(r.objects).includes('virtrigaud-libvirt'), `${type}: no libvirt volume`);
  }
});

t.test('long names are shortened deterministically and consistently', async (t) => {
  const ns = 'a-rather-long-tenant-namespace';
  const name = 'vcenter-production-cluster-west';
  const r = renderProviderRuntime(provider({ namespace: ns, name }));
  const full = `virtrigaud-provider-${ns}-${name}`;
  t.ok(full.length > 63);
  t.equal(r.serviceName.length, 63, r.serviceName);
  t.equal(r.serviceName.slice(0, 55), `${full.slice(0, 54)}-`, 'the first 54 characters, then the hash');
  t.match(r.serviceName, /-[0-9a-f]{8}$/);
  t.equal(r.endpoint, `${r.serviceName}.${ns}.svc.cluster.local:9443`);
  t.match(r.tls.message, `server name ${r.serviceName}.${ns}.svc.cluster.local`);
  t.match(r.tls.message, `name shortened from ${full}`);
  t.notMatch(renderProviderRuntime(provider()).tls.message, 'shortened');
  for (const o of r.objects) t.equal(o.metadata.name, r.serviceName, `${o.kind} uses the shortened name`);
  t.equal(byKind(r.objects, 'Deployment').spec.template.spec.serviceAccountName, r.serviceName);
  t.equal(renderProviderRuntime(provider({ namespace: ns, name })).serviceName, r.serviceName, 'stable');
  t.not(renderProviderRuntime(provider({ namespace: ns, name: `${name}x` })).serviceName, r.serviceName, 'a shared prefix still gives different names');
  const exactly63 = 'x'.repeat(63 - 'virtrigaud-provider-tenant-a-'.length);
  t.equal(renderProviderRuntime(provider({ name: exactly63 })).serviceName, `virtrigaud-provider-tenant-a-${exactly63}`, '63 characters are left alone');

  // Dots are valid in a Provider name but not in a Service name; a long name does not fit a label value.
  const dotted = renderProviderRuntime(provider({ name: 'vc.example.com' }));
  t.match(dotted.serviceName, /^virtrigaud-provider-tenant-a-vc-example-com-[0-9a-f]{8}$/);
  t.equal(byKind(dotted.objects, 'Deployment').metadata.labels['app.kubernetes.io/instance'], 'vc.example.com');
  const longName = 'p'.repeat(100);
  const long = renderProviderRuntime(provider({ name: longName }));
  const instance = byKind(long.objects, 'Service').spec.selector['app.kubernetes.io/instance'];
  t.ok(instance.length <= 63 && /^p+-[0-9a-f]{8}$/.test(instance), instance);
  t.equal(byKind(long.objects, 'Service').metadata.ownerReferences[0].name, longName, 'the owner reference keeps the real name');
  t.equal(containerOf(long.objects).env.find((e: any) => e.name === 'PROVIDER_NAME').value, longName);
  t.match(labelValue('.'.repeat(70)), /^[0-9a-f]{8}$/, 'nothing usable left: the hash alone');
});

t.test('owner references, purity and determinism', async (t) => {
  const input = provider({ runtime: { env: [{ name: 'A', value: '1' }], resources: { limits: { cpu: '2' } } } });
  const before = JSON.stringify(input);
  const a = renderProviderRuntime(input);
  t.equal(JSON.stringify(input), before, 'the input is not modified');
  const b = renderProviderRuntime(structuredClone(input));
  t.equal(JSON.stringify(a), JSON.stringify(b), 'byte-identical output');
  containerOf(a.objects).env[0].value = 'changed';
  containerOf(a.objects).resources.limits.cpu = '9';
  t.equal(JSON.stringify(input), before, 'the output shares nothing with the input');
  for (const o of b.objects) {
    t.strictSame(o.metadata.ownerReferences, [OWNER], `${o.kind} is owned by the Provider`);
    t.equal(o.metadata.namespace, 'tenant-a');
  }
});
