/**
 * Reconciler benchmark: N VirtualMachines from apply to Running with the
 * in-memory provider on a real kube-apiserver + etcd (src/testenv), side by
 * side with a minimal loop doing only the unavoidable requests. Not a test:
 *
 *   npx tsx bench/reconciler.bench.ts [--vms N] [--rows minimal,ours,ours-fast]
 *       [--repeat R] [--vm-workers W] [--resync S] [--apply-concurrency C]
 *       [--json FILE] [--keep-logs] [--log-level L]
 *
 * Every row gets a fresh control plane (same etcd state for each), a
 * namespace, the install's ClusterRole and Role bound to a ServiceAccount,
 * and the fixtures (in-process `memory` Provider, Secret, VMClass, VMImage).
 * Then:
 *   - ours: `node bin/virtrigaud.js run` as a child process with that
 *     ServiceAccount's token (what the Deployment runs), measured from the
 *     outside: CPU from /proc/<pid>/stat, peak RSS from VmHWM, API requests
 *     from its /metrics (rest_client_requests_total);
 *   - minimal: bench/reconciler/minimal.ts as a child process, same
 *     ServiceAccount: one list + one watch, one status update per VM.
 * The bench process applies the N VMs with an admin client (not counted
 * against either) and watches them until every one has phase Running and
 * Ready=True. After that it waits until the child has been quiet for 1 s
 * (events are sent after the status writes), then two resync periods + 1 s,
 * and counts the writes the child makes while nothing changes (must be 0).
 * Method and figures: docs/reconciler-benchmark.md.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startControlPlane, rawRequest, type ControlPlane } from '../src/testenv';
import { CoreResources, KubeClient, sleep, type ResourceType } from '../src/reconciler/runtime';
import { Kinds } from '../src/reconciler/kinds';
import { cpuSeconds, delta, freePort, httpGet, memoryMiB, parseMetrics, sumBy, type Sample } from './reconciler/proc';
import { isConverged } from './reconciler/status';

const REPO = resolve(__dirname, '..');
const CRDS = join(REPO, 'dist', 'crds.yaml');
const INSTALL = join(REPO, 'dist', 'install.yaml');
const CLI = join(REPO, 'bin', 'virtrigaud.js');
const MINIMAL = join(REPO, 'bench', 'reconciler', 'minimal.ts');
const NS = 'bench';
const SA = 'virtrigaud-reconciler';

const rbac = (plural: string, kind: string, namespaced: boolean): ResourceType => ({ group: 'rbac.authorization.k8s.io', version: 'v1', plural, kind, namespaced });
const RBAC = {
  clusterRoles: rbac('clusterroles', 'ClusterRole', false),
  clusterRoleBindings: rbac('clusterrolebindings', 'ClusterRoleBinding', false),
  roles: rbac('roles', 'Role', true),
  roleBindings: rbac('rolebindings', 'RoleBinding', true),
};

// ============================================================================
// Options
// ============================================================================

type RowKind = 'minimal' | 'ours' | 'ours-fast' | 'ours-provider-limit' | 'ours-vmset';
interface Row {
  readonly mode: 'minimal' | 'ours';
  /** The operator's --kube-api-qps / --kube-api-burst; 0 = no client-side limit (minimal loop). */
  readonly qps: number;
  readonly burst: number;
  /**
   * Provider spec.rateLimit (calls to the hypervisor). The default, 10 qps /
   * burst 20, would bound every ours row at ~5 VMs/s (create + describe per
   * VM), so the API rows raise it to the schema's maximum.
   */
  readonly providerLimit?: { readonly qps: number; readonly burst: number };
  readonly label: string;
  /** Apply one VMSet of N members (Parallel) instead of N VirtualMachines. */
  readonly vmset?: boolean;
}
const NO_PROVIDER_LIMIT = { qps: 1000, burst: 2000 };
const ROWS: Record<RowKind, Row> = {
  minimal: { mode: 'minimal', qps: 0, burst: 0, label: 'minimal loop (no client limit)' },
  ours: { mode: 'ours', qps: 50, burst: 100, providerLimit: NO_PROVIDER_LIMIT, label: 'ours, API qps 50 / burst 100 (default)' },
  'ours-fast': { mode: 'ours', qps: 200, burst: 400, providerLimit: NO_PROVIDER_LIMIT, label: 'ours, API qps 200 / burst 400' },
  'ours-provider-limit': { mode: 'ours', qps: 50, burst: 100, label: 'ours, defaults incl. Provider rateLimit 10 / 20' },
  'ours-vmset': { mode: 'ours', qps: 200, burst: 400, providerLimit: NO_PROVIDER_LIMIT, label: 'ours, one VMSet of N (Parallel), API qps 200 / burst 400', vmset: true },
};
const DEFAULT_ROWS: RowKind[] = ['minimal', 'ours', 'ours-fast'];

interface Options {
  vms: number;
  rows: RowKind[];
  repeat: number;
  vmWorkers: number;
  resyncS: number;
  applyConcurrency: number;
  timeoutS?: number;
  json?: string;
  keepLogs: boolean;
  logLevel: string;
}

const USAGE = `usage: npx tsx bench/reconciler.bench.ts [--vms N] [--rows minimal,ours,ours-fast]
       [--repeat R] [--vm-workers W] [--resync S] [--apply-concurrency C] [--timeout S]
       [--json FILE] [--keep-logs] [--log-level L]

  --vms N                VirtualMachines per row (default 1000)
  --rows LIST            which rows, in order (default minimal,ours,ours-fast):
                           minimal     the minimal loop (list + watch + one status update per VM)
                           ours        virtrigaud run, --kube-api-qps 50 --kube-api-burst 100 (defaults)
                           ours-fast   virtrigaud run, --kube-api-qps 200 --kube-api-burst 400
                             (both with Provider spec.rateLimit 1000 / 2000, out of the way)
                           ours-provider-limit
                                       virtrigaud run, all defaults: API 50 / 100 and Provider
                                       spec.rateLimit unset (10 qps / burst 20 to the hypervisor)
                           ours-vmset  as ours-fast, but one VMSet with replicas N (podManagementPolicy
                                       Parallel) is applied instead of N VirtualMachines
  --repeat R             run the whole list R times (default 1)
  --vm-workers W         --vm-workers of the operator and workers of the minimal loop (default 10)
  --resync S             --resync-period of the operator in seconds; the idle window is 2 of them (default 5)
  --apply-concurrency C  creates in flight while applying (default 50)
  --timeout S            give up on a row after S seconds (default 120 + N/5)
  --json FILE            raw results (default bench/results/reconciler-<date>.json)
  --keep-logs            keep the children's logs (their directory is printed)
  --log-level L          the operator's --log-level (default warn)`;

function parseArgs(argv: string[]): Options {
  const o: Options = { vms: 1000, rows: [...DEFAULT_ROWS], repeat: 1, vmWorkers: 10, resyncS: 5, applyConcurrency: 50, keepLogs: false, logLevel: 'warn' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const positive = (): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} wants a positive integer, got "${v}"`);
      return n;
    };
    switch (flag) {
      case '--vms': o.vms = positive(); break;
      case '--rows': {
        const rows = value().split(',').filter(Boolean);
        for (const r of rows) if (!(r in ROWS)) throw new Error(`--rows: unknown row "${r}" (${Object.keys(ROWS).join(', ')})`);
        o.rows = rows as RowKind[];
        break;
      }
      case '--repeat': o.repeat = positive(); break;
      case '--vm-workers': o.vmWorkers = positive(); break;
      case '--resync': o.resyncS = positive(); break;
      case '--apply-concurrency': o.applyConcurrency = positive(); break;
      case '--timeout': o.timeoutS = positive(); break;
      case '--json': o.json = value(); break;
      case '--keep-logs': o.keepLogs = true; break;
      case '--log-level': o.logLevel = value(); break;
      case '-h': case '--help': console.log(USAGE); process.exit(0); break;
      default: throw new Error(`unknown flag ${flag}\n\n${USAGE}`);
    }
  }
  return o;
}

const log = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);

// ============================================================================
// Environment: namespace, RBAC, ServiceAccount, fixtures
// ============================================================================

/** The install's ClusterRole and Role bound to ServiceAccount NS/SA; returns its kubeconfig path. */
async function serviceAccount(cp: ControlPlane, admin: KubeClient): Promise<string> {
  const docs = parseAllDocuments(readFileSync(INSTALL, 'utf8')).map((d) => d.toJSON());
  const clusterRole = docs.find((d) => d?.kind === 'ClusterRole');
  const role = docs.find((d) => d?.kind === 'Role');
  if (!clusterRole || !role) throw new Error('dist/install.yaml has no ClusterRole or Role: run npm run synth');
  const subjects = [{ kind: 'ServiceAccount', name: SA, namespace: NS }];
  const roleRef = (kind: string, name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind, name });
  const api = 'rbac.authorization.k8s.io/v1';
  await admin.create(RBAC.clusterRoles, { apiVersion: api, kind: 'ClusterRole', metadata: { name: 'virtrigaud-bench' }, rules: clusterRole.rules });
  await admin.create(RBAC.clusterRoleBindings, { apiVersion: api, kind: 'ClusterRoleBinding', metadata: { name: 'virtrigaud-bench' }, roleRef: roleRef('ClusterRole', 'virtrigaud-bench'), subjects });
  await admin.create(RBAC.roles, { apiVersion: api, kind: 'Role', metadata: { name: 'virtrigaud-leader-election', namespace: NS }, rules: role.rules });
  await admin.create(RBAC.roleBindings, { apiVersion: api, kind: 'RoleBinding', metadata: { name: 'virtrigaud-leader-election', namespace: NS }, roleRef: roleRef('Role', 'virtrigaud-leader-election'), subjects });
  return (await cp.kubeconfigForServiceAccount(NS, SA, { expirationSeconds: 7200 })).path;
}

async function fixtures(admin: KubeClient, resyncS: number, providerLimit: Row['providerLimit']): Promise<void> {
  const api = 'infra.virtrigaud.io/v1beta1';
  await admin.create(CoreResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'lab-creds', namespace: NS }, stringData: { username: 'admin', password: 'bench-not-a-secret' } });
  await admin.create(Kinds.Provider, {
    apiVersion: api,
    kind: 'Provider',
    metadata: { name: 'lab', namespace: NS, annotations: { 'virtrigaud.io/in-process': 'memory' } },
    spec: {
      type: 'libvirt',
      // No latency, synchronous tasks: the provider costs nothing, the API traffic is what is measured.
      endpoint: 'https://memory.invalid/bench',
      credentialSecretRef: { name: 'lab-creds' },
      runtime: { image: 'example.invalid/provider:v1', service: { tls: { enabled: false } } },
      // Health checks run during the idle window too: a status write there would show.
      healthCheck: { interval: `${resyncS}s` },
      ...(providerLimit ? { rateLimit: { qps: providerLimit.qps, burst: providerLimit.burst } } : {}),
    },
  });
  await admin.create(Kinds.VMClass, { apiVersion: api, kind: 'VMClass', metadata: { name: 'small', namespace: NS }, spec: { cpu: 2, memory: '4Gi' } });
  await admin.create(Kinds.VMImage, { apiVersion: api, kind: 'VMImage', metadata: { name: 'ubuntu', namespace: NS }, spec: { source: { libvirt: { path: '/var/lib/libvirt/images/ubuntu.qcow2', format: 'qcow2' } } } });
}

/** Right after CRDs are installed the watch cache may answer 503 (storage is (re)initializing) for a moment. */
async function untilListable(admin: KubeClient): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      for (const k of Object.values(Kinds)) await admin.list(k, NS);
      return;
    } catch (e) {
      if (attempt > 100) throw e;
      await sleep(200);
    }
  }
}

const vmName = (i: number): string => `vm-${String(i).padStart(5, '0')}`;

function vm(name: string): unknown {
  return {
    apiVersion: 'infra.virtrigaud.io/v1beta1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: NS },
    spec: { providerRef: { name: 'lab' }, classRef: { name: 'small' }, imageRef: { name: 'ubuntu' }, powerState: 'On' },
  };
}

// ============================================================================
// The child under test
// ============================================================================

interface Counts {
  requests: number;
  writes: number;
  byVerb: Record<string, number>;
  /** ours only: HTTP status → count (409s are conflicts: wasted writes). */
  byCode?: Record<string, number>;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const METHOD_VERB: Record<string, string> = { GET: 'get/list/watch', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

interface Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  counts(): Promise<Counts>;
  /** ours only: reconciles per controller and result. */
  reconciles(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

function exited(proc: ChildProcess): Promise<void> {
  return new Promise((r) => (proc.exitCode !== null || proc.signalCode !== null ? r() : proc.once('exit', () => r())));
}

async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  const done = await Promise.race([exited(proc).then(() => true), sleep(10_000).then(() => false)]);
  if (!done) proc.kill('SIGKILL');
  await exited(proc);
}

async function startOperator(admin: KubeClient, kubeconfig: string, row: Row, opts: Options, logFile: string): Promise<Child> {
  const [metricsPort, probePort] = [await freePort(), await freePort()];
  const out = openSync(logFile, 'w');
  // The in-memory test driver, switched on explicitly, as the operator's instance `memory` for the bench namespace.
  const config = join(mkdtempSync(join(tmpdir(), 'vr-bench-config-')), 'config.yaml');
  writeFileSync(config, `inProcessProviders:\n  - name: memory\n    driver: memory\n    namespaces: [${NS}]\n`);
  const proc = spawn(process.execPath, [
    CLI, 'run', '--kubeconfig', kubeconfig, '--namespace', NS, '--config', config, '--enable-test-providers',
    // One Provider here: let it use every worker, as before per-Provider fairness (its cap is for several Providers).
    '--per-provider-workers', String(opts.vmWorkers),
    '--metrics-bind-address', `127.0.0.1:${metricsPort}`, '--health-probe-bind-address', `127.0.0.1:${probePort}`,
    '--resync-period', `${opts.resyncS}s`, '--vm-workers', String(opts.vmWorkers),
    '--kube-api-qps', String(row.qps), '--kube-api-burst', String(row.burst), '--log-level', opts.logLevel,
  ], { stdio: ['ignore', out, out], cwd: REPO });
  closeSync(out);
  const metrics = async (): Promise<Sample[]> => parseMetrics((await httpGet(`http://127.0.0.1:${metricsPort}/metrics`)).text);
  const deadline = Date.now() + 60_000;
  // Ready = informers synced (readyz) and the Provider reported healthy, so the clock starts with a usable provider.
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`virtrigaud run exited ${proc.exitCode}; see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`virtrigaud run not ready after 60 s; see ${logFile}`);
    const ready = await httpGet(`http://127.0.0.1:${probePort}/readyz`).then((r) => r.status === 200, () => false);
    const provider = ready ? await admin.get(Kinds.Provider, NS, 'lab') : undefined;
    if (provider?.status?.healthy === true) break;
    await sleep(200);
  }
  return {
    proc,
    pid: proc.pid!,
    counts: async () => {
      const samples = await metrics();
      const byMethod = sumBy(samples, 'rest_client_requests_total', 'verb');
      const byCode = sumBy(samples, 'rest_client_requests_total', 'code');
      const byVerb: Record<string, number> = {};
      for (const [m, n] of Object.entries(byMethod)) byVerb[METHOD_VERB[m] ?? m] = n;
      const total = Object.values(byMethod).reduce((a, b) => a + b, 0);
      const writes = Object.entries(byMethod).filter(([m]) => WRITE_METHODS.has(m)).reduce((a, [, n]) => a + n, 0);
      return { requests: total, writes, byVerb, byCode };
    },
    reconciles: async () => {
      const out: Record<string, number> = {};
      for (const s of await metrics()) if (s.name === 'controller_runtime_reconcile_total') out[`${s.labels.controller}/${s.labels.result}`] = s.value;
      return out;
    },
    stop: () => stopChild(proc),
  };
}

async function startMinimal(kubeconfig: string, opts: Options, logFile: string): Promise<Child> {
  const out = openSync(logFile, 'w');
  const proc = spawn(process.execPath, ['--import', 'tsx', MINIMAL, '--kubeconfig', kubeconfig, '--namespace', NS, '--workers', String(opts.vmWorkers)], {
    stdio: ['ignore', out, out, 'ipc'],
    cwd: REPO,
  });
  closeSync(out);
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`minimal loop not ready after 60 s; see ${logFile}`)), 60_000);
    proc.once('exit', (code) => rej(new Error(`minimal loop exited ${code}; see ${logFile}`)));
    proc.on('message', (m: any) => {
      if (m?.ready) {
        clearTimeout(timer);
        res();
      }
    });
  });
  proc.removeAllListeners('exit');
  return {
    proc,
    pid: proc.pid!,
    counts: () =>
      new Promise((res) => {
        proc.once('message', (m: any) => res({ requests: m.stats.requests, writes: m.stats.writes, byVerb: { ...m.stats.byVerb } }));
        proc.send('stats');
      }),
    reconciles: async () => ({}),
    stop: () => stopChild(proc),
  };
}

// ============================================================================
// One row
// ============================================================================

interface RowResult {
  readonly row: RowKind;
  readonly label: string;
  readonly vms: number;
  /** Seconds from the first create to the last create answered. */
  readonly applySeconds: number;
  /** Seconds from the first create until every VM is Running and Ready. */
  readonly wallSeconds: number;
  /** The child's requests from its start until convergence. */
  readonly requestsAtConvergence: Counts;
  /** The child's requests from its start until settled (convergence + tail): all the work for the N VMs. */
  readonly requests: Counts;
  /** The child's requests from the first create until convergence. */
  readonly requestsDuringRun: Counts;
  readonly cpuSeconds: number;
  readonly startupCpuSeconds: number;
  readonly peakRssMiB?: number;
  readonly rssAfterMiB?: number;
  readonly apiServerCpuSeconds?: number;
  readonly etcdCpuSeconds?: number;
  readonly idleSeconds: number;
  /** Requests between convergence and 1 s without any (the child finishing in-flight work). */
  readonly tail: Counts;
  readonly tailVmEvents: number;
  /** Requests in the idle window (two resync periods + 1 s after the tail). */
  readonly idle: Counts;
  /** VM watch events (any change to a VM) seen by the bench during the idle window. */
  readonly idleVmEvents: number;
  readonly reconciles: Record<string, number>;
  /** Lines of the child's log at WARN or ERROR, and how many say an event was dropped. */
  readonly warnings: number;
  readonly droppedEvents: number;
  readonly firstWarnings: string[];
  /** Server side, all clients (the applier's creates included): verb resource/subresource → count, first create → settled. */
  readonly server: Record<string, number>;
  /** Server side, all clients (kube-apiserver's own lease included), during the idle window. */
  readonly serverIdle: Record<string, number>;
  /** One converged VM's status and its size in bytes, to compare the minimal loop's write with the operator's. */
  readonly sampleStatus: unknown;
  readonly sampleStatusBytes: number;
}

function sub(a: Counts, b: Counts): Counts {
  return { requests: b.requests - a.requests, writes: b.writes - a.writes, byVerb: delta(a.byVerb, b.byVerb), ...(b.byCode ? { byCode: delta(a.byCode ?? {}, b.byCode) } : {}) };
}

async function serverRequests(cp: ControlPlane): Promise<Record<string, number>> {
  const r = await rawRequest(cp.kubeConfig, { path: '/metrics', accept: 'text/plain' });
  const out: Record<string, number> = {};
  for (const s of parseMetrics(r.text)) {
    if (s.name !== 'apiserver_request_total' || !s.labels.resource) continue;
    const key = `${s.labels.verb} ${s.labels.resource}${s.labels.subresource ? `/${s.labels.subresource}` : ''}`;
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
}

/** Watches the namespace's VMs; `converged` resolves when `n` VMs are Running and Ready. */
function watchVms(admin: KubeClient, n: number, signal: AbortSignal) {
  const state = new Map<string, boolean>();
  let done = 0;
  let events = 0;
  let resolveDone!: () => void;
  const converged = new Promise<void>((r) => (resolveDone = r));
  const seen = (obj: any, deleted = false): void => {
    const name = obj?.metadata?.name as string;
    const was = state.get(name) ?? false;
    const now = !deleted && isConverged(obj);
    state.set(name, now);
    done += Number(now) - Number(was);
    if (done >= n) resolveDone();
  };
  const started = (async () => {
    const { items, resourceVersion } = await admin.list(Kinds.VirtualMachine, NS);
    items.forEach((o) => seen(o));
    let rv = resourceVersion;
    void (async () => {
      while (!signal.aborted) {
        await admin.watch(Kinds.VirtualMachine, NS, { resourceVersion: rv, timeoutSeconds: 1800 }, (type, obj) => {
          rv = obj?.metadata?.resourceVersion ?? rv;
          events++;
          seen(obj, type === 'DELETED');
        }, signal).catch((e: Error) => log(`watch: ${e.message}`));
        if (!signal.aborted) await sleep(100, signal);
      }
    })();
  })();
  return { started, converged, events: () => events, done: () => done };
}

async function apply(admin: KubeClient, n: number, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) await admin.create(Kinds.VirtualMachine, vm(vmName(i)));
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, () => worker()));
}

/** One VMSet whose N members (`fleet-<i>`) are the VMs the watcher waits for. */
async function applySet(admin: KubeClient, n: number): Promise<void> {
  await admin.create(Kinds.VMSet, {
    apiVersion: 'infra.virtrigaud.io/v1beta1',
    kind: 'VMSet',
    metadata: { name: 'fleet', namespace: NS },
    spec: {
      replicas: n,
      selector: { matchLabels: { app: 'fleet' } },
      updateStrategy: { rollingUpdate: { podManagementPolicy: 'Parallel' } },
      template: { metadata: { labels: { app: 'fleet' } }, spec: (vm('template') as { spec: unknown }).spec },
    },
  });
}

async function runRow(kind: RowKind, opts: Options, logDir: string, attempt: number): Promise<RowResult> {
  const row = ROWS[kind];
  log(`${row.label}: starting a control plane`);
  const cp = await startControlPlane({ crds: [CRDS] });
  const stopWatch = new AbortController();
  let child: Child | undefined;
  try {
    // qps 0: the applier is never held back by a client-side limit.
    const admin = new KubeClient(cp.kubeConfig, { qps: 0, burst: 0, userAgent: 'virtrigaud-bench/applier' });
    await admin.create(CoreResources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    const kubeconfig = await serviceAccount(cp, admin);
    await untilListable(admin);
    await fixtures(admin, opts.resyncS, row.providerLimit);
    const logFile = join(logDir, `${kind}-${attempt}.log`);
    child = row.mode === 'ours' ? await startOperator(admin, kubeconfig, row, opts, logFile) : await startMinimal(kubeconfig, opts, logFile);
    const { pid } = child;
    const pids = cp.state.pids;
    const watcher = watchVms(admin, opts.vms, stopWatch.signal);
    await watcher.started;

    const cpu0 = cpuSeconds(pid) ?? 0;
    const api0 = cpuSeconds(pids.kubeApiserver);
    const etcd0 = cpuSeconds(pids.etcd);
    const counts0 = await child.counts();
    const server0 = await serverRequests(cp);
    log(`${row.label}: applying ${row.vmset ? `a VMSet of ${opts.vms}` : `${opts.vms} VMs`}`);
    const t0 = process.hrtime.bigint();
    const secs = () => Number(process.hrtime.bigint() - t0) / 1e9;
    await (row.vmset ? applySet(admin, opts.vms) : apply(admin, opts.vms, opts.applyConcurrency));
    const applySeconds = secs();
    const timeoutS = opts.timeoutS ?? 120 + opts.vms / 5;
    const progress = setInterval(() => log(`  ${secs().toFixed(0)} s: ${watcher.done()}/${opts.vms} Running`), 10_000);
    const ok = await Promise.race([watcher.converged.then(() => true), sleep(timeoutS * 1000).then(() => false)]);
    clearInterval(progress);
    const wallSeconds = secs();
    if (!ok) throw new Error(`${row.label}: only ${watcher.done()}/${opts.vms} VMs Running after ${timeoutS} s; see ${logFile}`);
    const cpu1 = cpuSeconds(pid) ?? 0;
    const api1 = cpuSeconds(pids.kubeApiserver);
    const etcd1 = cpuSeconds(pids.etcd);
    const counts1 = await child.counts();
    const eventsAtConvergence = watcher.events();
    log(`${row.label}: ${opts.vms} Running after ${wallSeconds.toFixed(1)} s; settling, then idle for ${2 * opts.resyncS + 1} s`);

    // Tail: work still in flight when the last VM turned Running (echoes of the child's own writes).
    // Settled = no request for 1 s (at most 30 s).
    let last = counts1;
    let quiet = 0;
    const tailStart = process.hrtime.bigint();
    while (quiet < 2 && Number(process.hrtime.bigint() - tailStart) < 30e9) {
      await sleep(500);
      const now = await child.counts();
      quiet = now.requests === last.requests ? quiet + 1 : 0;
      last = now;
    }
    const tail = sub(counts1, last);
    const tailVmEvents = watcher.events();
    const serverTail = await serverRequests(cp);

    // Idle: two resync periods (plus a second) in which nothing changes.
    const events0 = watcher.events();
    const idleStart = process.hrtime.bigint();
    await sleep((2 * opts.resyncS + 1) * 1000);
    const idleSeconds = Number(process.hrtime.bigint() - idleStart) / 1e9;
    const counts2 = await child.counts();
    const server2 = await serverRequests(cp);
    const idle = sub(last, counts2);
    const idleVmEvents = watcher.events() - events0;
    const reconciles = await child.reconciles();
    const sample = await admin.get(Kinds.VirtualMachine, NS, row.vmset ? 'fleet-0' : vmName(0));
    const mem = memoryMiB(pid);
    const logLines = readFileSync(logFile, 'utf8').split('\n');
    const warnings = logLines.filter((l) => / (WARN|ERROR) |"level":"(warn|error)"|^minimal: /.test(l));

    return {
      row: kind,
      label: row.label,
      vms: opts.vms,
      applySeconds,
      wallSeconds,
      requestsAtConvergence: counts1,
      requests: last,
      requestsDuringRun: sub(counts0, counts1),
      cpuSeconds: cpu1 - cpu0,
      startupCpuSeconds: cpu0,
      peakRssMiB: mem.peak,
      rssAfterMiB: mem.rss,
      apiServerCpuSeconds: api0 !== undefined && api1 !== undefined ? api1 - api0 : undefined,
      etcdCpuSeconds: etcd0 !== undefined && etcd1 !== undefined ? etcd1 - etcd0 : undefined,
      idleSeconds,
      tail,
      tailVmEvents: tailVmEvents - eventsAtConvergence,
      idle,
      idleVmEvents,
      reconciles,
      server: delta(server0, serverTail),
      serverIdle: delta(serverTail, server2),
      warnings: warnings.length,
      droppedEvents: warnings.filter((l) => l.includes('dropping event')).length,
      firstWarnings: warnings.slice(0, 5),
      sampleStatus: sample?.status,
      sampleStatusBytes: JSON.stringify(sample?.status ?? {}).length,
    };
  } finally {
    stopWatch.abort();
    await child?.stop();
    await cp.stop();
  }
}

// ============================================================================
// Report
// ============================================================================

const fmt = (n: number | undefined, digits = 2): string => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(digits));

function table(results: readonly RowResult[]): string {
  const lines = [
    '| run | VMs | wall s | VMs/s | API requests/VM | writes/VM | CPU s | peak RSS MiB | idle writes | apiserver + etcd CPU s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of results) {
    lines.push(`| ${r.label} | ${r.vms} | ${fmt(r.wallSeconds, 1)} | ${fmt(r.vms / r.wallSeconds, 1)} | ${fmt(r.requests.requests / r.vms)} | ${fmt(r.requests.writes / r.vms)} | ${fmt(r.cpuSeconds, 1)} | ${fmt(r.peakRssMiB, 0)} | ${r.idle.writes} | ${fmt((r.apiServerCpuSeconds ?? NaN) + (r.etcdCpuSeconds ?? 0), 1)} |`);
  }
  return lines.join('\n');
}

function verbs(results: readonly RowResult[]): string {
  const keys = [...new Set(results.flatMap((r) => Object.keys(r.requests.byVerb)))].sort();
  const lines = [`| run | ${keys.join(' | ')} | total |`, `| --- |${keys.map(() => ' ---: |').join('')} ---: |`];
  for (const r of results) lines.push(`| ${r.label} | ${keys.map((k) => r.requests.byVerb[k] ?? 0).join(' | ')} | ${r.requests.requests} |`);
  return lines.join('\n');
}

function serverTable(results: readonly RowResult[]): string {
  const keys = [...new Set(results.flatMap((r) => Object.keys(r.server)))].sort();
  const lines = [`| verb resource | ${results.map((r) => r.label).join(' | ')} |`, `| --- |${results.map(() => ' ---: |').join('')}`];
  for (const k of keys) lines.push(`| ${k} | ${results.map((r) => r.server[k] ?? 0).join(' | ')} |`);
  return lines.join('\n');
}

function git(args: string[]): string {
  const r = spawnSync('git', args, { cwd: REPO, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

async function main(argv: string[]): Promise<void> {
  const opts = parseArgs(argv);
  const logDir = mkdtempSync(join(tmpdir(), 'virtrigaud-bench-reconciler-'));
  const results: RowResult[] = [];
  const started = new Date();
  for (let attempt = 1; attempt <= opts.repeat; attempt++) {
    for (const kind of opts.rows) results.push(await runRow(kind, opts, logDir, attempt));
  }

  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`## Reconciler benchmark: ${opts.vms} VMs, apply → Running`);
  console.log('');
  console.log(`- commit ${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', '--', 'src/reconciler', 'src/providers/memory', 'src/cli']) ? ' (reconciler sources modified)' : ''}; node ${process.version}; machine ${machine}; load average at the end ${load}`);
  console.log(`- vm workers ${opts.vmWorkers}; resync ${opts.resyncS} s (idle window ${2 * opts.resyncS + 1} s); ${opts.applyConcurrency} creates in flight`);
  console.log('');
  console.log(table(results));
  console.log('');
  console.log('wall s: first create → every VM Running and Ready=True. Requests, writes and CPU are the child\'s (operator or minimal loop), not the applier\'s.');
  console.log('Requests count from the child\'s start until it settled (no request for 1 s after convergence; events are sent after the status writes),');
  console.log('CPU s from the first create to convergence. idle writes: writes in the next two resync periods + 1 s.');
  console.log('');
  console.log('### Requests by verb (child, start → settled)');
  console.log('');
  console.log(verbs(results));
  console.log('');
  console.log('### Server side: apiserver_request_total, first create → settled (all clients; includes the applier\'s creates)');
  console.log('');
  console.log(serverTable(results));
  console.log('');
  for (const r of results) {
    const rec = Object.entries(r.reconciles).map(([k, v]) => `${k} ${v}`).join(', ');
    const warn = r.warnings ? `; ${r.warnings} WARN/ERROR log lines (${r.droppedEvents} dropped events), first: ${r.firstWarnings.map((w) => w.slice(0, 200)).join(' | ')}` : '';
    console.log(`- ${r.label}: requests at convergence ${r.requestsAtConvergence.requests} (${fmt(r.requestsAtConvergence.requests / r.vms)}/VM)${warn}; apply took ${fmt(r.applySeconds, 1)} s; child start-up CPU ${fmt(r.startupCpuSeconds, 1)} s; RSS after idle ${fmt(r.rssAfterMiB, 0)} MiB; final status ${r.sampleStatusBytes} bytes; codes ${JSON.stringify(r.requests.byCode ?? {})}; tail after convergence: ${r.tail.requests} requests (${JSON.stringify(r.tail.byVerb)}${r.tail.byCode ? `, codes ${JSON.stringify(r.tail.byCode)}` : ''}), ${r.tailVmEvents} VM watch events; idle: ${r.idle.requests} requests (${JSON.stringify(r.idle.byVerb)}), ${r.idleVmEvents} VM watch events, server side ${JSON.stringify(r.serverIdle)}${rec ? `; reconciles: ${rec}` : ''}`);
  }

  const file = opts.json ?? join(REPO, 'bench', 'results', `reconciler-${started.toISOString().replace(/[:.]/g, '-').slice(0, 19)}.json`);
  mkdirSync(resolve(file, '..'), { recursive: true });
  writeFileSync(file, JSON.stringify({ started: started.toISOString(), commit: git(['rev-parse', 'HEAD']), node: process.version, machine, nproc: cpus().length, load, options: opts, results }, null, 2));
  log(`raw results in ${file}`);
  log(opts.keepLogs ? `logs in ${logDir}` : 'logs removed (--keep-logs keeps them)');
  if (!opts.keepLogs) rmSync(logDir, { recursive: true, force: true });
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    console.error(`bench: ${e.stack ?? e.message}`);
    process.exit(2);
  });
}
