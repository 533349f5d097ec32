/**
 * Snapshots and clones.
 *
 * Snapshots are libvirt internal snapshots (inside the qcow2 files): of a
 * running domain they always hold its memory too (a full checkpoint;
 * libvirt 9.0 cannot revert external ones), of a stopped one the disks.
 * Reverting restores disks, the definition (CPU, memory) and, for a
 * checkpoint, the running state.
 *
 * Clones start from a frozen copy of each source disk's top layer (taken
 * with the source suspended). Linked: a copy-on-write overlay on it (the
 * image underneath stays shared); full: it is flattened into an independent
 * volume. Source and clone never write to a shared file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloneClassSize } from '../clone-class';
import { ProviderError, type CloneRequest, type SnapshotCreateRequest } from '../provider';
import { cloneUid } from '../uid';
import { buildDomainXml, type DiskSpec } from './domain-xml';
import type { Host } from './host';
import { checkName, checkSize } from './spec';
import type { VirshOptions } from './virsh';

export async function snapshotCreate(host: Host, req: SnapshotCreateRequest, o: VirshOptions): Promise<string> {
  const op = 'SnapshotCreate';
  const uuid = await host.mustExist(req.vmId, { ...o, operation: op });
  const existing = new Set((await host.virsh.run(['snapshot-list', uuid, '--name'], o)).split('\n').map((s) => s.trim()));
  const base = (req.nameHint || 'snapshot').replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 50);
  let name = base;
  for (let i = 2; existing.has(name); i++) name = `${base}-${i}`;
  const info = await host.info(uuid, { ...o, inactive: true });
  if (info.firmware === 'uefi') {
    // libvirt 9.0 refuses internal snapshots with pflash (UEFI NVRAM) firmware.
    throw new ProviderError('InvalidSpec', 'snapshots of UEFI domains are not supported by this libvirt (internal snapshots need BIOS firmware)', op);
  }
  await host.virsh.run(['snapshot-create-as', uuid, '--name', name, '--description', req.description || name, '--atomic'], {
    ...o, operation: op, timeoutMs: 30 * 60_000,
  });
  return name;
}

export async function snapshotRevert(host: Host, vmId: string, snapshotId: string, o: VirshOptions): Promise<void> {
  const uuid = await host.mustExist(vmId, { ...o, operation: 'SnapshotRevert' });
  await host.virsh.run(['snapshot-revert', uuid, snapshotId, '--force'], { ...o, operation: 'SnapshotRevert', timeoutMs: 30 * 60_000 });
}

export async function snapshotDelete(host: Host, vmId: string, snapshotId: string, o: VirshOptions): Promise<void> {
  const uuid = await host.mustExist(vmId, { ...o, operation: 'SnapshotDelete' });
  await host.virsh.run(['snapshot-delete', uuid, snapshotId], { ...o, operation: 'SnapshotDelete', timeoutMs: 30 * 60_000 });
}

/** Returns the clone's UUID. The clone is defined, not started. */
export async function cloneDomain(host: Host, req: CloneRequest, domainType: 'kvm' | 'qemu', o: VirshOptions): Promise<string> {
  const op = 'Clone';
  if (!req.targetName) throw new ProviderError('InvalidSpec', 'clone: target name required', op);
  checkName(req.targetName, op);
  const src = await host.mustExist(req.sourceVmId, { ...o, operation: op });
  if (await host.uuid(req.targetName, o)) throw new ProviderError('InvalidSpec', `clone: a domain named ${req.targetName} already exists`, op);
  const uid = cloneUid(req.customizeJson, op);
  const cls = cloneClassSize(req.classJson, op);
  const info = await host.info(src, { ...o, inactive: true });
  const cpu = cls.cpu ?? info.vcpus;
  const mem = cls.memoryMiB ?? info.memoryMiB;
  checkSize(cpu, mem, op);

  const { pool } = host;
  await pool.ensure(o);
  const owned: string[] = [];
  const disks: DiskSpec[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'virtrigaud-clone-'));
  try {
    await host.quiesced(src, async () => {
      for (const [i, d] of info.disks.filter((x) => x.device === 'disk').entries()) {
        const vol = await pool.info(d.path, o).catch(() => undefined);
        if (!vol) throw new ProviderError('InvalidSpec', `clone: disk ${d.target} (${d.path}) is not in pool ${pool.name}`, op);
        const name = `${req.targetName}-${i === 0 ? 'root' : `disk${i}`}.qcow2`;
        const frozen = `${req.targetName}-base${i}.qcow2`;
        for (const v of [name, frozen]) await pool.delete(v, o);
        // The running source's QEMU holds the image lock, so qemu-img cannot
        // read it; vol-download copies the top layer's bytes regardless.
        const local = join(dir, `${i}.qcow2`);
        await pool.download(d.path, local, o);
        owned.push(frozen);
        const frozenPath = await pool.upload(frozen, local, o);
        owned.unshift(name);
        if (req.linked) {
          disks.push({ ...disk(d.target), path: await pool.overlay(name, frozenPath, vol.format, vol.capacity, o) });
        } else {
          // Flatten the frozen copy (and the image under it) into an independent volume.
          disks.push({ ...disk(d.target), path: await pool.clone(frozen, name, o) });
          await pool.delete(frozen, o);
          owned.splice(owned.indexOf(frozen), 1);
        }
      }
    }, o);
    const xml = buildDomainXml({
      name: req.targetName, domainType, vcpus: cpu, maxVcpus: Math.max(cpu, info.maxVcpus), memoryMiB: mem,
      maxMemoryMiB: Math.max(mem, info.maxMemoryMiB), firmware: info.firmware, graphics: info.vncListen !== undefined,
      disks,
      // Same networks, fresh MACs (libvirt assigns them).
      nics: info.nics.map((n) => ({ ...(n.bridge ? { bridge: n.bridge } : { network: n.network }), model: n.model || 'virtio' })),
      // Never the source's uid (a clone is another VM): only one customize_json names (../uid.ts cloneUid).
      metadata: { ...(uid ? { uid } : {}), volumes: owned, tags: [...info.metadata.tags], ...(info.metadata.image ? { image: info.metadata.image } : {}) },
    });
    await host.virsh.runWithFile(['define', '@file'], xml, { ...o, operation: op });
    return await host.mustExist(req.targetName, o);
  } catch (e) {
    for (const v of owned) await pool.delete(v, o).catch(() => undefined);
    throw e;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function disk(target: string): Omit<DiskSpec, 'path'> {
  return { format: 'qcow2', target, bus: 'virtio', device: 'disk' };
}
