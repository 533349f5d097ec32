/**
 * Linked clones. An overlay needs a base that never changes, so the
 * source's current disk files are frozen into `<state>/bases/` (a hard
 * link: no copy) and the source continues on a fresh overlay of its own;
 * the clone gets another overlay on the same base. A running source is
 * switched live (QMP `blockdev-snapshot-sync` in one transaction, then
 * `change-backing-file` so the new header names the base's path). Bases
 * nobody's backing chain uses any more are removed after a delete.
 */
import { promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ProviderError } from '../provider';
import { qemuImg, run } from '../hostutil';
import type { Layout, VmConfig } from './layout';
import { livePid } from './process';
import type { Host } from './power';
import { withQmp } from './qmp';

export const basesDir = (layout: Layout) => join(layout.stateDir, 'bases');

/** Freezes every disk of `src` (mutated: new file names); returns the base path of each drive. */
export async function freezeDisks(h: Host, src: VmConfig): Promise<Map<string, string>> {
  if (src.snapshots.length) {
    // The snapshots would stay in the frozen base, out of reach of the source's new top layer.
    throw new ProviderError('InvalidSpec', `Clone: VM ${src.id} has snapshots; delete them or make a full clone`, 'Clone');
  }
  const { layout } = h;
  await fs.mkdir(basesDir(layout), { recursive: true });
  const attached = (await livePid(layout, src.id)) ? (src.launched?.drives ?? []) : [];
  const bases = new Map<string, string>();
  const live: { drive: string; base: string; top: string; node: string; old: string }[] = [];
  for (const d of src.disks) {
    const tag = randomBytes(3).toString('hex');
    const old = layout.file(src.id, d.file);
    const base = join(basesDir(layout), `${src.id}-${d.drive}-${tag}.qcow2`);
    const top = `${d.drive}-${d.name}-${tag}.qcow2`;
    await fs.link(old, base);
    bases.set(d.drive, base);
    if (attached.includes(d.drive)) {
      live.push({ drive: d.drive, base, top, node: `${d.drive}-${tag}`, old });
    } else {
      await qemuImg.overlay(layout.file(src.id, top), base, { backingFormat: 'qcow2', operation: 'Clone' });
      await fs.unlink(old);
      d.file = top;
    }
  }
  if (live.length) {
    await withQmp(layout.qmp(src.id), async (q) => {
      await q.execute('transaction', {
        actions: live.map((x) => ({
          type: 'blockdev-snapshot-sync',
          data: { device: x.drive, 'snapshot-file': layout.file(src.id, x.top), 'snapshot-node-name': x.node, format: 'qcow2' },
        })),
      });
      for (const x of live) await q.execute('change-backing-file', { device: x.drive, 'image-node-name': x.node, 'backing-file': x.base });
    });
    for (const x of live) {
      await fs.unlink(x.old);
      src.disks.find((d) => d.drive === x.drive)!.file = x.top;
    }
  }
  return bases;
}

/** Removes bases that no VM's disk chain reaches. */
export async function collectBases(layout: Layout, vms: readonly VmConfig[]): Promise<void> {
  const dir = basesDir(layout);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  if (!names.length) return;
  const used = new Set<string>();
  for (const vm of vms) {
    for (const d of vm.disks) {
      const { stdout } = await run('qemu-img', ['info', '-U', '--backing-chain', '--output=json', layout.file(vm.id, d.file)], { operation: 'Delete' });
      for (const img of JSON.parse(stdout) as { filename: string }[]) used.add(img.filename);
    }
  }
  for (const n of names) {
    const p = join(dir, n);
    if (!used.has(p)) await fs.rm(p, { force: true });
  }
}
