/**
 * ImagePrepare: a VMImage's libvirt `path` or `url` becomes a base volume
 * in the provider's pool, checksum-verified, which VM root disks then
 * overlay (or copy). Prepared volumes are reused by name, so the download
 * and verification happen once per image.
 *
 * Everything goes through the operator's HostPolicy: a local path must lie
 * under the image roots (symlinks resolved) and is copied before it is
 * checked and used; a URL goes through the guarded download; every image
 * and every pool volume a VM is built on must be standalone (no backing
 * file, no external data file). A path on a remote libvirt host is checked
 * lexically against the roots and must be a storage volume of that host.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ProviderError } from '../provider';
import {
  checkImageSize, checkQcow2, confinePath, confineRemotePath, download, ensureTempDir, parseQcow2Header, qemuImg,
  QCOW2_HEADER_BYTES, refuseQcow2References, verifyChecksum, type HostPolicy, type QemuImgInfo,
} from '../hostutil';
import type { Pool, VolumeInfo } from './storage';
import type { VirshOptions } from './virsh';

export interface ImageSource {
  readonly path?: string;
  readonly url?: string;
  readonly format?: string;
  readonly checksum?: string;
  readonly checksumType?: string;
  readonly templateName?: string;
}

export interface PreparedImage {
  readonly volume: string;
  readonly path: string;
  readonly format: string;
  readonly capacity: number;
}

const DISK_FORMATS = ['qcow2', 'raw', 'vmdk', 'vhd', 'vhdx', 'vpc'];
/** Formats a pool volume may have to be used as it is (others would need inspecting that libvirt cannot do). */
const VOLUME_FORMATS = ['qcow2', 'raw'];
/** Names of the volumes a VM owns (volumeNames in provision.ts, clones in snapshots.ts): never a template. */
const VM_VOLUME = /-root\.qcow2$|-disk-?.+\.qcow2$|-base\d+\.qcow2$|-seed\.iso$/;

/** A volume name that is stable for the same source (and checksum). */
export function imageVolumeName(src: ImageSource, salt = ''): string {
  const h = createHash('sha256').update(`${src.url ?? ''}\n${src.path ?? ''}\n${src.checksum ?? ''}\n${salt}`).digest('hex');
  return `image-${h.slice(0, 16)}.qcow2`;
}

/** The pool volume ImagePrepare makes for a target name. */
export const targetVolume = (targetName: string): string => `${targetName.replace(/[^A-Za-z0-9._-]/g, '-')}.qcow2`;

const prepared = (v: VolumeInfo): PreparedImage => ({ volume: v.name, path: v.path, format: v.format, capacity: v.capacity });

export interface PrepareOptions extends VirshOptions {
  readonly remote: boolean;
  readonly targetName?: string;
  /** The operator's limits (see hostutil/policy.ts). */
  readonly policy: HostPolicy;
}

/**
 * Resolves the image to a base volume, importing it when needed. Returns
 * undefined when the source names nothing a libvirt host can use (no path,
 * url, or existing template volume).
 */
export async function prepareImage(pool: Pool, src: ImageSource, opts: PrepareOptions): Promise<PreparedImage | undefined> {
  const { policy } = opts;
  const o: VirshOptions = { ...opts, operation: opts.operation ?? 'ImagePrepare' };
  if (src.format && !DISK_FORMATS.includes(src.format) && src.format !== 'template') {
    throw new ProviderError('InvalidSpec', `image format "${src.format}" cannot be a libvirt boot disk (qcow2, raw, vmdk, vhd, vhdx)`, o.operation);
  }
  if (!src.url && !src.path) {
    if (!src.templateName) return undefined;
    for (const name of [src.templateName, `${src.templateName}.qcow2`, `${src.templateName}.img`]) {
      if (VM_VOLUME.test(name) || name.includes('/')) continue;
      const found = await pool.info(name, o);
      if (found) return checkedVolume(pool, found, policy, `template volume "${name}"`, o);
    }
    return undefined;
  }
  if (src.path && !src.url && opts.remote) return remotePath(pool, src, policy, o);

  // Local path: confined first (a refused path costs nothing more); the salt makes a changed file a new volume.
  const real = src.path && !src.url ? await confinePath(policy, src.path, o.operation) : undefined;
  const salt = real ? await stat(real).then((s) => `${s.size}:${s.mtimeMs}`, () => '') : '';
  const volume = opts.targetName ? targetVolume(opts.targetName) : imageVolumeName(src, salt);
  const cached = await pool.info(volume, o);
  if (cached) return checkedVolume(pool, cached, policy, `image volume "${volume}"`, o);

  const dir = await mkdtemp(join(await ensureTempDir(policy), 'image-'));
  try {
    const local = join(dir, 'image');
    let info: QemuImgInfo;
    if (src.url) {
      let checked: QemuImgInfo | undefined;
      await download(src.url, local, policy, {
        checksum: src.checksum ? { algo: src.checksumType ?? 'sha256', expected: src.checksum } : undefined,
        verify: async (f) => { checked = await checkQcow2(f, { format: src.format, operation: o.operation, what: `image URL "${src.url}"` }); },
        signal: o.signal, operation: o.operation,
      });
      info = checked!;
    } else {
      // Copy first, then check and verify the copy: what is checked is what is used.
      const st = await stat(real!);
      if (!st.isFile()) throw new ProviderError('InvalidSpec', `image path "${src.path}" is not a regular file`, o.operation);
      checkImageSize(policy, st.size, `image path "${src.path}"`, o.operation);
      await copyFile(real!, local);
      info = await checkQcow2(local, { format: src.format, operation: o.operation, what: `image path "${src.path}"` });
      if (src.checksum) await verifyChecksum(local, src.checksumType ?? 'sha256', src.checksum, `image path "${src.path}"`);
    }
    const upload = await asQcow2(local, join(dir, 'image.qcow2'), info, o);
    await pool.upload(volume, upload, o);
    const ready = await pool.info(volume, o);
    if (!ready) throw new ProviderError('Internal', `volume ${volume} missing right after upload`, o.operation);
    return prepared(ready);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Converts to qcow2 when needed, naming the checked format (never probing again). */
async function asQcow2(file: string, out: string, info: QemuImgInfo, o: VirshOptions): Promise<string> {
  if (info.format === 'qcow2') return file;
  await qemuImg.convert(file, out, { format: 'qcow2', sourceFormat: info.format, ...o });
  return out;
}

/**
 * A pool volume a VM may be built on: no backing store, qcow2 or raw, and
 * (qcow2) a header that names no other file. The header is read over
 * vol-download, so this works on a remote host as on this one.
 */
export async function checkedVolume(pool: Pool, v: VolumeInfo, policy: HostPolicy, what: string, o: VirshOptions): Promise<PreparedImage> {
  if (v.backing) throw new ProviderError('InvalidSpec', `${what} has a backing file ("${v.backing}"); images must be standalone`, o.operation);
  if (!VOLUME_FORMATS.includes(v.format)) {
    throw new ProviderError('InvalidSpec', `${what} is in format ${v.format}; a volume used as an image must be qcow2 or raw`, o.operation);
  }
  if (v.format === 'qcow2') {
    const dir = await mkdtemp(join(await ensureTempDir(policy), 'header-'));
    try {
      await pool.download(v.path, join(dir, 'head'), { ...o, length: QCOW2_HEADER_BYTES });
      const header = parseQcow2Header(await readFile(join(dir, 'head')));
      if (!header) throw new ProviderError('InvalidSpec', `${what} is reported as qcow2 but has no qcow2 header`, o.operation);
      refuseQcow2References(header, what, o.operation);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return prepared(v);
}

/** A path on a remote host: under the roots (lexically), a volume of a storage pool there, standalone; the checksum is checked over vol-download. */
async function remotePath(pool: Pool, src: ImageSource, policy: HostPolicy, o: VirshOptions): Promise<PreparedImage> {
  const p = confineRemotePath(policy, src.path!, o.operation);
  const vol = await pool.info(p, o).catch(() => undefined);
  if (!vol) throw new ProviderError('InvalidSpec', `image path "${p}" is not a volume of any storage pool on the libvirt host`, o.operation);
  // The host's own view of the path (it may have resolved a link) must be under the roots too.
  if (vol.path !== p) confineRemotePath(policy, vol.path, o.operation);
  const image = await checkedVolume(pool, vol, policy, `image path "${p}"`, o);
  if (src.checksum) {
    checkImageSize(policy, vol.format === 'raw' ? vol.capacity : vol.allocation, `image path "${p}"`, o.operation);
    const dir = await mkdtemp(join(await ensureTempDir(policy), 'image-'));
    try {
      await pool.download(vol.path, join(dir, 'image'), o);
      await verifyChecksum(join(dir, 'image'), src.checksumType ?? 'sha256', src.checksum, `image path "${p}"`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return image;
}
