/**
 * Golden checks of dist/install.yaml and the InstallChart: object order,
 * RBAC exactly as specified and without wildcards, the reconciler's pod
 * hardening, probes, ports and the props.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Cpu } from 'cdk8s-plus-28';
import { Size } from 'cdk8s';
import { ALL_KINDS } from '../../src/api/v1beta1';
import { clusterRules, installManifests, leaderElectionRules, PACKAGE_VERSION } from '../../src/install';
import {
  ALL_VERBS,
  ROOT,
  expectedClusterGrants,
  expectedRoleGrants,
  grantsOf,
  NAMESPACE,
  readYamlDocs,
  SERVICE_ACCOUNT,
  sortedGrants,
  wildcardsIn,
  type PolicyRule,
} from './expected';

const docs = readYamlDocs('dist/install.yaml');
const find = (kind: string, list: any[] = docs) => {
  const found = list.filter((d) => d.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
};

t.test('install.yaml: the CRDs of dist/crds.yaml first, then the namespace, then the reconciler', async (t) => {
  const crds = readYamlDocs('dist/crds.yaml');
  t.same(docs.slice(0, crds.length), crds, 'the very CRDs of dist/crds.yaml, in the same order');
  t.same(
    docs.slice(crds.length).map((d) => `${d.kind}/${d.metadata.name}`),
    [
      'Namespace/virtrigaud-system',
      'ServiceAccount/virtrigaud-reconciler',
      'ClusterRole/virtrigaud-reconciler',
      'ClusterRoleBinding/virtrigaud-reconciler',
      'Role/virtrigaud-leader-election',
      'RoleBinding/virtrigaud-leader-election',
      'ConfigMap/virtrigaud-reconciler-config',
      'Deployment/virtrigaud-reconciler',
      'Service/virtrigaud-reconciler-metrics',
    ],
  );
  for (const d of docs.slice(crds.length)) {
    if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(d.kind)) t.equal(d.metadata.namespace, NAMESPACE, `${d.kind} in ${NAMESPACE}`);
    t.equal(d.metadata.labels['app.kubernetes.io/name'], 'virtrigaud', `${d.kind} labelled`);
  }
  t.notMatch(JSON.stringify(docs), /cdk8s\.io\//, 'no cdk8s construct labels leak into the manifests');
  // Values the API server does not store make every `kubectl apply` report "configured" (see src/install/patches.ts).
  const empties: string[] = [];
  const walk = (v: unknown, at: string) => {
    if (Array.isArray(v)) {
      if (v.length === 0) empties.push(at);
      v.forEach((x, i) => walk(x, `${at}[${i}]`));
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
    } else if ((v === '' && !/\.apiGroups\[\d+\]$/.test(at)) || v === false || v === 0) {
      // ('' in apiGroups is the core group, a list element, kept as is.)
      empties.push(at);
    }
  };
  for (const d of docs.slice(crds.length)) walk(d, d.kind);
  t.same(
    empties,
    // Kept on purpose: explicit security settings, stored by the API server as given (pointer fields).
    ['ServiceAccount.automountServiceAccountToken', 'Deployment.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation', 'Deployment.spec.template.spec.containers[0].securityContext.privileged', 'Deployment.spec.template.spec.setHostnameAsFQDN'],
    'no empty lists, empty strings or zero values the API server would drop',
  );
});

t.test('ClusterRole: exactly the listed permissions', async (t) => {
  const role = find('ClusterRole');
  t.same(sortedGrants(grantsOf(role.rules)), sortedGrants(expectedClusterGrants()));
  t.notOk(role.aggregationRule, 'no aggregation (that would pull in rules from elsewhere)');
  for (const r of role.rules as PolicyRule[]) {
    t.same(r.resourceNames ?? [], [], 'no resourceNames restriction expected (and none that widens anything)');
    t.notOk(r.nonResourceURLs, 'no non-resource URLs');
    t.equal(r.apiGroups?.length, 1);
  }
});

t.test('leader-election and address Role: leases get/list/create/update/delete, in the install namespace, nothing else', async (t) => {
  const role = find('Role');
  t.equal(role.metadata.namespace, NAMESPACE);
  t.same(sortedGrants(grantsOf(role.rules)), sortedGrants(expectedRoleGrants()));
});

t.test('no rule anywhere uses a wildcard', async (t) => {
  for (const d of docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role')) {
    t.same(wildcardsIn(d.rules), [], `${d.kind}/${d.metadata.name}`);
  }
  const rules = [...clusterRules(ALL_KINDS), ...leaderElectionRules()];
  t.same(
    wildcardsIn(rules.map((r) => ({ apiGroups: [r.apiGroup], resources: [...r.resources], verbs: [...r.verbs] }))),
    [],
    'the rule table in src/install',
  );
  for (const r of rules) {
    t.ok(r.why.length > 10, `${r.apiGroup}/${r.resources.join(',')} says why`);
    for (const v of r.verbs) t.ok((ALL_VERBS as readonly string[]).includes(v), `${v} is a known verb`);
  }
  // The check itself catches a wildcard wherever it appears.
  t.same(wildcardsIn([{ apiGroups: ['*'], resources: ['vms/*'], verbs: ['*'] }]).length, 3);
});

t.test('bindings: the reconciler ServiceAccount and nothing else', async (t) => {
  const sa = { kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: NAMESPACE };
  const crb = find('ClusterRoleBinding');
  t.same(crb.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'virtrigaud-reconciler' });
  t.same(crb.subjects, [sa]);
  const rb = find('RoleBinding');
  t.equal(rb.metadata.namespace, NAMESPACE);
  t.same(rb.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'virtrigaud-leader-election' });
  t.same(rb.subjects, [sa]);
  const account = find('ServiceAccount');
  t.equal(account.automountServiceAccountToken, false, 'no token for pods that merely name the account');
});

t.test('Namespace: held to the restricted Pod Security Standard', async (t) => {
  const ns = find('Namespace');
  for (const mode of ['enforce', 'warn', 'audit']) t.equal(ns.metadata.labels[`pod-security.kubernetes.io/${mode}`], 'restricted');
});

t.test('Deployment: command line, probes, resources, hardening', async (t) => {
  const d = find('Deployment');
  t.equal(d.spec.replicas, 2);
  const pod = d.spec.template.spec;
  t.same(d.spec.selector.matchLabels, { 'app.kubernetes.io/component': 'reconciler', 'app.kubernetes.io/name': 'virtrigaud' });
  for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) t.equal(d.spec.template.metadata.labels[k], v, `pod label ${k}`);
  t.equal(pod.serviceAccountName, SERVICE_ACCOUNT);
  t.equal(pod.automountServiceAccountToken, true, 'the reconciler needs its token');
  t.equal(pod.containers.length, 1);
  const c = pod.containers[0];
  t.equal(c.name, 'reconciler');
  t.equal(c.image, `ghcr.io/virtrigaud/virtrigaud:${PACKAGE_VERSION}`);
  t.equal(c.imagePullPolicy, 'IfNotPresent');
  t.same(c.args, ['run', '--leader-elect', '--config=/etc/virtrigaud/config.yaml', '--metrics-bind-address=:8080', '--health-probe-bind-address=:8081', '--log-level=info', '--log-format=json']);
  t.notOk(c.command, 'the image entrypoint (virtrigaud) runs');
  t.same(c.ports, [
    { containerPort: 8080, name: 'metrics', protocol: 'TCP' },
    { containerPort: 8081, name: 'health', protocol: 'TCP' },
  ]);
  t.match(c.livenessProbe, { httpGet: { path: '/healthz', port: 8081, scheme: 'HTTP' } });
  t.match(c.readinessProbe, { httpGet: { path: '/readyz', port: 8081, scheme: 'HTTP' } });
  t.same(c.resources, { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } });
  t.same(c.securityContext, {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsGroup: 65532,
    runAsNonRoot: true,
    runAsUser: 65532,
    seccompProfile: { type: 'RuntimeDefault' },
  });
  t.match(pod.securityContext, { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532 });
  t.same(
    c.env.map((e: any) => [e.name, e.valueFrom.fieldRef.fieldPath]),
    [['POD_NAMESPACE', 'metadata.namespace'], ['POD_NAME', 'metadata.name']],
  );
  t.same(c.volumeMounts, [{ mountPath: '/tmp', name: 'tmp' }, { mountPath: '/etc/virtrigaud', name: 'config', readOnly: true }], '/tmp is the only writable path; the configuration is read-only');
  t.same(pod.volumes, [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }, { name: 'config', configMap: { name: 'virtrigaud-reconciler-config' } }]);
  const cm = docs.find((d) => d.kind === 'ConfigMap');
  t.equal(cm.metadata.namespace, 'virtrigaud-system', 'the configuration lives in the install namespace (no tenant writes there)');
  t.match(cm.data['config.yaml'], /inProcessProviders: \[\]/, 'deny by default');
  t.notOk(pod.hostNetwork);
});

t.test('metrics Service: port 8080 named metrics, selecting the reconciler pods', async (t) => {
  const s = find('Service');
  const d = find('Deployment');
  t.equal(s.metadata.name, 'virtrigaud-reconciler-metrics');
  t.equal(s.spec.type, 'ClusterIP');
  t.same(s.spec.ports, [{ name: 'metrics', port: 8080, protocol: 'TCP', targetPort: 8080 }]);
  t.same(s.spec.selector, d.spec.selector.matchLabels);
});

t.test('InstallChart props reach every object', async (t) => {
  const { objects } = installManifests({
    namespace: 'vr',
    image: 'registry.example/vr:dev',
    replicas: 3,
    logLevel: 'debug',
    logFormat: 'text',
    metricsPort: 9090,
    healthPort: 9091,
    extraArgs: ['--max-concurrent-reconciles=4'],
    resources: { cpu: { request: Cpu.millis(50) }, memory: { request: Size.mebibytes(64), limit: Size.mebibytes(256) } },
  });
  const ns = find('Namespace', objects);
  t.equal(ns.metadata.name, 'vr');
  for (const o of objects.filter((o) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition'].includes(o.kind))) {
    t.equal(o.metadata.namespace, 'vr', `${o.kind} in vr`);
  }
  t.equal(find('ClusterRoleBinding', objects).subjects[0].namespace, 'vr');
  t.equal(find('RoleBinding', objects).subjects[0].namespace, 'vr');
  const d = find('Deployment', objects);
  const c = d.spec.template.spec.containers[0];
  t.equal(d.spec.replicas, 3);
  t.equal(c.image, 'registry.example/vr:dev');
  t.same(c.args, ['run', '--leader-elect', '--config=/etc/virtrigaud/config.yaml', '--metrics-bind-address=:9090', '--health-probe-bind-address=:9091', '--log-level=debug', '--log-format=text', '--max-concurrent-reconciles=4']);
  t.equal(c.livenessProbe.httpGet.port, 9091);
  t.equal(c.readinessProbe.httpGet.port, 9091);
  t.same(c.ports.map((p: any) => p.containerPort), [9090, 9091]);
  t.same(c.resources, { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } });
  t.same(find('Service', objects).spec.ports, [{ name: 'metrics', port: 9090, protocol: 'TCP', targetPort: 9090 }]);
  t.equal(objects.filter((o) => o.kind === 'CustomResourceDefinition').length, 10);

  const without = installManifests({ createNamespace: false }).objects;
  t.equal(without.filter((o) => o.kind === 'Namespace').length, 0, 'createNamespace: false leaves the namespace out');
  t.equal(find('Deployment', without).metadata.namespace, NAMESPACE);

  const fewer = installManifests({ kinds: ALL_KINDS.filter((k) => k.kind === 'VMClass') }).objects;
  t.same(fewer.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name), ['vmclasses.infra.virtrigaud.io']);
  const fewerGrants = grantsOf(find('ClusterRole', fewer).rules);
  t.same([...fewerGrants.keys()].filter((k) => k.startsWith('infra.')), ['infra.virtrigaud.io/vmclasses'], 'RBAC follows the kinds');
  t.same(fewerGrants.get('infra.virtrigaud.io/vmclasses'), ['list', 'watch'], 'a referenced kind is only cached');
  t.notOk(fewerGrants.has('apps/deployments'), 'no Provider kind: no provider runtimes to deploy');
  const noVMs = grantsOf(find('ClusterRole', installManifests({ kinds: ALL_KINDS.filter((k) => k.kind === 'VMMigration') }).objects).rules);
  t.same([...noVMs.keys()].filter((k) => k.startsWith('infra.')), [], 'a kind without a controller gets no access');
});

t.test('dist/install.yaml is what InstallChart synthesizes by default', async (t) => {
  t.same(installManifests().objects, docs);
});

t.test('docs/install.md lists every rule as the install grants it', async (t) => {
  const docs = fs.readFileSync(path.join(ROOT, 'docs', 'install.md'), 'utf8');
  for (const r of [...clusterRules(ALL_KINDS), ...leaderElectionRules()]) {
    const row = `| \`${r.apiGroup || '""'}\` | ${r.resources.map((x) => `\`${x}\``).join(', ')} | ${r.verbs.join(', ')} | ${r.why} |`;
    t.ok(docs.includes(row), `row for ${r.apiGroup}/${r.resources[0]} (${r.verbs.join(',')})`);
  }
});
