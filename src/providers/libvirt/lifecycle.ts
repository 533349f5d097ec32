/**
 * Power and reconfigure. CPU and memory always change in the persistent
 * definition; on a running domain they also change live when the domain
 * has the headroom (vCPU hot-plug up to its maximum, balloon up to its
 * maximum memory); anything else waits for the next power cycle and
 * Describe says so (`providerRaw.pendingPowerCycle`).
 */
import { ProviderError, type PowerOp, type VMPayload } from '../provider';
import type { Host } from './host';
import { volumeNames } from './provision';
import { checkSize, diskTarget, isThick } from './spec';
import type { VirshOptions } from './virsh';

const GiB = 1024 ** 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Live vs next-boot CPU/memory; empty when they agree (or the domain is off). */
export async function pendingChanges(host: Host, id: string, o: VirshOptions): Promise<string> {
  if (!(await host.running(id, o))) return '';
  const [live, next] = await Promise.all([host.info(id, o), host.info(id, { ...o, inactive: true })]);
  const parts: string[] = [];
  if (live.vcpus !== next.vcpus) parts.push(`cpu ${live.vcpus}→${next.vcpus}`);
  if (live.memoryMiB !== next.memoryMiB) parts.push(`memory ${live.memoryMiB}→${next.memoryMiB} MiB`);
  return parts.length ? `${parts.join(', ')} at next power cycle` : '';
}

export async function powerOn(host: Host, id: string, o: VirshOptions): Promise<void> {
  const { state } = await host.state(id, o);
  if (state === 'running') return;
  if (state === 'paused') await host.virsh.run(['resume', id], o);
  else await host.virsh.run(['start', id], o);
}

export async function powerOff(host: Host, id: string, o: VirshOptions): Promise<void> {
  if ((await host.state(id, o)).state !== 'shut off') await host.virsh.maybe(['destroy', id], o);
}

/**
 * ACPI shutdown, then poll; a guest that has not stopped after `timeoutS`
 * (or ignores ACPI, like one without an OS) is destroyed.
 */
export async function shutdownGraceful(host: Host, id: string, timeoutS: number, o: VirshOptions & { pollMs?: number }): Promise<'graceful' | 'destroyed' | 'already-off'> {
  if (!(await host.running(id, o))) return 'already-off';
  await host.virsh.run(['shutdown', id], o).catch(() => undefined);
  const end = Date.now() + Math.max(0, timeoutS) * 1000;
  while (Date.now() < end) {
    await sleep(o.pollMs ?? 500);
    if (!(await host.running(id, o))) return 'graceful';
  }
  await host.virsh.maybe(['destroy', id], o);
  return 'destroyed';
}

/** Hard reset; a full restart instead when changes are pending (so they apply). */
export async function reboot(host: Host, id: string, o: VirshOptions): Promise<void> {
  if (!(await host.running(id, o))) return powerOn(host, id, o);
  if (await pendingChanges(host, id, o)) {
    await host.virsh.run(['destroy', id], o);
    await host.virsh.run(['start', id], o);
  } else {
    await host.virsh.run(['reset', id], o);
  }
}

export async function power(host: Host, id: string, op: PowerOp, o: VirshOptions): Promise<void> {
  if (op === 'On') return powerOn(host, id, o);
  if (op === 'Off') return powerOff(host, id, o);
  if (op === 'Reboot') return reboot(host, id, o);
  throw new ProviderError('InvalidSpec', `unknown power operation ${op}`, 'Power');
}

export async function reconfigure(host: Host, id: string, d: VMPayload, o: VirshOptions): Promise<void> {
  const op = 'Reconfigure';
  checkSize(d.Class.CPU, d.Class.MemoryMiB, op);
  const uuid = await host.mustExist(id, { ...o, operation: op });
  const v = (args: string[]) => host.virsh.run(args, { ...o, operation: op });
  const next = await host.info(uuid, { ...o, inactive: true });
  const { CPU: cpu, MemoryMiB: mem } = d.Class;

  // Persistent definition (what the next boot gets); raise maxima first.
  if (cpu > next.maxVcpus) await v(['setvcpus', uuid, String(cpu), '--config', '--maximum']);
  if (cpu !== next.vcpus) await v(['setvcpus', uuid, String(cpu), '--config']);
  if (mem > next.maxMemoryMiB) await v(['setmaxmem', uuid, `${mem}M`, '--config']);
  if (mem !== next.memoryMiB) await v(['setmem', uuid, `${mem}M`, '--config']);

  if (await host.running(uuid, o)) {
    const live = await host.info(uuid, o);
    // Hot-plug grows only; unplug needs the guest's cooperation, so it waits.
    if (cpu > live.vcpus && cpu <= live.maxVcpus) await v(['setvcpus', uuid, String(cpu), '--live']).catch(() => undefined);
    if (mem !== live.memoryMiB && mem <= live.maxMemoryMiB) await v(['setmem', uuid, `${mem}M`, '--live']).catch(() => undefined);
  }
  await growDisks(host, uuid, d, o);
}

/** Grows disks named in the payload (a smaller size is a no-op, as in the Go provider); adds new ones. */
async function growDisks(host: Host, uuid: string, d: VMPayload, o: VirshOptions): Promise<void> {
  const { pool } = host;
  const running = await host.running(uuid, o);
  const info = await host.info(uuid, { ...o, inactive: true });
  const want = [
    ...(d.Class.DiskDefaults?.SizeGiB ? [{ vol: volumeNames.root(d.Name), size: d.Class.DiskDefaults.SizeGiB * GiB, type: d.Class.DiskDefaults.Type }] : []),
    ...d.Disks.map((x) => ({ vol: volumeNames.disk(d.Name, x.Name), size: x.SizeGiB * GiB, type: x.Type })),
  ];
  for (const w of want) {
    const vol = await pool.info(w.vol, o);
    const disk = vol && info.disks.find((x) => x.path === vol.path);
    if (vol && disk) {
      if (w.size <= vol.capacity) continue;
      if (running) await host.virsh.run(['blockresize', uuid, disk.target, `${w.size}B`], { ...o, operation: 'Reconfigure' });
      else await pool.resize(w.vol, w.size, { ...o, operation: 'Reconfigure' });
    } else if (!vol && w.vol !== volumeNames.root(d.Name)) {
      const used = new Set(info.disks.map((x) => x.target));
      let i = 1;
      while (used.has(diskTarget('vd', i))) i++;
      const path = await pool.create(w.vol, w.size, { ...o, thick: isThick(w.type) });
      await host.virsh.run(['attach-disk', uuid, path, diskTarget('vd', i), '--driver', 'qemu', '--subdriver', 'qcow2', '--targetbus', 'virtio',
        '--config', ...(running ? ['--live'] : [])], { ...o, operation: 'Reconfigure' });
      await host.setMetadata(uuid, { ...info.metadata, volumes: [...info.metadata.volumes, w.vol] }, o);
    }
  }
}
