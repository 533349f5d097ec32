/**
 * Building a VM directory: config.json, the root filesystem copy, data
 * disks and NICs on taps, under a temporary name renamed into place, so a
 * crash never leaves a half-built VM that looks real.
 */
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ProviderError, type CreateRequest, type NetworkPayload } from '../provider';
import { copyDisk, createDataDisk, GiB, nextDriveId, type Template } from './disks';
import type { Layout, NicRecord, VmConfig } from './layout';

export const KERNEL_FILE = 'vmlinux';

export const BOOT_ARGS = 'console=ttyS0 reboot=k panic=1 pci=off';

export interface NetworkRule {
  readonly name: string;
  readonly rxBitsPerSecond?: number;
  readonly txBitsPerSecond?: number;
}

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;

/** The tenant's caps of one NIC payload, checked (bit/s, at least 1000 as the CRD says). */
export function nicQos(op: string, n: NetworkPayload): { rxBitsPerSecond?: number; txBitsPerSecond?: number } {
  const out: { rxBitsPerSecond?: number; txBitsPerSecond?: number } = {};
  for (const [field, key] of [['IngressLimit', 'rxBitsPerSecond'], ['EgressLimit', 'txBitsPerSecond']] as const) {
    const v = n[field];
    if (v === undefined || v === null || v === 0) continue;
    if (!Number.isInteger(v) || v < 1000) throw new ProviderError('InvalidSpec', `${op}: qos ${field} ${JSON.stringify(v)} must be a whole number of bit/s, at least 1000`, op);
    out[key] = v;
  }
  return out;
}

/** NICs on taps the provider names itself; a tenant names only a network the operator allowed. */
export function nicsFor(op: string, id: string, networks: readonly NetworkPayload[], allowed: readonly NetworkRule[]): NicRecord[] {
  const h = createHash('sha256').update(id).digest();
  return networks.map((n, i) => {
    const network = n.NetworkName || n.Name;
    if (!allowed.some((a) => a.name === network)) {
      const list = allowed.length ? allowed.map((a) => a.name).join(', ') : 'none';
      throw new ProviderError('InvalidSpec', `${op}: network ${JSON.stringify(network)} is not one this Firecracker instance allows (operator's firecracker.networks: ${list})`, op);
    }
    if (n.MacAddress && !MAC.test(n.MacAddress)) throw new ProviderError('InvalidSpec', `${op}: MAC address ${JSON.stringify(n.MacAddress)} is not of the form 02:00:00:00:00:01`, op);
    const mac = n.MacAddress || ['06', ...[...h.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')), (i & 0xff).toString(16).padStart(2, '0')].join(':');
    return { id: `eth${i}`, network, tap: `fc${h.subarray(4, 8).toString('hex')}n${i}`, mac: mac.toLowerCase(), ...nicQos(op, n) };
  });
}

/** Assembles a VM directory under a temporary name: `fill` puts the files in and returns the config; then config.json and the rename. */
async function assemble(layout: Layout, id: string, fill: (tmp: string) => Promise<VmConfig>): Promise<VmConfig> {
  const tmp = join(layout.vmsDir, `.tmp-${id}`);
  await fs.mkdir(tmp, { recursive: true, mode: 0o700 });
  try {
    const cfg = await fill(tmp);
    await fs.writeFile(join(tmp, 'config.json'), `${JSON.stringify(cfg, null, 2)}\n`, { mode: 0o600 });
    await fs.rename(tmp, layout.vmDir(id));
    return cfg;
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

export async function buildVm(layout: Layout, id: string, req: CreateRequest, t: Template, allowed: readonly NetworkRule[]): Promise<VmConfig> {
  const nics = nicsFor('Create', id, req.networks, allowed);
  return assemble(layout, id, async (tmp) => {
    // Everything the process opens lives in the VM's own directory: the kernel too (reflink/sparse copy).
    await copyDisk(t.kernel, join(tmp, KERNEL_FILE), 'Create');
    await copyDisk(t.rootfs, join(tmp, 'rootfs.ext4'), 'Create');
    const size = (await fs.stat(join(tmp, 'rootfs.ext4'))).size;
    const cfg: VmConfig = {
      version: 1, id, name: req.name, ...(req.uid ? { uid: req.uid } : {}), cpu: req.class.CPU, memoryMiB: req.class.MemoryMiB,
      createdAt: new Date().toISOString(), kernel: KERNEL_FILE, bootArgs: BOOT_ARGS,
      drives: [{ id: 'rootfs', name: 'boot', file: 'rootfs.ext4', sizeGiB: Math.ceil(size / GiB) }], nics,
      ...(req.userData || req.metaData ? { mmds: { userData: req.userData ?? '', metaData: req.metaData ?? '' } } : {}),
      tags: [...req.tags], snapshots: [],
    };
    const tmpLayout = { file: (_: string, n: string) => join(tmp, n) } as Layout;
    for (const d of req.disks) cfg.drives.push(await createDataDisk(tmpLayout, id, nextDriveId(cfg.drives), d));
    return cfg;
  });
}

/** A full clone: the source's drive files copied (while it is paused, when it runs), a new identity. */
export async function buildClone(layout: Layout, id: string, src: VmConfig, name: string, size: { cpu: number; memoryMiB: number }, uid: string | undefined, allowed: readonly NetworkRule[]): Promise<VmConfig> {
  return assemble(layout, id, async (tmp) => {
    await copyDisk(layout.kernel(src), join(tmp, KERNEL_FILE), 'Clone');
    for (const d of src.drives) await copyDisk(layout.file(src.id, d.file), join(tmp, d.file), 'Clone');
    const nics = nicsFor('Clone', id, src.nics.map((n) => ({ NetworkName: n.network, MacAddress: '', ...(n.rxBitsPerSecond ? { IngressLimit: n.rxBitsPerSecond } : {}), ...(n.txBitsPerSecond ? { EgressLimit: n.txBitsPerSecond } : {}) }) as unknown as NetworkPayload), allowed);
    const { launched: _l, launchedAt: _a, shutdownDeadline: _s, lastShutdown: _ls, uid: _u, ...rest } = src;
    const cfg: VmConfig = {
      ...rest, id, name, kernel: KERNEL_FILE, ...(uid ? { uid } : {}), cpu: size.cpu, memoryMiB: size.memoryMiB, createdAt: new Date().toISOString(),
      drives: src.drives.map((d) => ({ ...d })), nics, snapshots: [], clonedFrom: src.id,
    };
    return cfg;
  });
}
