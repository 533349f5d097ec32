/**
 * Internal qcow2 snapshots. A running VM is snapshotted with HMP `savevm`
 * (disks + RAM + device state, consistent across disks); a stopped one with
 * `qemu-img snapshot -c` on each disk. Reverting to a memory snapshot
 * restarts QEMU with `-loadvm`, so CPU and memory always match the saved
 * state; reverting to a disk-only snapshot applies it offline.
 */
import { randomBytes } from 'node:crypto';
import { ProviderError, type SnapshotCreateRequest } from '../provider';
import { offlineSnapshot } from './disks';
import type { Layout, SnapshotRecord, VmConfig } from './layout';
import { livePid } from './process';
import { powerOff, powerOn, type Host } from './power';
import { withQmp } from './qmp';

/** HMP answers errors as text: anything non-empty from savevm/delvm is a failure. */
async function hmp(layout: Layout, id: string, line: string, op: string): Promise<void> {
  const out = await withQmp(layout.qmp(id), (q) => q.hmp(line, 10 * 60_000));
  if (out.trim()) throw new ProviderError('Internal', `${op}: ${line}: ${out.trim()}`, op);
}

function find(cfg: VmConfig, snapshotId: string, op: string): SnapshotRecord {
  const s = cfg.snapshots.find((x) => x.id === snapshotId);
  if (!s) throw new ProviderError('NotFound', `${op}: snapshot ${JSON.stringify(snapshotId)} not found on VM ${cfg.id}`, op);
  return s;
}

const path = (h: Host, cfg: VmConfig, drive: string) => {
  const d = cfg.disks.find((x) => x.drive === drive);
  return d ? h.layout.file(cfg.id, d.file) : undefined;
};

export async function createSnapshot(h: Host, cfg: VmConfig, req: SnapshotCreateRequest): Promise<SnapshotRecord> {
  const stem = req.nameHint.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'snap';
  const id = `${stem}-${randomBytes(3).toString('hex')}`;
  const running = (await livePid(h.layout, cfg.id)) !== undefined;
  const base = { id, name: req.nameHint, description: req.description, createdAt: new Date().toISOString(), cpu: cfg.cpu, memoryMiB: cfg.memoryMiB };
  let snap: SnapshotRecord;
  if (running) {
    await hmp(h.layout, cfg.id, `savevm ${id}`, 'SnapshotCreate');
    // savevm always stores RAM; includeMemory=false only changes how a revert uses it (cold boot from the disks).
    const launched = cfg.launched ?? { cpu: cfg.cpu, memoryMiB: cfg.memoryMiB, drives: cfg.disks.map((d) => d.drive) };
    snap = { ...base, cpu: launched.cpu, memoryMiB: launched.memoryMiB, vmState: req.includeMemory, powerState: 'On', drives: [...launched.drives] };
  } else {
    for (const d of cfg.disks) await offlineSnapshot(h.layout.file(cfg.id, d.file), 'c', id, 'SnapshotCreate');
    snap = { ...base, vmState: false, powerState: 'Off', drives: cfg.disks.map((d) => d.drive) };
  }
  cfg.snapshots.push(snap);
  return snap;
}

export async function revertSnapshot(h: Host, cfg: VmConfig, snapshotId: string): Promise<void> {
  const snap = find(cfg, snapshotId, 'SnapshotRevert');
  await powerOff(h, cfg);
  cfg.cpu = snap.cpu;
  cfg.memoryMiB = snap.memoryMiB;
  if (snap.vmState) {
    await powerOn(h, cfg, snap.id);
    return;
  }
  for (const drive of snap.drives) {
    const p = path(h, cfg, drive);
    if (p) await offlineSnapshot(p, 'a', snap.id, 'SnapshotRevert');
  }
  if (snap.powerState === 'On') await powerOn(h, cfg);
}

export async function deleteSnapshot(h: Host, cfg: VmConfig, snapshotId: string): Promise<void> {
  const snap = find(cfg, snapshotId, 'SnapshotDelete');
  const running = (await livePid(h.layout, cfg.id)) !== undefined;
  const attached = running ? (cfg.launched?.drives ?? []) : [];
  if (running && snap.drives.some((d) => attached.includes(d))) await hmp(h.layout, cfg.id, `delvm ${snap.id}`, 'SnapshotDelete');
  for (const drive of snap.drives) {
    const p = path(h, cfg, drive);
    if (p && !attached.includes(drive)) await offlineSnapshot(p, 'd', snap.id, 'SnapshotDelete');
  }
  cfg.snapshots = cfg.snapshots.filter((s) => s.id !== snap.id);
}
