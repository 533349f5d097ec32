/**
 * ImagePrepare: a VMImage's libvirt `path` or `url` becomes a base volume
 * in the provider's pool, checksum-verified, which VM root disks then
 * overlay (or copy). Prepared volumes are reused by name, so the download
 * and verification happen once per image.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderError } from '../provider';
import { download, qemuImg, verifyChecksum } from '../hostutil';
import type { Pool } from './storage';
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

/** A volume name that is stable for the same source (and checksum). */
export function imageVolumeName(src: ImageSource, salt = ''): string {
  const h = createHash('sha256').update(`${src.url ?? ''}\n${src.path ?? ''}\n${src.checksum ?? ''}\n${salt}`).digest('hex');
  return `image-${h.slice(0, 16)}.qcow2`;
}

async function fromVolume(pool: Pool, volume: string, o: VirshOptions): Promise<PreparedImage | undefined> {
  const info = await pool.info(volume, o);
  return info ? { volume, path: info.path, format: info.format, capacity: info.capacity } : undefined;
}

/**
 * Resolves the image to a base volume, importing it when needed. Returns
 * undefined when the source names nothing a libvirt host can use (no path,
 * url, or existing template volume).
 */
export async function prepareImage(
  pool: Pool, src: ImageSource, opts: VirshOptions & { remote: boolean; targetName?: string },
): Promise<PreparedImage | undefined> {
  const o: VirshOptions = { ...opts, operation: opts.operation ?? 'ImagePrepare' };
  if (src.format && !DISK_FORMATS.includes(src.format) && src.format !== 'template') {
    throw new ProviderError('InvalidSpec', `image format "${src.format}" cannot be a libvirt boot disk (qcow2, raw, vmdk, vhd, vhdx)`, o.operation);
  }
  if (!src.url && !src.path) {
    if (!src.templateName) return undefined;
    for (const name of [src.templateName, `${src.templateName}.qcow2`, `${src.templateName}.img`]) {
      const found = await fromVolume(pool, name, o);
      if (found) return found;
    }
    return undefined;
  }
  if (src.path && !src.url && opts.remote) return remotePath(pool, src, o);

  // Local path: the salt makes a changed file a new volume.
  const salt = src.path && !src.url ? await stat(src.path).then((s) => `${s.size}:${s.mtimeMs}`, () => '') : '';
  const volume = opts.targetName ? `${opts.targetName.replace(/[^A-Za-z0-9._-]/g, '-')}.qcow2` : imageVolumeName(src, salt);
  const cached = await fromVolume(pool, volume, o);
  if (cached) return cached;

  const dir = await mkdtemp(join(tmpdir(), 'virtrigaud-image-'));
  try {
    const local = join(dir, 'image');
    if (src.url) {
      await download(src.url, local, { checksum: src.checksum ? { algo: src.checksumType ?? 'sha256', expected: src.checksum } : undefined, signal: o.signal });
    } else {
      const p = src.path!;
      await stat(p).catch(() => {
        throw new ProviderError('InvalidSpec', `image path ${p} does not exist on the libvirt host`, o.operation);
      });
      if (src.checksum) await verifyChecksum(p, src.checksumType ?? 'sha256', src.checksum);
      await download(`file://${p}`, local);
    }
    const upload = await asQcow2(local, join(dir, 'image.qcow2'), o);
    await pool.upload(volume, upload, o);
    const ready = await fromVolume(pool, volume, o);
    if (!ready) throw new ProviderError('Internal', `volume ${volume} missing right after upload`, o.operation);
    return ready;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Probes the real format (never trusting the file name) and converts to qcow2 when needed. */
async function asQcow2(file: string, out: string, o: VirshOptions): Promise<string> {
  const info = await qemuImg.info(file, o);
  // A downloaded image must not point at files on our host.
  if (info['backing-filename']) throw new ProviderError('InvalidSpec', `image has a backing file (${info['backing-filename']}); upload a standalone image`, o.operation);
  if (!DISK_FORMATS.includes(info.format)) throw new ProviderError('InvalidSpec', `image format ${info.format} is not a disk image`, o.operation);
  if (info.format === 'qcow2') return file;
  await qemuImg.convert(file, out, { format: 'qcow2', sourceFormat: info.format, ...o });
  return out;
}

/** A path on a remote host: it must be a pool volume; the checksum is checked over vol-download. */
async function remotePath(pool: Pool, src: ImageSource, o: VirshOptions): Promise<PreparedImage> {
  const p = src.path!;
  if (src.checksum) {
    const dir = await mkdtemp(join(tmpdir(), 'virtrigaud-image-'));
    try {
      await pool.download(p, join(dir, 'image'), o);
      await verifyChecksum(join(dir, 'image'), src.checksumType ?? 'sha256', src.checksum);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const volXml = await pool.info(p, o).catch(() => undefined);
  if (!volXml) throw new ProviderError('InvalidSpec', `image path ${p} is not a volume of any storage pool on the libvirt host`, o.operation);
  return { volume: volXml.name, path: volXml.path, format: volXml.format, capacity: volXml.capacity };
}
