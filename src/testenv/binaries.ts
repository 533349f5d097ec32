/**
 * Locating kube-apiserver, etcd and kubectl for the test control plane.
 *
 * The lookup order matches scripts/kube-bins.sh, minus the slow steps
 * (download, Go build): tests must never start a multi-minute build on
 * their own, so a miss is an error that says how to provide the binaries.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * Repository root: the nearest directory above this file (or, should the
 * package ever be loaded as ESM without `__dirname`, above the working
 * directory) that has tools/kube-bins.
 */
export const REPO_ROOT = findRepoRoot();

function findRepoRoot(): string {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
  let dir = typeof __dirname === 'string' ? __dirname : process.cwd();
  for (;;) {
    if (existsSync(join(dir, 'tools', 'kube-bins'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/** Absolute paths of the three binaries a control plane needs. */
export interface KubeBinaries {
  /** Directory that holds all three binaries. */
  readonly dir: string;
  readonly kubeApiserver: string;
  readonly etcd: string;
  readonly kubectl: string;
  /** Where {@link dir} came from. */
  readonly source: 'explicit' | 'KUBEBUILDER_ASSETS' | 'cache';
}

/** Versions pinned by the wrapper modules in tools/kube-bins/. */
export interface PinnedVersions {
  /** e.g. `v1.37.2` */
  readonly kubernetes: string;
  /** e.g. `v3.6.16` */
  readonly etcd: string;
}

/** Thrown when no directory with all three binaries is found. */
export class MissingKubeBinariesError extends Error {
  constructor(readonly searched: readonly string[]) {
    super(
      [
        'kube-apiserver, etcd and kubectl are needed for the test control plane but were not found.',
        'Looked in:',
        ...searched.map((s) => `  - ${s}`),
        'To get them, either',
        '  - run `npm run kube-bins` (builds them once from the Go module proxy with Go >= 1.26;',
        '    the first build takes several minutes, later runs are instant), or',
        '  - set KUBEBUILDER_ASSETS to a directory containing executables named',
        '    kube-apiserver, etcd and kubectl (e.g. from setup-envtest or a Kubernetes release).',
      ].join('\n'),
    );
    this.name = 'MissingKubeBinariesError';
  }
}

const BINARY_NAMES = ['kube-apiserver', 'etcd', 'kubectl'] as const;

function moduleVersion(goMod: string, modulePath: string): string | undefined {
  const text = readFileSync(goMod, 'utf8');
  const escaped = modulePath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const m = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\S+)`, 'm').exec(text);
  return m?.[1];
}

/** Reads the pinned Kubernetes and etcd versions from tools/kube-bins/. */
export function pinnedVersions(root: string = REPO_ROOT): PinnedVersions {
  const kubernetes = moduleVersion(join(root, 'tools/kube-bins/kubernetes/go.mod'), 'k8s.io/kubernetes');
  const etcd = moduleVersion(join(root, 'tools/kube-bins/etcd/go.mod'), 'go.etcd.io/etcd/server/v3');
  if (!kubernetes || !etcd) throw new Error(`cannot read pinned versions from ${root}/tools/kube-bins/*/go.mod`);
  return { kubernetes, etcd };
}

/**
 * The cache directory scripts/kube-bins.sh fills:
 * `$VIRTRIGAUD_KUBE_BINS_CACHE` (default `~/.cache/virtrigaud/kube-bins`)
 * plus `<k8s-version>-etcd<etcd-version>`, e.g. `v1.37.2-etcd3.6.16`.
 */
export function kubeBinsCacheDir(env: NodeJS.ProcessEnv = process.env, root: string = REPO_ROOT): string {
  const base =
    env.VIRTRIGAUD_KUBE_BINS_CACHE ||
    join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'virtrigaud', 'kube-bins');
  const v = pinnedVersions(root);
  return join(base, `${v.kubernetes}-etcd${v.etcd.replace(/^v/, '')}`);
}

/** Why `dir` is unusable, or undefined when it has all three executables. */
function problemWith(dir: string): string | undefined {
  const missing: string[] = [];
  for (const name of BINARY_NAMES) {
    const p = join(dir, name);
    try {
      if (!statSync(p).isFile()) throw new Error('not a file');
      accessSync(p, constants.X_OK);
    } catch {
      missing.push(name);
    }
  }
  return missing.length ? `missing or not executable: ${missing.join(', ')}` : undefined;
}

function binariesIn(dir: string, source: KubeBinaries['source']): KubeBinaries {
  return {
    dir,
    kubeApiserver: join(dir, 'kube-apiserver'),
    etcd: join(dir, 'etcd'),
    kubectl: join(dir, 'kubectl'),
    source,
  };
}

/**
 * Finds the binaries: `dir` when given, else `$KUBEBUILDER_ASSETS`, else the
 * kube-bins cache. Throws {@link MissingKubeBinariesError} (with the list of
 * places searched and how to fix it) when none has all three.
 */
export function findKubeBinaries(opts: { dir?: string; env?: NodeJS.ProcessEnv } = {}): KubeBinaries {
  const env = opts.env ?? process.env;
  const searched: string[] = [];
  if (opts.dir) {
    const p = problemWith(opts.dir);
    if (!p) return binariesIn(resolve(opts.dir), 'explicit');
    searched.push(`${opts.dir} (given explicitly): ${p}`);
    throw new MissingKubeBinariesError(searched);
  }
  const assets = env.KUBEBUILDER_ASSETS;
  if (assets) {
    const p = problemWith(assets);
    if (!p) return binariesIn(resolve(assets), 'KUBEBUILDER_ASSETS');
    searched.push(`KUBEBUILDER_ASSETS=${assets}: ${p}`);
  } else {
    searched.push('KUBEBUILDER_ASSETS: not set');
  }
  const cache = kubeBinsCacheDir(env);
  const p = problemWith(cache);
  if (!p) return binariesIn(cache, 'cache');
  searched.push(`kube-bins cache ${cache}: ${p}`);
  throw new MissingKubeBinariesError(searched);
}
