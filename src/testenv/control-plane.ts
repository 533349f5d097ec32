/**
 * A real Kubernetes control plane (etcd + kube-apiserver, no controllers,
 * no nodes) for tests, in the spirit of controller-runtime's envtest.
 *
 * - {@link startControlPlane} starts one owned by the calling process.
 * - {@link attachControlPlane} connects to one another process started
 *   (see shared.ts), using the state that {@link ControlPlane.state} returns.
 */
import { CoreV1Api, type KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findKubeBinaries, REPO_ROOT, type KubeBinaries } from './binaries';
import { apiErrorMessage, installCrds, readCrdFiles, type InstallCrdsOptions } from './crds';
import { loadKubeConfig, writeKubeconfig } from './kubeconfig';
import { createCa, createServiceAccountKeys, issueCert, readPair, type CertPair } from './pki';
import { freePort, httpGet, ManagedProcess, pidAlive, pollUntil } from './processes';
import { rawRequest } from './raw-request';

/** The identity behind the admin kubeconfig (group system:masters bypasses RBAC). */
export const ADMIN_USER = 'virtrigaud-testenv-admin';
export const ADMIN_GROUPS: readonly string[] = ['system:masters'];

/** Where our CRDs are synthesized to (`npm run synth`). */
export const DEFAULT_CRDS_PATH = join(REPO_ROOT, 'dist', 'crds.yaml');

/** The CRD files installed when {@link ControlPlaneOptions.crds} is not given. */
export function defaultCrdPaths(): string[] {
  return existsSync(DEFAULT_CRDS_PATH) ? [DEFAULT_CRDS_PATH] : [];
}

/** A kubeconfig written for one identity. */
export interface UserKubeconfig {
  /** Path of the kubeconfig file (usable with `kubectl --kubeconfig`). */
  readonly path: string;
  /** The same configuration, loaded for @kubernetes/client-node. */
  readonly kubeConfig: KubeConfig;
  /** Kubernetes user name the API server sees. */
  readonly user: string;
  /** Groups the API server sees (besides system:authenticated). */
  readonly groups: readonly string[];
}

/** An identity to make a client certificate for. */
export interface UserIdentity {
  /** User name (certificate CN), e.g. `alice`. */
  readonly user: string;
  /** Groups (certificate O entries). @default [] */
  readonly groups?: readonly string[];
  /** Default namespace of the kubeconfig's context. */
  readonly namespace?: string;
}

export interface ServiceAccountKubeconfigOptions {
  /** Token lifetime; the API server enforces a minimum of 600. @default 3600 */
  readonly expirationSeconds?: number;
  /** Create the ServiceAccount when it does not exist. @default true */
  readonly create?: boolean;
}

/** Result of {@link ControlPlane.kubectl}. */
export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KubectlOptions {
  /** Kubeconfig to use. @default the admin kubeconfig */
  readonly kubeconfigPath?: string;
  /** Fed to kubectl's stdin (e.g. with `apply -f -`). */
  readonly input?: string;
  /** @default 60000 */
  readonly timeoutMs?: number;
}

/** Everything needed to connect to a running control plane; JSON-serializable. */
export interface ControlPlaneState {
  readonly format: 'virtrigaud-testenv/v1';
  /** `https://127.0.0.1:<port>` */
  readonly server: string;
  /** Working directory (certificates, logs, kubeconfigs). */
  readonly dir: string;
  /** Admin (system:masters) kubeconfig. */
  readonly kubeconfigPath: string;
  /** The CA that signs serving and client certificates. */
  readonly ca: CertPair;
  readonly binDir: string;
  readonly pids: { readonly etcd?: number; readonly kubeApiserver?: number; readonly owner: number };
}

export interface ControlPlaneOptions {
  /** The binaries, or a directory holding them. @default see {@link findKubeBinaries} */
  readonly binaries?: KubeBinaries | string;
  /**
   * CRD files (multi-document YAML) to install and wait for; `[]` installs
   * none. @default dist/crds.yaml when it exists
   */
  readonly crds?: readonly string[];
  /** Options for the CRD installation. */
  readonly crdOptions?: InstallCrdsOptions;
  /** How long etcd and kube-apiserver may take to become ready. @default 60000 */
  readonly startTimeoutMs?: number;
  /** Parent of the temporary working directory. @default os.tmpdir() */
  readonly baseDir?: string;
  /** Appended to kube-apiserver's command line (later flags win). */
  readonly apiServerArgs?: readonly string[];
  /** Appended to etcd's command line. */
  readonly etcdArgs?: readonly string[];
  /** Keep the working directory after stop(), for debugging. @default `$VIRTRIGAUD_TESTENV_KEEP === '1'` */
  readonly keepDir?: boolean;
  /** Progress messages (e.g. `console.error`). @default silent */
  readonly log?: (message: string) => void;
}

/** A running control plane and helpers to talk to it as different identities. */
export interface ControlPlane {
  /** API server URL, `https://127.0.0.1:<port>`. */
  readonly server: string;
  /** Path of the admin kubeconfig (user {@link ADMIN_USER}, group system:masters). */
  readonly kubeconfigPath: string;
  /** Admin configuration for @kubernetes/client-node. */
  readonly kubeConfig: KubeConfig;
  /** The binaries in use (kubectl among them). */
  readonly binaries: KubeBinaries;
  /** Working directory: certificates, logs (etcd.log, kube-apiserver.log), kubeconfigs. */
  readonly dir: string;
  /** True when this process started the control plane and {@link stop} ends it. */
  readonly owned: boolean;
  /** Connection state, for {@link attachControlPlane} in another process. */
  readonly state: ControlPlaneState;
  /**
   * Resolves with a report (exit status and log tail) if etcd or
   * kube-apiserver ends without {@link stop} being called. Never resolves
   * for an attached control plane.
   */
  readonly crashed: Promise<string>;

  /**
   * Makes a client certificate for `identity` and writes a kubeconfig for
   * it. The identity has no permissions until RBAC grants some (unless a
   * group such as system:masters does).
   */
  kubeconfigFor(identity: UserIdentity): Promise<UserKubeconfig>;

  /**
   * Writes a kubeconfig holding a TokenRequest token of ServiceAccount
   * `namespace/name` (created when missing): what a controller running in a
   * Pod as that ServiceAccount would authenticate as. The namespace must exist.
   */
  kubeconfigForServiceAccount(namespace: string, name: string, opts?: ServiceAccountKubeconfigOptions): Promise<UserKubeconfig>;

  /**
   * Installs the CRDs from these YAML files and waits until every one is
   * Established. Idempotent. Throws a CrdInstallError naming each CRD that
   * was rejected (e.g. a CEL rule that does not compile) or did not become
   * Established, with its conditions.
   */
  applyCrds(paths: readonly string[], opts?: InstallCrdsOptions): Promise<V1CustomResourceDefinition[]>;

  /** Runs the matching kubectl (admin kubeconfig unless told otherwise). Never throws on a non-zero exit. */
  kubectl(args: readonly string[], opts?: KubectlOptions): Promise<KubectlResult>;

  /**
   * Owned only (fault tests): kills kube-apiserver, starts it again with the
   * same arguments and port, and waits for /readyz. etcd and its data stay.
   * Rejects for an attached control plane.
   */
  restartApiServer(): Promise<void>;

  /**
   * Owned: stops kube-apiserver, then etcd, and removes the working
   * directory. Attached: does nothing (the owner stops it). Idempotent.
   */
  stop(): Promise<void>;
}

const DIR_PREFIX = 'virtrigaud-testenv-';

/** Shared behaviour of owned and attached control planes. */
class ControlPlaneClient implements ControlPlane {
  readonly server: string;
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  readonly binaries: KubeBinaries;
  readonly dir: string;
  readonly owned: boolean = false;
  readonly crashed: Promise<string> = new Promise(() => {});

  constructor(readonly state: ControlPlaneState) {
    this.server = state.server;
    this.kubeconfigPath = state.kubeconfigPath;
    this.dir = state.dir;
    this.kubeConfig = loadKubeConfig(readFileSync(state.kubeconfigPath, 'utf8'));
    this.binaries = findKubeBinaries({ dir: state.binDir });
  }

  private async caCert(): Promise<string> {
    return readFile(this.state.ca.certPath, 'utf8');
  }

  private userFile(user: string): string {
    // Unique per call: several test files may ask for the same user at once.
    const safe = user.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60);
    return `${safe}-${randomBytes(4).toString('hex')}`;
  }

  async kubeconfigFor(identity: UserIdentity): Promise<UserKubeconfig> {
    const groups = [...(identity.groups ?? [])];
    const usersDir = join(this.dir, 'users');
    const base = this.userFile(identity.user);
    const pair = await issueCert(this.state.ca, usersDir, base, {
      commonName: identity.user,
      organizations: groups,
      usage: 'client',
    });
    const pem = await readPair(pair);
    const path = join(usersDir, `${base}.kubeconfig`);
    const kubeConfig = await writeKubeconfig(path, {
      server: this.server,
      caCert: await this.caCert(),
      userName: identity.user,
      credentials: pem,
      namespace: identity.namespace,
    });
    return { path, kubeConfig, user: identity.user, groups };
  }

  async kubeconfigForServiceAccount(
    namespace: string,
    name: string,
    opts: ServiceAccountKubeconfigOptions = {},
  ): Promise<UserKubeconfig> {
    const core = this.kubeConfig.makeApiClient(CoreV1Api);
    if (opts.create ?? true) {
      try {
        await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
      } catch (err) {
        if ((err as { code?: number }).code !== 409) {
          throw new Error(`cannot create ServiceAccount ${namespace}/${name}: ${apiErrorMessage(err)}`);
        }
      }
    }
    let token: string | undefined;
    try {
      const tr = await core.createNamespacedServiceAccountToken({
        namespace,
        name,
        body: { spec: { audiences: [], expirationSeconds: opts.expirationSeconds ?? 3600 } },
      });
      token = tr.status?.token;
    } catch (err) {
      throw new Error(`TokenRequest for ServiceAccount ${namespace}/${name} failed: ${apiErrorMessage(err)}`);
    }
    if (!token) throw new Error(`TokenRequest for ServiceAccount ${namespace}/${name} returned no token`);
    const user = `system:serviceaccount:${namespace}:${name}`;
    const path = join(this.dir, 'users', `${this.userFile(user)}.kubeconfig`);
    await mkdir(join(this.dir, 'users'), { recursive: true });
    const kubeConfig = await writeKubeconfig(path, {
      server: this.server,
      caCert: await this.caCert(),
      userName: user,
      credentials: { token },
      namespace,
    });
    return { path, kubeConfig, user, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`] };
  }

  async applyCrds(paths: readonly string[], opts?: InstallCrdsOptions): Promise<V1CustomResourceDefinition[]> {
    return installCrds(this.kubeConfig, await readCrdFiles(paths), opts);
  }

  kubectl(args: readonly string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
    const fullArgs = [
      `--kubeconfig=${opts.kubeconfigPath ?? this.kubeconfigPath}`,
      // A private discovery cache: ports get reused across control planes
      // and ~/.kube/cache would serve another run's API list.
      `--cache-dir=${join(this.dir, 'kubectl-cache')}`,
      ...args,
    ];
    return new Promise((res) => {
      const child = execFile(
        this.binaries.kubectl,
        fullArgs,
        { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 32 << 20, env: { ...process.env, KUBECONFIG: '' } },
        (err, stdout, stderr) => {
          if (!err) return res({ code: 0, stdout, stderr });
          // A number is kubectl's exit code; anything else (timeout, spawn
          // failure) is reported as exit code 1 with the reason appended.
          const exit = (err as { code?: unknown }).code;
          if (typeof exit === 'number') return res({ code: exit, stdout, stderr });
          res({ code: 1, stdout, stderr: `${stderr}${stderr ? '\n' : ''}${err.message}` });
        },
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
      else child.stdin?.end();
    });
  }

  async restartApiServer(): Promise<void> {
    throw new Error('only an owned control plane (useControlPlane(t, { private: true })) can restart its API server');
  }

  async stop(): Promise<void> {
    /* attached: the owner stops it */
  }
}

/** Connects to a control plane started elsewhere; its stop() does nothing. */
export function attachControlPlane(state: ControlPlaneState): ControlPlane {
  if (state.format !== 'virtrigaud-testenv/v1') throw new Error(`unknown control plane state format ${String(state.format)}`);
  return new ControlPlaneClient(state);
}

// ---------------------------------------------------------------------------
// Owned control planes

/** Owned planes still running, for the synchronous process-exit hook. */
const live = new Set<LocalControlPlane>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Normal exit (also after an uncaught exception): kill synchronously.
  // Deaths by signal are covered by the children's parent-death signal
  // (processes.ts) and by sweepStaleDirs() on the next start.
  process.on('exit', () => {
    for (const cp of live) cp.killNowSync();
  });
}

/** Removes working directories left by owners that died without cleaning up. */
function sweepStaleDirs(baseDir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(baseDir);
  } catch {
    return;
  }
  for (const e of entries) {
    const m = /^virtrigaud-testenv-(\d+)-/.exec(e);
    if (m && !pidAlive(Number(m[1]))) rmSync(join(baseDir, e), { recursive: true, force: true });
  }
}

class LocalControlPlane extends ControlPlaneClient {
  override readonly owned = true;
  override readonly crashed: Promise<string>;
  private stopping: Promise<void> | undefined;

  private crash: (report: string) => void = () => {};

  constructor(
    state: ControlPlaneState,
    private readonly etcd: ManagedProcess,
    private apiServer: ManagedProcess,
    private readonly keepDir: boolean,
  ) {
    super(state);
    live.add(this);
    installExitHook();
    this.crashed = new Promise((res) => (this.crash = res));
    this.watchCrash(etcd);
    this.watchCrash(apiServer);
  }

  /** Processes ended on purpose by restartApiServer(). */
  private readonly replaced = new Set<ManagedProcess>();

  /** A process ending counts as a crash unless we stopped or replaced it. */
  private watchCrash(p: ManagedProcess): void {
    void p.ended.then(() => {
      if (!this.stopping && !this.replaced.has(p)) this.crash(p.exitReport());
    });
  }

  override async restartApiServer(): Promise<void> {
    if (this.stopping) throw new Error('control plane is stopped');
    const old = this.apiServer;
    this.replaced.add(old);
    old.child.ref(); // unref'd children do not keep the event loop alive while we wait
    old.killNow(); // a crash, not a graceful shutdown: clients see connections drop
    await old.ended;
    const fresh = ManagedProcess.start(old.name, old.bin, old.args, old.logPath);
    this.apiServer = fresh;
    this.watchCrash(fresh);
    await pollUntil('restarted kube-apiserver /readyz', async () => {
      const r = await rawRequest(this.kubeConfig, { path: '/readyz', timeoutMs: 2000 });
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
      return true;
    }, { timeoutMs: 60_000, intervalMs: 200, abortIf: () => (fresh.exited ? fresh.exitReport() : undefined) });
  }

  override stop(): Promise<void> {
    this.stopping ??= (async () => {
      // API server first so it does not log etcd connection errors.
      await this.apiServer.stop();
      await this.etcd.stop();
      live.delete(this);
      if (!this.keepDir) await rm(this.dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  killNowSync(): void {
    this.apiServer.killNow();
    this.etcd.killNow();
    if (!this.keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

interface Pki {
  readonly ca: CertPair;
  readonly serving: CertPair;
  readonly admin: CertPair;
  readonly sa: { privateKeyPath: string; publicKeyPath: string };
}

async function makePki(dir: string): Promise<Pki> {
  const pkiDir = join(dir, 'pki');
  const ca = await createCa(pkiDir, 'virtrigaud-testenv-ca');
  const [serving, admin, sa] = await Promise.all([
    issueCert(ca, pkiDir, 'apiserver', {
      commonName: 'kube-apiserver',
      usage: 'server',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
    }),
    issueCert(ca, pkiDir, 'admin', { commonName: ADMIN_USER, organizations: ADMIN_GROUPS, usage: 'client' }),
    createServiceAccountKeys(pkiDir),
  ]);
  return { ca, serving, admin, sa };
}

interface Started {
  readonly etcd: ManagedProcess;
  readonly apiServer: ManagedProcess;
  readonly port: number;
}

/** One attempt at starting etcd and kube-apiserver on fresh ports. */
async function startServers(bins: KubeBinaries, dir: string, pki: Pki, opts: ControlPlaneOptions, attempt: number): Promise<Started> {
  const log = opts.log ?? (() => {});
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const [clientPort, peerPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const etcdUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;

  const etcd = ManagedProcess.start('etcd', bins.etcd, [
    '--name=default',
    `--data-dir=${join(dir, `etcd-data-${attempt}`)}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=default=${peerUrl}`,
    // Test data is thrown away: skip fsync, it is the slowest part of etcd.
    '--unsafe-no-fsync=true',
    '--log-level=warn',
    ...(opts.etcdArgs ?? []),
  ], join(dir, 'etcd.log'));
  const apiServer = { current: undefined as ManagedProcess | undefined };
  try {
    log(`etcd starting on ${etcdUrl} (pid ${etcd.pid})`);
    await pollUntil('etcd to become healthy', async () => (await httpGet(`${etcdUrl}/health`)).body.includes('"health":"true"'), {
      timeoutMs,
      abortIf: () => (etcd.exited ? etcd.exitReport() : undefined),
    });

    const server = `https://127.0.0.1:${apiPort}`;
    apiServer.current = ManagedProcess.start('kube-apiserver', bins.kubeApiserver, [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      // Without it the server advertises the default route's address and
      // fails on hosts that have none.
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'pki')}`,
      `--tls-cert-file=${pki.serving.certPath}`,
      `--tls-private-key-file=${pki.serving.keyPath}`,
      `--client-ca-file=${pki.ca.certPath}`,
      '--authorization-mode=RBAC',
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${pki.sa.publicKeyPath}`,
      `--service-account-signing-key-file=${pki.sa.privateKeyPath}`,
      // Only an allocation range for Service objects; nothing is routed there.
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      // No controller manager creates "default" ServiceAccounts.
      '--disable-admission-plugins=ServiceAccount',
      // The default (lease) endpoint reconciler makes kube-apiserver exit:
      // "cannot use public IP 127.0.0.1 with endpoint reconciler".
      '--endpoint-reconciler-type=none',
      ...(opts.apiServerArgs ?? []),
    ], join(dir, 'kube-apiserver.log'));
    log(`kube-apiserver starting on ${server} (pid ${apiServer.current.pid})`);
    const admin = await readPair(pki.admin);
    const ca = await readFile(pki.ca.certPath, 'utf8');
    const api = apiServer.current;
    await pollUntil('kube-apiserver /readyz', async () => {
      const r = await httpGet(`${server}/readyz`, { ca, cert: admin.cert, key: admin.key });
      if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.body.split('\n').filter((l) => l.includes('[-]')).join(', ') || r.body.slice(0, 200)}`);
      return true;
    }, {
      timeoutMs,
      intervalMs: 200,
      abortIf: () => (api.exited ? api.exitReport() : etcd.exited ? etcd.exitReport() : undefined),
    });
    return { etcd, apiServer: api, port: apiPort };
  } catch (err) {
    await apiServer.current?.stop(2000);
    await etcd.stop(2000);
    throw err;
  }
}

/**
 * Starts etcd and kube-apiserver on free loopback ports with temporary data,
 * RBAC authorization, client-certificate authentication (admin:
 * {@link ADMIN_USER} in system:masters) and ServiceAccount token signing,
 * waits for `/readyz`, then installs the CRDs (dist/crds.yaml by default).
 *
 * The processes die with the calling process even when it is killed (they
 * get a parent-death signal); call {@link ControlPlane.stop} to end them
 * earlier and remove the working directory.
 *
 * @throws MissingKubeBinariesError when the binaries are not found,
 *   CrdInstallError when a CRD is not usable, Error with the server log's
 *   tail when a server does not start.
 */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? (() => {});
  const bins =
    typeof opts.binaries === 'string' ? findKubeBinaries({ dir: opts.binaries }) : (opts.binaries ?? findKubeBinaries());
  log(`binaries: ${bins.dir} (${bins.source})`);
  const baseDir = resolve(opts.baseDir ?? tmpdir());
  mkdirSync(baseDir, { recursive: true });
  sweepStaleDirs(baseDir);
  const dir = await mkdtemp(join(baseDir, `${DIR_PREFIX}${process.pid}-`));
  const keepDir = opts.keepDir ?? process.env.VIRTRIGAUD_TESTENV_KEEP === '1';
  let started: Started | undefined;
  try {
    const pki = await makePki(dir);
    // Ports are picked, released, then bound by the servers; another
    // process may grab one in between, so retry on "address in use".
    for (let attempt = 1; ; attempt++) {
      try {
        started = await startServers(bins, dir, pki, opts, attempt);
        break;
      } catch (err) {
        if (attempt >= 3 || !/address already in use/i.test((err as Error).message)) throw err;
        log(`port clash, retrying (${(err as Error).message.split('\n')[0]})`);
      }
    }
    const server = `https://127.0.0.1:${started.port}`;
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    const [admin, caCert] = await Promise.all([readPair(pki.admin), readFile(pki.ca.certPath, 'utf8')]);
    await writeKubeconfig(kubeconfigPath, { server, caCert, userName: ADMIN_USER, credentials: admin });
    const state: ControlPlaneState = {
      format: 'virtrigaud-testenv/v1',
      server,
      dir,
      kubeconfigPath,
      ca: pki.ca,
      binDir: bins.dir,
      pids: { etcd: started.etcd.pid, kubeApiserver: started.apiServer.pid, owner: process.pid },
    };
    const cp = new LocalControlPlane(state, started.etcd, started.apiServer, keepDir);
    const crds = opts.crds ?? defaultCrdPaths();
    if (crds.length) {
      log(`installing CRDs from ${crds.join(', ')}`);
      try {
        const installed = await cp.applyCrds(crds, opts.crdOptions);
        log(`${installed.length} CRD(s) Established`);
      } catch (err) {
        await cp.stop();
        throw err;
      }
    }
    log(`ready: ${server}`);
    return cp;
  } catch (err) {
    if (started && !started.apiServer.exited) {
      await started.apiServer.stop(2000);
      await started.etcd.stop(2000);
    }
    if (!keepDir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
