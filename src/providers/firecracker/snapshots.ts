/**
 * Snapshots: pause → `PUT /snapshot/create` (Full for the first of a
 * process, Diff after that, since dirty pages are tracked) → resume. The
 * VM's drive files are copied beside the snapshot (Firecracker does not
 * snapshot disks). A diff is merged onto a full copy of the memory file,
 * so every snapshot directory loads on its own. Revert = the process ends,
 * the drive files are put back and a new process loads the snapshot.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ProviderError, type SnapshotCreateRequest } from '../provider';
import { fcApi, toProviderError } from './api';
import { copyDisk } from './disks';
import type { SnapshotRecord, VmConfig } from './layout';
import { loadSnapshot, observe, requireRunning, type Host } from './power';
import { terminate } from './process';

const snapshotId = (hint: string) => `${hint.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 32) || 'snap'}-${randomBytes(3).toString('hex')}`;

export async function createSnapshot(h: Host, cfg: VmConfig, req: SnapshotCreateRequest): Promise<SnapshotRecord> {
  const op = 'SnapshotCreate';
  const o = await observe(h, cfg.id);
  requireRunning(op, o, cfg.id);
  const id = snapshotId(req.nameHint);
  const dir = h.layout.snapshotDir(cfg.id, id);
  await fs.mkdir(dir, { recursive: true });
  const sock = h.layout.socket(cfg.id);
  // A diff needs a full memory file of this process to lay its pages over.
  const prior = [...cfg.snapshots].reverse().find((s) => s.cpu === cfg.launched?.cpu && s.memoryMiB === cfg.launched?.memoryMiB && s.launchedAt === cfg.launchedAt);
  const type: 'Full' | 'Diff' = prior ? 'Diff' : 'Full';
  try {
    if (o.state === 'Running') await fcApi(sock, { method: 'PATCH', path: '/vm', body: { state: 'Paused' } });
    try {
      if (prior) await copyDisk(join(h.layout.snapshotDir(cfg.id, prior.id), 'memory'), join(dir, 'memory.base'), op);
      await fcApi(sock, {
        method: 'PUT', path: '/snapshot/create', timeoutMs: 300_000,
        body: { snapshot_type: type, snapshot_path: join(dir, 'vmstate'), mem_file_path: join(dir, prior ? 'memory.diff' : 'memory') },
      });
      for (const d of cfg.drives) await copyDisk(h.layout.file(cfg.id, d.file), join(dir, d.file), op);
    } finally {
      if (o.state === 'Running') await fcApi(sock, { method: 'PATCH', path: '/vm', body: { state: 'Resumed' } });
    }
    if (prior) await mergeDiff(join(dir, 'memory.base'), join(dir, 'memory.diff'), join(dir, 'memory'));
  } catch (e) {
    await fs.rm(dir, { recursive: true, force: true });
    throw toProviderError(op, e);
  }
  const rec: SnapshotRecord = {
    id, name: req.nameHint || id, description: req.description, createdAt: new Date().toISOString(), type,
    cpu: cfg.launched?.cpu ?? cfg.cpu, memoryMiB: cfg.launched?.memoryMiB ?? cfg.memoryMiB, drives: cfg.drives.map((d) => d.id), launchedAt: cfg.launchedAt,
  };
  cfg.snapshots.push(rec);
  return rec;
}

/** A diff memory file is sparse: only dirty pages hold data. Lays its data extents over the base. */
async function mergeDiff(base: string, diff: string, out: string): Promise<void> {
  const src = await fs.open(diff, 'r');
  const dst = await fs.open(base, 'r+');
  try {
    const size = (await src.stat()).size;
    const buf = Buffer.alloc(1 << 20);
    for (let pos = 0; pos < size; pos += buf.length) {
      const { bytesRead } = await src.read(buf, 0, buf.length, pos);
      // Holes read as zeros; only non-zero 4 KiB pages are written (a zero page in the diff is rare and the base's stays).
      for (let p = 0; p < bytesRead; p += 4096) {
        const page = buf.subarray(p, Math.min(p + 4096, bytesRead));
        if (page.some((b) => b !== 0)) await dst.write(page, 0, page.length, pos + p);
      }
    }
  } finally {
    await src.close();
    await dst.close();
  }
  await fs.rename(base, out);
  await fs.rm(diff, { force: true });
}

function find(cfg: VmConfig, sid: string, op: string): SnapshotRecord {
  const s = cfg.snapshots.find((x) => x.id === sid);
  if (!s) throw new ProviderError('NotFound', `${op}: snapshot ${JSON.stringify(sid)} of ${cfg.id} not found`, op);
  return s;
}

export async function deleteSnapshot(h: Host, cfg: VmConfig, sid: string): Promise<void> {
  find(cfg, sid, 'SnapshotDelete');
  await fs.rm(h.layout.snapshotDir(cfg.id, sid), { recursive: true, force: true });
  cfg.snapshots = cfg.snapshots.filter((x) => x.id !== sid);
}

export async function revertSnapshot(h: Host, cfg: VmConfig, sid: string): Promise<void> {
  const op = 'SnapshotRevert';
  const s = find(cfg, sid, op);
  const dir = h.layout.snapshotDir(cfg.id, sid);
  await terminate(h.layout, cfg.id);
  for (const d of cfg.drives) {
    if (s.drives.includes(d.id)) await copyDisk(join(dir, d.file), h.layout.file(cfg.id, d.file), op);
  }
  // Drives added after the snapshot stay in config.json; the restored process has only the snapshot's.
  cfg.cpu = s.cpu;
  cfg.memoryMiB = s.memoryMiB;
  await loadSnapshot(h, cfg, dir, op);
  cfg.launched = { cpu: s.cpu, memoryMiB: s.memoryMiB, drives: [...s.drives] };
}
