/**
 * The Helm chart in charts/virtrigaud: its defaults render exactly
 * dist/install.yaml, its values reach the right fields, and its CRDs are
 * dist's. With a helm binary (test/install/helm-bin.sh finds or builds one)
 * the chart is rendered by `helm template` and linted; without one, by the
 * small renderer below, which knows only the template constructs the
 * generator emits and fails on anything else.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments, parse, stringify } from 'yaml';
import { Cpu, ImagePullPolicy } from 'cdk8s-plus-28';
import { Size } from 'cdk8s';
import { installManifests, PACKAGE_VERSION } from '../../src/install';
import { useControlPlane } from '../../src/testenv';
import { NAMESPACE, ROOT, readYamlDocs, wildcardsIn } from './expected';

const CHART = path.join(ROOT, 'charts', 'virtrigaud');
const installDocs = readYamlDocs('dist/install.yaml');
const nonCrd = (docs: any[]) => docs.filter((d) => d.kind !== 'CustomResourceDefinition');
const key = (d: any) => `${d.kind}/${d.metadata.namespace ?? ''}/${d.metadata.name}`;
/** Objects keyed by kind/namespace/name: Helm orders documents its own way. */
const byKey = (docs: any[]) => Object.fromEntries(docs.map((d) => [key(d), d]));

interface Values {
  namespace: string;
  createNamespace: boolean;
  image: { repository: string; tag: string; pullPolicy: string };
  replicas: number;
  logLevel: string;
  logFormat: string;
  extraArgs: string[];
  resources: unknown;
}
const defaults = parse(fs.readFileSync(path.join(CHART, 'values.yaml'), 'utf8')) as Values;

/**
 * Renders the chart's templates for `values` by substituting exactly the
 * expressions the generator writes (see src/install/helm.ts).
 */
function miniRender(values: Values, releaseNamespace = 'default'): any[] {
  const ns = values.namespace || releaseNamespace;
  const docs: any[] = [];
  for (const file of fs.readdirSync(path.join(CHART, 'templates')).sort()) {
    if (!file.endsWith('.yaml')) continue;
    let text = fs.readFileSync(path.join(CHART, 'templates', file), 'utf8');
    text = text.replace(/\n( *)\{\{- toYaml \.Values\.resources \| nindent (\d+) \}\}/g, (_m, _i, n: string) =>
      stringify(values.resources).trimEnd().split('\n').map((l) => `\n${' '.repeat(Number(n))}${l}`).join(''),
    );
    text = text.replace(/\n( *)\{\{- range \.Values\.extraArgs \}\}\n *- \{\{ \. \| quote \}\}\n *\{\{- end \}\}/g, (_m, indent: string) =>
      values.extraArgs.map((a) => `\n${indent}- ${JSON.stringify(a)}`).join(''),
    );
    text = text.replace(/\{\{- if \.Values\.createNamespace \}\}\n([\s\S]*?)\{\{- end \}\}\n/g, (_m, body: string) => (values.createNamespace ? `\n${body}` : ''));
    const subst: Record<string, string> = {
      '{{ include "virtrigaud.namespace" . }}': ns,
      '{{ .Values.replicas }}': String(values.replicas),
      '{{ .Values.image.repository }}': values.image.repository,
      '{{ .Values.image.tag | default .Chart.AppVersion }}': values.image.tag || PACKAGE_VERSION,
      '{{ .Values.image.pullPolicy }}': values.image.pullPolicy,
      '{{ .Values.logLevel }}': values.logLevel,
      '{{ .Values.logFormat }}': values.logFormat,
    };
    for (const [expr, v] of Object.entries(subst)) text = text.split(expr).join(v);
    const left = /\{\{.*?\}\}/.exec(text);
    if (left) throw new Error(`${file}: template expression the test renderer does not know: ${left[0]}`);
    docs.push(...parseAllDocuments(text).map((d) => d.toJS()).filter((d) => d != null));
  }
  return docs;
}

/** The InstallChart props equivalent to the override values used below. */
const OVERRIDES: Values = {
  namespace: 'vr',
  createNamespace: true,
  image: { repository: 'registry.example/vr', tag: 'dev', pullPolicy: 'Always' },
  replicas: 3,
  logLevel: 'debug',
  logFormat: 'text',
  extraArgs: ['--max-concurrent-reconciles=4', '--zone=a b'],
  // Complete: Helm merges a values map into the defaults key by key (see the null test below).
  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '1000m', memory: '256Mi' } },
};
function overridesAsChart(): any[] {
  return nonCrd(
    installManifests({
      namespace: 'vr',
      image: 'registry.example/vr:dev',
      imagePullPolicy: ImagePullPolicy.ALWAYS,
      replicas: 3,
      logLevel: 'debug',
      logFormat: 'text',
      extraArgs: ['--max-concurrent-reconciles=4', '--zone=a b'],
      resources: { cpu: { request: Cpu.millis(50), limit: Cpu.millis(1000) }, memory: { request: Size.mebibytes(64), limit: Size.mebibytes(256) } },
    }).objects,
  );
}

t.test('Chart.yaml and values.yaml', async (t) => {
  const chart = parse(fs.readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8'));
  t.match(chart, { apiVersion: 'v2', name: 'virtrigaud', type: 'application', version: PACKAGE_VERSION, appVersion: PACKAGE_VERSION });
  const d = installDocs.find((x) => x.kind === 'Deployment');
  const c = d.spec.template.spec.containers[0];
  t.same(defaults, {
    namespace: 'virtrigaud-system',
    createNamespace: true,
    image: { repository: 'ghcr.io/virtrigaud/virtrigaud', tag: PACKAGE_VERSION, pullPolicy: 'IfNotPresent' },
    replicas: 2,
    logLevel: 'info',
    logFormat: 'json',
    extraArgs: [],
    resources: c.resources,
  });
});

t.test('crds/ holds the CRDs of dist/, one file each', async (t) => {
  const crds = readYamlDocs('dist/crds.yaml');
  const files = fs.readdirSync(path.join(CHART, 'crds')).sort();
  t.same(files, crds.map((c) => `${c.metadata.name}.yaml`).sort());
  for (const c of crds) t.same(readYamlDocs(`charts/virtrigaud/crds/${c.metadata.name}.yaml`), [c], c.metadata.name);
});

t.test('templates: no wildcard RBAC, and only the known template expressions', async (t) => {
  const docs = miniRender(defaults);
  for (const d of docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role')) t.same(wildcardsIn(d.rules), [], `${d.kind}/${d.metadata.name}`);
});

t.test('defaults render dist/install.yaml (test renderer)', async (t) => {
  t.same(byKey(miniRender(defaults)), byKey(nonCrd(installDocs)));
});

t.test('values reach the manifests (test renderer)', async (t) => {
  t.same(byKey(miniRender(OVERRIDES)), byKey(overridesAsChart()), 'same objects as InstallChart with the equivalent props');
  const released = miniRender({ ...defaults, namespace: '', createNamespace: false }, 'other');
  t.notOk(released.some((d) => d.kind === 'Namespace'), 'createNamespace: false');
  for (const d of released) if (d.metadata.namespace !== undefined) t.equal(d.metadata.namespace, 'other', `${d.kind} in the release namespace`);
});

/** helm from test/install/helm-bin.sh (cache or a Go build), or undefined; looked up once. */
let helmLookup: { helm?: string; why: string } | undefined;
function findHelm(): { helm?: string; why: string } {
  return (helmLookup ??= lookUpHelm());
}
function lookUpHelm(): { helm?: string; why: string } {
  const r = spawnSync('bash', [path.join(__dirname, 'helm-bin.sh')], { encoding: 'utf8', timeout: 540_000 });
  const dir = r.stdout.trim().split('\n').pop();
  if (r.status === 0 && dir && fs.existsSync(path.join(dir, 'helm'))) return { helm: path.join(dir, 'helm'), why: '' };
  return { why: (r.stderr || String(r.error ?? '')).trim().split('\n').slice(-3).join(' ') };
}

t.test('helm template and helm lint', async (t) => {
  const { helm, why } = findHelm();
  if (!helm) {
    t.comment(`no helm binary (${why}); the chart was checked with the test renderer only`);
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'virtrigaud-helm-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const env = { ...process.env, HELM_CACHE_HOME: path.join(tmp, 'cache'), HELM_CONFIG_HOME: path.join(tmp, 'config'), HELM_DATA_HOME: path.join(tmp, 'data') };
  const run = (args: string[]) => {
    const r = spawnSync(helm, args, { encoding: 'utf8', env, timeout: 120_000 });
    if (r.status !== 0) throw new Error(`helm ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const docs = (out: string) => parseAllDocuments(out).map((d) => d.toJS()).filter((d) => d != null);

  t.comment(run(['version', '--short']).trim());
  t.match(run(['lint', '--strict', CHART]), /1 chart\(s\) linted, 0 chart\(s\) failed/);

  t.same(byKey(docs(run(['template', 'virtrigaud', CHART, '--include-crds']))), byKey(installDocs), 'defaults: exactly dist/install.yaml, CRDs included');

  const valuesFile = path.join(tmp, 'overrides.yaml');
  fs.writeFileSync(valuesFile, stringify(OVERRIDES));
  t.same(byKey(docs(run(['template', 'virtrigaud', CHART, '-f', valuesFile]))), byKey(overridesAsChart()), 'overrides: InstallChart with the equivalent props');

  const released = docs(run(['template', 'virtrigaud', CHART, '-n', 'other', '--set', 'namespace=', '--set', 'createNamespace=false']));
  t.notOk(released.some((d) => d.kind === 'Namespace'));
  t.same(byKey(released), byKey(miniRender({ ...defaults, namespace: '', createNamespace: false }, 'other')), 'release namespace: helm and the test renderer agree');

  const noCpuLimit = docs(run(['template', 'virtrigaud', CHART, '--set', 'resources.limits.cpu=null']));
  t.same(
    noCpuLimit.find((d) => d.kind === 'Deployment').spec.template.spec.containers[0].resources,
    { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
    'a default resource key is dropped by setting it to null',
  );

  const tagless = docs(run(['template', 'virtrigaud', CHART, '--set', 'image.tag=']));
  t.equal(tagless.find((d) => d.kind === 'Deployment').spec.template.spec.containers[0].image, `ghcr.io/virtrigaud/virtrigaud:${PACKAGE_VERSION}`, 'empty tag: the appVersion');
});

t.test('helm install, upgrade and uninstall on a real API server', async (t) => {
  const { helm, why } = findHelm();
  if (!helm) {
    t.comment(`no helm binary (${why}); not installed with helm`);
    return;
  }
  // A private control plane: the release creates the same cluster-scoped objects as dist/install.yaml.
  const cp = await useControlPlane(t, { private: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'virtrigaud-helm-'));
  t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const env = { ...process.env, KUBECONFIG: cp.kubeconfigPath, HELM_CACHE_HOME: path.join(tmp, 'cache'), HELM_CONFIG_HOME: path.join(tmp, 'config'), HELM_DATA_HOME: path.join(tmp, 'data') };
  const run = (args: string[]) => {
    const r = spawnSync(helm, args, { encoding: 'utf8', env, timeout: 180_000 });
    t.equal(r.status, 0, `helm ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const get = async (args: string[]) => {
    const r = await cp.kubectl(['get', ...args, '-o', 'json']);
    return r.code === 0 ? JSON.parse(r.stdout) : undefined;
  };

  run(['install', 'virtrigaud', CHART]);
  const crds = await get(['crd']);
  t.same(
    crds.items.map((c: any) => c.metadata.name).sort(),
    readYamlDocs('dist/crds.yaml').map((c) => c.metadata.name).sort(),
    'the CRDs from crds/',
  );
  const d = await get(['deployment', 'virtrigaud-reconciler', '-n', NAMESPACE]);
  t.equal(d?.spec.replicas, 2);
  t.equal(d?.metadata.annotations['meta.helm.sh/release-name'], 'virtrigaud', 'owned by the release');
  t.ok(await get(['clusterrole', 'virtrigaud-reconciler']), 'ClusterRole');

  run(['upgrade', 'virtrigaud', CHART, '--reuse-values', '--set', 'replicas=3', '--set', 'image.tag=0.2.0']);
  const up = await get(['deployment', 'virtrigaud-reconciler', '-n', NAMESPACE]);
  t.equal(up?.spec.replicas, 3);
  t.equal(up?.spec.template.spec.containers[0].image, 'ghcr.io/virtrigaud/virtrigaud:0.2.0');

  run(['uninstall', 'virtrigaud']);
  t.notOk(await get(['deployment', 'virtrigaud-reconciler', '-n', NAMESPACE]), 'the Deployment is gone');
  t.notOk(await get(['clusterrole', 'virtrigaud-reconciler']), 'the ClusterRole is gone');
  t.equal((await get(['crd'])).items.length, 10, 'Helm keeps the CRDs (and so every VirtualMachine)');
});
