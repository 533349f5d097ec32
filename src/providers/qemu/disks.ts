/**
 * Disks of a QEMU VM: the boot disk is a qcow2 overlay on the resolved
 * image (the image is never written), extra disks are empty qcow2 files.
 * Internal snapshots of a stopped VM go through `qemu-img snapshot`.
 */
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import { ProviderError, type DiskPayload, type ImagePayload } from '../provider';
import { download, qemuImg, run } from '../hostutil';
import type { DiskRecord, Layout } from './layout';

export const GiB = 1024 ** 3;
const exists = (p: string) => fs.stat(p).then((s) => s.isFile(), () => false);

/** Where the boot image comes from: `Path`, else `URL` (downloaded once into `images/cache/`), else `TemplateName` in `images/`. */
export async function resolveImage(layout: Layout, image: ImagePayload): Promise<string> {
  if (image.Path) {
    if (!isAbsolute(image.Path)) throw new ProviderError('InvalidSpec', `image path "${image.Path}" must be absolute`, 'Create');
    if (!(await exists(image.Path))) throw new ProviderError('InvalidSpec', `image ${image.Path} does not exist on this host`, 'Create');
    return image.Path;
  }
  if (image.URL) {
    const dest = join(layout.imagesDir, 'cache', createHash('sha256').update(image.URL).digest('hex').slice(0, 16));
    if (!(await exists(dest))) {
      await fs.mkdir(join(layout.imagesDir, 'cache'), { recursive: true });
      await download(image.URL, dest, image.Checksum ? { checksum: { algo: image.ChecksumType, expected: image.Checksum } } : {});
    }
    return dest;
  }
  if (image.TemplateName) {
    if (/[/\\]|^\.\.?$/.test(image.TemplateName)) throw new ProviderError('InvalidSpec', `template name "${image.TemplateName}" must be a plain file name`, 'Create');
    for (const ext of ['', '.qcow2', '.img', '.raw']) {
      const p = join(layout.imagesDir, image.TemplateName + ext);
      if (await exists(p)) return p;
    }
    throw new ProviderError('InvalidSpec', `template "${image.TemplateName}" not found in ${layout.imagesDir} (tried .qcow2, .img, .raw)`, 'Create');
  }
  throw new ProviderError('InvalidSpec', 'the image names no Path, URL or TemplateName', 'Create');
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

/** The boot overlay, grown to `minGiB` if the image is smaller (qcow2 is sparse: costs nothing). */
export async function createBootDisk(dir: string, base: string, minGiB: number): Promise<DiskRecord> {
  const info = await qemuImg.info(base, { operation: 'Create' });
  const size = Math.max(info['virtual-size'], minGiB * GiB);
  const file = 'disk0-boot.qcow2';
  await qemuImg.overlay(join(dir, file), base, { backingFormat: info.format, sizeBytes: size, operation: 'Create' });
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
