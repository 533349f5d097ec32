/**
 * Disks of a QEMU VM: the boot disk is a qcow2 overlay on the resolved
 * image (the image is never written), extra disks are empty qcow2 files.
 * Internal snapshots of a stopped VM go through `qemu-img snapshot`.
 */
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ProviderError, type DiskPayload, type ImagePayload } from '../provider';
import { checkQcow2, download, openLocalImage, qemuImg, run, type HostPolicy, type QemuImgInfo } from '../hostutil';
import type { DiskRecord, Layout } from './layout';
import { imageLock, type Locks } from './locks';

export const GiB = 1024 ** 3;
const exists = (p: string) => fs.stat(p).then((s) => s.isFile(), () => false);

/** A checked boot image: its real path and the format qemu-img found (used from then on, never probed again). */
export interface BaseImage {
  readonly path: string;
  readonly format: string;
  readonly virtualSize: number;
}

const checked = (path: string, info: QemuImgInfo): BaseImage => ({ path, format: info.format, virtualSize: info['virtual-size'] });

/** Where URL images are cached: one file per URL and checksum. */
export const cacheDir = (layout: Layout) => join(layout.imagesDir, 'cache');

/**
 * Where the boot image comes from: `Path` (under the operator's image
 * roots), else `URL` (the guarded download, once per URL and checksum,
 * into `images/cache/`, under that image's own lock so one slow download
 * stalls no other image), else `TemplateName` in `images/`. Every one is
 * checked to be standalone before a VM's overlay names it as its backing
 * file.
 */
export async function resolveImage(layout: Layout, image: ImagePayload, policy: HostPolicy, locks?: Locks, signal?: AbortSignal): Promise<BaseImage> {
  const op = 'Create';
  const format = image.Format;
  if (image.Path) {
    const { path, info } = await openLocalImage(policy, image.Path, { format, operation: op });
    return checked(path, info);
  }
  if (image.URL) {
    const key = createHash('sha256').update(`${image.URL}\n${image.Checksum ? `${image.ChecksumType}:${image.Checksum.toLowerCase()}` : ''}`).digest('hex').slice(0, 16);
    const dest = join(cacheDir(layout), key);
    const what = `image URL "${image.URL}"`;
    const fetch = async () => {
      if (await exists(dest)) return checked(dest, await checkQcow2(dest, { format, operation: op, what }));
      await fs.mkdir(cacheDir(layout), { recursive: true });
      let info: QemuImgInfo | undefined;
      await download(image.URL, dest, policy, {
        ...(image.Checksum ? { checksum: { algo: image.ChecksumType, expected: image.Checksum } } : {}),
        verify: async (f) => { info = await checkQcow2(f, { format, operation: op, what }); },
        signal, operation: op,
      });
      return checked(dest, info!);
    };
    return locks ? locks.run(imageLock(key), fetch) : fetch();
  }
  if (image.TemplateName) {
    if (/[/\\]|^\.\.?$/.test(image.TemplateName)) throw new ProviderError('InvalidSpec', `template name "${image.TemplateName}" must be a plain file name`, op);
    for (const ext of ['', '.qcow2', '.img', '.raw']) {
      const p = join(layout.imagesDir, image.TemplateName + ext);
      if (await exists(p)) return checked(p, await checkQcow2(p, { format, operation: op, what: `template "${image.TemplateName}"` }));
    }
    throw new ProviderError('InvalidSpec', `template "${image.TemplateName}" not found in ${layout.imagesDir} (tried .qcow2, .img, .raw)`, op);
  }
  throw new ProviderError('InvalidSpec', 'the image names no Path, URL or TemplateName', op);
}

/** Names of data disks must make safe file names; sizes must be positive. */
export function checkDisks(op: string, disks: readonly DiskPayload[]): void {
  const seen = new Set<string>();
  for (const d of disks) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(d.Name)) throw new ProviderError('InvalidSpec', `${op}: disk name "${d.Name}" is not a valid file name`, op);
    if (d.Name === 'boot' || seen.has(d.Name)) throw new ProviderError('InvalidSpec', `${op}: disk name "${d.Name}" is reserved or repeated`, op);
    if (!Number.isInteger(d.SizeGiB) || d.SizeGiB <= 0) throw new ProviderError('InvalidSpec', `${op}: disk "${d.Name}" needs a positive whole size in GiB`, op);
    seen.add(d.Name);
  }
}

/** The boot overlay on a checked image, grown to `minGiB` if the image is smaller (qcow2 is sparse: costs nothing). */
export async function createBootDisk(dir: string, base: BaseImage, minGiB: number): Promise<DiskRecord> {
  const size = Math.max(base.virtualSize, minGiB * GiB);
  const file = 'disk0-boot.qcow2';
  await qemuImg.overlay(join(dir, file), base.path, { backingFormat: base.format, sizeBytes: size, operation: 'Create' });
  return { name: 'boot', file, drive: 'disk0', sizeGiB: Math.ceil(size / GiB) };
}

export async function createDataDisk(dir: string, index: number, d: DiskPayload): Promise<DiskRecord> {
  const file = `disk${index}-${d.Name}.qcow2`;
  await qemuImg.create(join(dir, file), d.SizeGiB * GiB, { operation: 'Create' });
  return { name: d.Name, file, drive: `disk${index}`, sizeGiB: d.SizeGiB };
}

/** The next free drive index (drive ids are never reused, so snapshots' drive lists stay meaningful). */
export function nextDriveIndex(disks: readonly DiskRecord[]): number {
  return disks.reduce((m, d) => Math.max(m, Number(d.drive.slice(4)) + 1), 0);
}

/** `qemu-img snapshot` on a stopped VM's disk: -c create, -a apply, -d delete. */
export async function offlineSnapshot(path: string, action: 'c' | 'a' | 'd', tag: string, operation: string): Promise<void> {
  await run('qemu-img', ['snapshot', `-${action}`, tag, path], { operation, timeoutMs: 10 * 60_000 });
}

/** Internal snapshot tags on a disk (`-U`: works while QEMU holds the image). */
export async function snapshotTags(path: string): Promise<string[]> {
  const info = await qemuImg.info(path);
  return (info.snapshots ?? []).map((s) => s.name);
}

/** A standalone copy (backing chain flattened); `-U` because a paused source VM still holds its lock. */
export async function flattenCopy(src: string, dest: string, operation: string): Promise<void> {
  await run('qemu-img', ['convert', '-U', '-q', '-O', 'qcow2', src, dest], { operation, timeoutMs: 30 * 60_000 });
}
