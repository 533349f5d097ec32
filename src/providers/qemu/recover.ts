/**
 * The start-up scan of a state directory: what makes a restarted provider
 * (or a second instance) pick up where the last one stopped.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { collectBases } from './linked';
import type { VmConfig } from './layout';
import type { Locks } from './locks';
import { observe, type Host } from './power';

/**
 * Drops half-built VMs and unused bases, removes temp files of interrupted
 * config writes, reconnects to each running VM's QMP socket and hands
 * pending graceful-shutdown deadlines to `resume`. Returns VM id →
 * `running (<qmp status>)`, `stopped` or `error: …`.
 */
export async function scanStateDir(h: Host, locks: Locks, resume: (id: string, deadline: number) => void): Promise<Map<string, string>> {
  const { layout } = h;
  await fs.mkdir(layout.vmsDir, { recursive: true });
  await fs.mkdir(layout.imagesDir, { recursive: true });
  // Under the names lock: another instance in this process may be building a VM or a linked clone's base.
  await locks.run('#names', async () => {
    for (const n of await fs.readdir(layout.vmsDir)) {
      if (n.startsWith('.tmp-')) await fs.rm(join(layout.vmsDir, n), { recursive: true, force: true });
    }
    await collectBases(layout, await layout.all()).catch(() => undefined);
  });
  const found = new Map<string, string>();
  for (const cfg of await layout.all()) {
    // One VM's trouble (e.g. deleted meanwhile by another instance) must not fail the scan.
    await scanVm(h, cfg, resume).then((s) => found.set(cfg.id, s), (e) => found.set(cfg.id, `error: ${(e as Error).message}`));
  }
  return found;
}

async function scanVm(h: Host, cfg: VmConfig, resume: (id: string, deadline: number) => void): Promise<string> {
  // Temp files a crashed process left (not this process's: another instance may be writing right now).
  for (const n of await fs.readdir(h.layout.vmDir(cfg.id))) {
    const m = /^config\.json\.(\d+)-[0-9a-f]+\.tmp$/.exec(n);
    if (m && Number(m[1]) !== process.pid) await fs.rm(h.layout.file(cfg.id, n), { force: true });
  }
  const o = await observe(h, cfg.id);
  if (cfg.shutdownDeadline !== undefined) resume(cfg.id, cfg.shutdownDeadline);
  return o.pid ? `running (${o.status})` : 'stopped';
}
