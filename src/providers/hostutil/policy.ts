/**
 * The operator's limits on what the host does with a tenant's image and
 * hook fields. The libvirt and QEMU providers run inside the reconciler, as
 * root on the host, for every team; a VMImage or VirtualMachine is written
 * by a tenant in its namespace. So a HostPolicy comes only from the
 * operator's configuration (never from a namespaced object) and denies by
 * default: no local image path, no URL source, no file:// URL, no hook
 * target but the VM itself. docs/security.md ("Image sources and host
 * paths") describes each field.
 */
import { mkdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, normalize, posix, sep } from 'node:path';
import { ProviderError } from '../provider';
import { checkQcow2, type CheckImageOptions } from './image-check';
import { parseCidrs } from './net';
import type { QemuImgInfo } from './qemu-img';

export interface HostPolicy {
  /**
   * Directories local image paths (VMImage `source.libvirt.path`, VM
   * `importedDisk`) may lie in, after symlinks are resolved. For a remote
   * libvirt host they name directories on that host (compared without
   * resolving symlinks, which only that host could do). Default: none (no
   * local image paths). List only directories that hold images: never the
   * directory of a pool that holds VM disks.
   */
  readonly imageRoots: readonly string[];
  /** Where downloads and image copies land while in progress (created 0700 when missing). Default /var/lib/virtrigaud/tmp. */
  readonly tempDir: string;
  /** Largest image accepted: a download is aborted past it, a local file refused. Default 50 GiB. */
  readonly maxImageBytes: number;
  /** Longest a download may take, redirects included. Default 30 minutes. */
  readonly downloadTimeoutMs: number;
  /**
   * Address ranges (CIDRs) image URLs may resolve to, every redirect hop
   * included. Default: none (URL sources are refused). Loopback, 0.0.0.0/8,
   * ::, link-local (169.254.0.0/16, fe80::/10) stay refused unless a
   * listed range lies inside them (0.0.0.0/0 does not open them).
   */
  readonly allowedUrlCidrs: readonly string[];
  /** Accept file:// image URLs (their paths still confined to `imageRoots`). Default false. */
  readonly allowFileUrls: boolean;
  /**
   * Ranges a lifecycle httpGet hook may reach besides the VM's own
   * reported addresses. Default: none. The always-refused ranges above
   * apply here too, even to an address the VM reports.
   */
  readonly hookAllowedCidrs: readonly string[];
}

const GiB = 1024 ** 3;

export const DEFAULT_HOST_POLICY: HostPolicy = Object.freeze({
  imageRoots: Object.freeze([]) as readonly string[],
  tempDir: '/var/lib/virtrigaud/tmp',
  maxImageBytes: 50 * GiB,
  downloadTimeoutMs: 30 * 60_000,
  allowedUrlCidrs: Object.freeze([]) as readonly string[],
  allowFileUrls: false,
  hookAllowedCidrs: Object.freeze([]) as readonly string[],
});

/**
 * A policy from the defaults and the fields given; throws InvalidSpec on a
 * relative directory, a bad CIDR or a non-positive limit (an operator's
 * configuration error, reported at start-up rather than at first use).
 */
export function hostPolicy(fields: Partial<HostPolicy> = {}): HostPolicy {
  const p: HostPolicy = { ...DEFAULT_HOST_POLICY, ...fields };
  for (const d of [...p.imageRoots, p.tempDir]) {
    if (!isAbsolute(d)) throw new ProviderError('InvalidSpec', `host policy: directory "${d}" must be an absolute path`);
  }
  if (!(p.maxImageBytes > 0)) throw new ProviderError('InvalidSpec', `host policy: maxImageBytes must be positive, not ${p.maxImageBytes}`);
  if (!(p.downloadTimeoutMs > 0)) throw new ProviderError('InvalidSpec', `host policy: downloadTimeoutMs must be positive, not ${p.downloadTimeoutMs}`);
  parseCidrs(p.allowedUrlCidrs, 'host policy: allowedUrlCidrs');
  parseCidrs(p.hookAllowedCidrs, 'host policy: hookAllowedCidrs');
  return Object.freeze({ ...p, imageRoots: [...p.imageRoots], allowedUrlCidrs: [...p.allowedUrlCidrs], hookAllowedCidrs: [...p.hookAllowedCidrs] });
}

const under = (p: string, root: string) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
const rootsText = (policy: HostPolicy) => (policy.imageRoots.length ? policy.imageRoots.join(', ') : 'none');

/** Lexical checks both kinds of path share: absolute, no `..` segment. */
function lexical(path: string, operation?: string): void {
  if (!path || !isAbsolute(path)) throw new ProviderError('InvalidSpec', `image path "${path}" must be an absolute path`, operation);
  if (path.split(/[/\\]/).includes('..')) throw new ProviderError('InvalidSpec', `image path "${path}" must not contain ".." segments`, operation);
  if (path.includes('\0')) throw new ProviderError('InvalidSpec', `image path "${JSON.stringify(path)}" contains a NUL byte`, operation);
}

/**
 * The real path of a local image path, when it lies under one of the
 * operator's image roots (both sides with symlinks resolved). Errors are
 * InvalidSpec naming the path and the rule.
 */
export async function confinePath(policy: HostPolicy, path: string, operation?: string): Promise<string> {
  lexical(path, operation);
  if (!policy.imageRoots.length) {
    throw new ProviderError('InvalidSpec', `image path "${path}" is refused: the operator allows no local image paths (no image roots are configured)`, operation);
  }
  const real = await realpath(path).catch(async (e: NodeJS.ErrnoException) => {
    // Whether a file exists is only told for paths under a root: elsewhere it would be a probe of the host.
    const roots = (await Promise.all(policy.imageRoots.map(async (r) => [normalize(r), await realpath(r).catch(() => '')]))).flat().filter(Boolean);
    if (!roots.some((r) => under(normalize(path), r))) {
      throw new ProviderError('InvalidSpec', `image path "${path}" is outside the image roots allowed by the operator (${rootsText(policy)})`, operation);
    }
    throw new ProviderError('InvalidSpec', `image path "${path}" ${e.code === 'ENOENT' ? 'does not exist' : `cannot be resolved (${e.code ?? e.message})`}`, operation);
  });
  for (const root of policy.imageRoots) {
    const r = await realpath(root).catch(() => undefined);
    if (r && under(real, r)) return real;
  }
  const via = real !== normalize(path) ? ` (it resolves to "${real}")` : '';
  throw new ProviderError('InvalidSpec', `image path "${path}"${via} is outside the image roots allowed by the operator (${rootsText(policy)})`, operation);
}

/**
 * A path on a remote libvirt host: only lexical checks are possible here
 * (absolute, no `..`, under a root, compared as written after
 * normalization); the caller then requires it to be a storage volume of
 * that host. Returns the normalized path.
 */
export function confineRemotePath(policy: HostPolicy, path: string, operation?: string): string {
  lexical(path, operation);
  const p = posix.normalize(path);
  if (policy.imageRoots.some((r) => under(p, posix.normalize(r).replace(/\/+$/, '') || '/'))) return p;
  throw new ProviderError('InvalidSpec', `image path "${path}" is outside the image roots allowed by the operator (${rootsText(policy)})`, operation);
}

/** Refuses a file larger than the policy's cap. */
export function checkImageSize(policy: HostPolicy, bytes: number, what: string, operation?: string): void {
  if (bytes > policy.maxImageBytes) {
    throw new ProviderError('InvalidSpec', `${what} is ${bytes} bytes, more than the ${policy.maxImageBytes} bytes allowed by the operator (maxImageBytes)`, operation);
  }
}

/** The policy's temp directory, created (0700) when missing. */
export async function ensureTempDir(policy: HostPolicy): Promise<string> {
  await mkdir(policy.tempDir, { recursive: true, mode: 0o700 });
  return policy.tempDir;
}

/**
 * A local image path as a provider may use it: confined to the roots, a
 * regular file within the size cap, and standalone ({@link checkQcow2}).
 * Returns the real path and qemu-img's view of the file.
 */
export async function openLocalImage(
  policy: HostPolicy, path: string, opts: Omit<CheckImageOptions, 'what'> = {},
): Promise<{ path: string; info: QemuImgInfo; size: number }> {
  const real = await confinePath(policy, path, opts.operation);
  const st = await stat(real);
  if (!st.isFile()) throw new ProviderError('InvalidSpec', `image path "${path}" is not a regular file`, opts.operation);
  checkImageSize(policy, st.size, `image path "${path}"`, opts.operation);
  const info = await checkQcow2(real, { ...opts, what: `image path "${path}"` });
  return { path: real, info, size: st.size };
}

export { checkQcow2, IMAGE_FORMATS, parseQcow2Header, qemuFormatOf, refuseQcow2References, QCOW2_HEADER_BYTES, type CheckImageOptions } from './image-check';
export { ALWAYS_REFUSED_CIDRS, addressRefusal, parseCidr, parseCidrs, pinnedGet, resolveChecked } from './net';
