/**
 * Building a VM directory (create and full clone). Everything is assembled
 * in `vms/.tmp-<id>` and renamed into place as the last step, so a crash
 * never leaves a half-built VM that ListVMs would report.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { cloneClassSize } from '../clone-class';
import type { CreateRequest } from '../provider';
import { buildSeedIso, qemuImg } from '../hostutil';
import { createBootDisk, createDataDisk, flattenCopy, type BaseImage } from './disks';
import type { DiskRecord, Layout, VmConfig } from './layout';
import { observe, type Host } from './power';
import { withQmp } from './qmp';

async function assemble(layout: Layout, id: string, fill: (dir: string) => Promise<VmConfig>): Promise<VmConfig> {
  const tmp = join(layout.vmsDir, `.tmp-${id}`);
  await fs.mkdir(tmp, { recursive: true });
  try {
    const cfg = await fill(tmp);
    await layout.write(cfg, tmp);
    await fs.rename(tmp, layout.vmDir(id));
    return cfg;
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** cloud-init NoCloud needs an instance-id; supply one (the VM id) when the meta-data lacks it. */
function metaData(id: string, name: string, given: string | undefined): string {
  if (given && /^instance-id\s*:/m.test(given)) return given;
  return `instance-id: ${id}\nlocal-hostname: ${name}\n${given ?? ''}`;
}

/** A new VM directory on `base`, which resolveImage (disks.ts) checked (before the names lock: a download may take long). */
export function buildVm(layout: Layout, id: string, req: CreateRequest, base: BaseImage): Promise<VmConfig> {
  return assemble(layout, id, async (dir) => {
    const disks: DiskRecord[] = [await createBootDisk(dir, base, req.class.DiskDefaults?.SizeGiB ?? 0)];
    for (const [i, d] of req.disks.entries()) disks.push(await createDataDisk(dir, i + 1, d));
    // An Ignition config goes through fw_cfg (Ignition reads no cloud-init seed); meta-data alone still makes a seed.
    const ignition = req.userDataFormat === 'ignition' && req.userData !== undefined;
    if (ignition) await fs.writeFile(join(dir, 'config.ign'), req.userData!);
    const seed = (req.userData !== undefined && !ignition) || req.metaData !== undefined;
    if (seed) {
      await buildSeedIso(join(dir, 'seed'), { userData: (!ignition && req.userData) || '#cloud-config\n', metaData: metaData(id, req.name, req.metaData) }, {
        isoPath: join(dir, 'seed.iso'), operation: 'Create',
      });
    }
    return {
      version: 1, id, name: req.name, ...(req.uid ? { uid: req.uid } : {}), cpu: req.class.CPU, memoryMiB: req.class.MemoryMiB, createdAt: new Date().toISOString(),
      baseImage: base.path, disks, seed, ...(ignition ? { ignition } : {}), networks: [...req.networks], tags: [...req.tags], snapshots: [],
    };
  });
}

/** A full clone: every disk copied and flattened (no backing file, no snapshots). The source must not be writing. */
export function buildFullClone(layout: Layout, id: string, src: VmConfig, name: string, size: { cpu: number; memoryMiB: number }): Promise<VmConfig> {
  return assemble(layout, id, async (dir) => {
    for (const d of src.disks) await flattenCopy(layout.file(src.id, d.file), join(dir, d.file), 'Clone');
    return {
      version: 1, id, name, cpu: size.cpu, memoryMiB: size.memoryMiB, createdAt: new Date().toISOString(),
      baseImage: '', disks: src.disks.map((d) => ({ ...d })), seed: false, networks: [...src.networks], tags: [...src.tags],
      snapshots: [], clonedFrom: src.id,
    };
  });
}

/** A linked clone: an overlay per disk on the bases the source's disks were frozen into. */
export function buildLinkedClone(
  layout: Layout, id: string, src: VmConfig, name: string, size: { cpu: number; memoryMiB: number }, bases: ReadonlyMap<string, string>,
): Promise<VmConfig> {
  return assemble(layout, id, async (dir) => {
    const disks: DiskRecord[] = [];
    for (const d of src.disks) {
      const file = `${d.drive}-${d.name}.qcow2`;
      await qemuImg.overlay(join(dir, file), bases.get(d.drive)!, { backingFormat: 'qcow2', operation: 'Clone' });
      disks.push({ ...d, file });
    }
    return {
      version: 1, id, name, cpu: size.cpu, memoryMiB: size.memoryMiB, createdAt: new Date().toISOString(),
      baseImage: bases.get(src.disks[0]!.drive) ?? '', disks, seed: false, networks: [...src.networks], tags: [...src.tags],
      snapshots: [], clonedFrom: src.id, linked: true,
    };
  });
}

/** CPU and memory of a clone: what `classJson` (a VMClass spec, possibly partial or empty) names, else the source's. */
export function cloneSize(classJson: string, src: VmConfig): { cpu: number; memoryMiB: number } {
  const c = cloneClassSize(classJson);
  return { cpu: c.cpu ?? src.cpu, memoryMiB: c.memoryMiB ?? src.memoryMiB };
}

/** Runs `fn` with the VM paused if it runs: pausing flushes QEMU's caches to the files and stops guest writes while they are copied. */
export async function whilePaused<T>(h: Host, vm: VmConfig, fn: () => Promise<T>): Promise<T> {
  const o = await observe(h, vm.id);
  const pause = o.pid !== undefined && o.status === 'running';
  if (pause) await withQmp(h.layout.qmp(vm.id), (q) => q.execute('stop'));
  try {
    return await fn();
  } finally {
    if (pause) await withQmp(h.layout.qmp(vm.id), (q) => q.execute('cont'));
  }
}
