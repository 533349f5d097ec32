/**
 * Images and drives. A template is a directory `<stateDir>/images/<name>/`
 * holding `vmlinux` (the guest kernel, an uncompressed ELF for x86_64) and
 * `rootfs.ext4` (the root filesystem). Each VM gets its own copy of the
 * root filesystem (reflink where the filesystem can, else sparse); data
 * disks are sparse raw files.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { ProviderError, type DiskPayload, type ImagePayload } from '../provider';
import { confinePath, run, type HostPolicy } from '../hostutil';
import type { DriveRecord, Layout } from './layout';

export const GiB = 1024 ** 3;
const TEMPLATE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export interface Template { readonly kernel: string; readonly rootfs: string }

/**
 * The kernel and root filesystem of the image the VM names: a template in
 * the images directory, or (VMImage `source.libvirt.path`) a directory
 * with the same two files inside the operator's image roots. URLs are refused.
 */
export async function resolveTemplate(layout: Layout, image: ImagePayload, policy: HostPolicy, op = 'Create'): Promise<Template> {
  if (image.URL) {
    throw new ProviderError('InvalidSpec', `${op}: the Firecracker provider does not download images: install a template in ${layout.imagesDir}/<name>/ or give a directory path (vmlinux + rootfs.ext4) in the operator's image roots`, op);
  }
  let dir: string;
  let name = image.TemplateName;
  if (image.Path) {
    dir = await confinePath(policy, image.Path, op);
    name = image.Path;
  } else {
    if (!name) throw new ProviderError('InvalidSpec', `${op}: the image gives no source this provider reads: use VMImage source.libvirt.path (a directory with vmlinux and rootfs.ext4 in the operator's image roots) or a template name installed in ${layout.imagesDir}/<name>/`, op);
    if (!TEMPLATE_NAME.test(name) || name.includes('..')) throw new ProviderError('InvalidSpec', `${op}: image template name ${JSON.stringify(name)} is not a plain name`, op);
    dir = join(layout.imagesDir, name);
  }
  const t = { kernel: join(dir, 'vmlinux'), rootfs: join(dir, 'rootfs.ext4') };
  for (const f of [t.kernel, t.rootfs]) {
    const st = await fs.stat(f).catch(() => undefined);
    if (!st?.isFile()) throw new ProviderError('InvalidSpec', `${op}: image template ${JSON.stringify(name)} lacks ${f} (a template is a directory with vmlinux and rootfs.ext4)`, op);
  }
  return t;
}

/** Copies a file the cheap way: a reflink where possible, else a sparse copy. */
export async function copyDisk(src: string, dst: string, op: string): Promise<void> {
  await run('cp', ['--reflink=auto', '--sparse=always', src, dst], { timeoutMs: 600_000, operation: op });
}

export function checkDisks(op: string, disks: readonly DiskPayload[]): void {
  const seen = new Set<string>();
  for (const d of disks) {
    if (!/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/.test(d.Name)) throw new ProviderError('InvalidSpec', `${op}: disk name ${JSON.stringify(d.Name)} must be a short DNS label`, op);
    if (seen.has(d.Name)) throw new ProviderError('InvalidSpec', `${op}: disk ${JSON.stringify(d.Name)} listed twice`, op);
    seen.add(d.Name);
    if (!Number.isInteger(d.SizeGiB) || d.SizeGiB < 1) throw new ProviderError('InvalidSpec', `${op}: disk ${d.Name} needs a size of at least 1 GiB`, op);
  }
}

export function nextDriveId(drives: readonly DriveRecord[]): string {
  let n = 1;
  while (drives.some((d) => d.id === `disk${n}`)) n++;
  return `disk${n}`;
}

/** A sparse raw data disk file in the VM directory. */
export async function createDataDisk(layout: Layout, id: string, driveId: string, d: DiskPayload): Promise<DriveRecord> {
  const file = `${driveId}.raw`;
  const fh = await fs.open(layout.file(id, file), 'wx', 0o600);
  try {
    await fh.truncate(d.SizeGiB * GiB);
  } finally {
    await fh.close();
  }
  return { id: driveId, name: d.Name, file, sizeGiB: d.SizeGiB };
}

/** Grows a data disk file (disks never shrink). */
export async function growDisk(layout: Layout, id: string, d: DriveRecord, sizeGiB: number): Promise<void> {
  await fs.truncate(layout.file(id, d.file), sizeGiB * GiB);
  d.sizeGiB = sizeGiB;
}
