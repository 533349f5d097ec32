/**
 * Power, tasks, reconfigure, snapshots and delete of existing VMs. Every
 * operation that vCenter runs as a task returns its moref as the TaskRef;
 * a guest shutdown has no vCenter task, so it gets a TaskRef of our own
 * (`guest-shutdown:<vm>:<deadline>`) that taskStatus evaluates.
 */
import { ProviderError, type PowerOp, type TaskRef, type TaskStatus, type VMPayload } from '../provider';
import { DISK_KEY_PREFIX, configSpec, requireSize } from './config';
import type { Ctx } from './create';
import { addDisk, growDisk, isDisk, scsiSlots, type Device } from './devices';
import { describeFault, isFault, moRef, taskInfo, taskRef, waitTask, type CallOpts, type MoRef, type XmlNode } from './soap';
import { readVm, type VmState } from './vm';

const GUEST_SHUTDOWN = 'guest-shutdown:';

async function task(x: Ctx, method: string, self: MoRef, params: XmlNode, op: string, o?: CallOpts): Promise<TaskRef> {
  const t = moRef(await x.c.call(method, self, params, o));
  if (!t) throw new ProviderError('Internal', `${op}: ${method} returned no task`, op);
  return { id: t.value };
}

export async function power(x: Ctx, id: string, op: PowerOp, gracefulSeconds: number, o?: CallOpts): Promise<TaskRef | undefined> {
  const vm = await readVm(x.c, id, o);
  if (vm.template) throw new ProviderError('InvalidSpec', `Power: ${id} is a template`, 'Power');
  const on = vm.powerState === 'poweredOn';
  switch (op) {
    case 'On':
      return on ? undefined : task(x, 'PowerOnVM_Task', vm.ref, {}, 'Power', o);
    case 'Off':
      return on ? task(x, 'PowerOffVM_Task', vm.ref, {}, 'Power', o) : undefined;
    case 'Reboot':
      if (!on) return task(x, 'PowerOnVM_Task', vm.ref, {}, 'Power', o);
      if (vm.toolsRunning) {
        try {
          await x.c.call('RebootGuest', vm.ref, {}, o);
          return undefined;
        } catch (e) {
          if (!isFault(e, 'ToolsUnavailable', 'InvalidState')) throw e;
        }
      }
      // No guest tools to ask: a hard reset.
      return task(x, 'ResetVM_Task', vm.ref, {}, 'Power', o);
    case 'ShutdownGraceful': {
      if (!on) return undefined;
      try {
        await x.c.call('ShutdownGuest', vm.ref, {}, o);
      } catch (e) {
        if (!isFault(e, 'ToolsUnavailable', 'InvalidState')) throw e;
        return task(x, 'PowerOffVM_Task', vm.ref, {}, 'Power', o);
      }
      const deadline = Date.now() + Math.max(1, gracefulSeconds || 60) * 1000;
      return { id: `${GUEST_SHUTDOWN}${id}:${deadline}` };
    }
    default:
      throw new ProviderError('InvalidSpec', `Power: unknown operation ${JSON.stringify(op)}`, 'Power');
  }
}

export async function taskStatus(x: Ctx, t: TaskRef, o?: CallOpts): Promise<TaskStatus> {
  if (t.id.startsWith(GUEST_SHUTDOWN)) return guestShutdownStatus(x, t.id, o).catch((e: unknown) => gone(e));
  let info;
  try {
    info = await taskInfo(x.c, taskRef(t.id), o);
  } catch (e) {
    // vCenter forgets finished tasks after a while (and on restart): one it no longer
    // knows has ended, and Describe shows the outcome. Only ids of vCenter's shape count.
    if (/^task-\d+$/.test(t.id)) return gone(e);
    throw e;
  }
  if (info.state === 'success') return { done: true };
  if (info.state === 'error') return { done: true, error: describeFault(info.error ?? { type: 'Unknown', message: '' }) };
  return { done: false };
}

function gone(e: unknown): TaskStatus {
  if (e instanceof ProviderError && e.category === 'NotFound') return { done: true };
  throw e;
}

/** Done once the guest is off (or the VM is gone); past the deadline the VM is powered off hard. */
async function guestShutdownStatus(x: Ctx, id: string, o?: CallOpts): Promise<TaskStatus> {
  const [vmId, deadline] = id.slice(GUEST_SHUTDOWN.length).split(':');
  const vm = await readVm(x.c, vmId ?? '', o);
  if (vm.powerState !== 'poweredOn') return { done: true };
  if (Date.now() < Number(deadline)) return { done: false };
  try {
    await waitTask(x.c, taskRef((await task(x, 'PowerOffVM_Task', vm.ref, {}, 'Power', o)).id), 'Power', o);
  } catch (e) {
    if (!isFault(e, 'InvalidPowerState')) throw e;
  }
  return { done: true };
}

/**
 * CPU and memory (hot-add only where the VM has it enabled; shrinking
 * needs the VM off) and disks (grow, or add new names; a smaller size is
 * a no-op, as in VirtRigaud's provider). Nothing to change: no task.
 */
export async function reconfigure(x: Ctx, id: string, desired: VMPayload, o?: CallOpts): Promise<TaskRef | undefined> {
  const vm = await readVm(x.c, id, o);
  const cpu = desired.Class?.CPU;
  const mem = desired.Class?.MemoryMiB;
  requireSize('Reconfigure', cpu, mem);
  const on = vm.powerState === 'poweredOn';
  const cpuChange = cpu !== vm.cpu ? cpu : undefined;
  const memChange = mem !== vm.memoryMiB ? mem : undefined;
  if (on) refuseOnline(vm, cpuChange, memChange);
  const { deviceChange, extraConfig } = diskChanges(vm, desired);
  if (cpuChange === undefined && memChange === undefined && !deviceChange.length) return undefined;
  const spec = configSpec({ cpu: cpuChange, memoryMiB: memChange, deviceChange, extraConfig });
  return task(x, 'ReconfigVM_Task', vm.ref, { spec }, 'Reconfigure', o);
}

function refuseOnline(vm: VmState, cpu: number | undefined, mem: number | undefined): void {
  const no = (what: string) => new ProviderError('InvalidSpec', `Reconfigure: VM ${vm.ref.value} is powered on and ${what}; power it off to resize`, 'Reconfigure');
  if (cpu !== undefined && cpu < (vm.cpu ?? 0)) throw no('vSphere cannot remove CPUs from a running VM');
  if (cpu !== undefined && !vm.cpuHotAdd) throw no('CPU hot add is not enabled (VMClass performanceProfile.cpuHotAddEnabled)');
  if (mem !== undefined && mem < (vm.memoryMiB ?? 0)) throw no('vSphere cannot remove memory from a running VM');
  if (mem !== undefined && !vm.memoryHotAdd) throw no('memory hot add is not enabled (VMClass performanceProfile.memoryHotAddEnabled)');
}

function diskChanges(vm: VmState, desired: VMPayload): { deviceChange: XmlNode[]; extraConfig: Record<string, string> } {
  const deviceChange: XmlNode[] = [];
  const extraConfig: Record<string, string> = {};
  const disks = vm.devices.filter(isDisk);
  let slots: ReturnType<typeof scsiSlots> | undefined;
  let key = -300;
  for (const d of desired.Disks ?? []) {
    const where = vm.extraConfig[`${DISK_KEY_PREFIX}${d.Name}`];
    const have: Device | undefined = where ? disks.find((x) => `${x.controllerKey}:${x.unitNumber}` === where) : undefined;
    if (have) {
      if (d.SizeGiB * 1024 * 1024 > (have.capacityKB ?? 0)) deviceChange.push(growDisk(have, d.SizeGiB));
      continue;
    }
    if (!(d.SizeGiB > 0)) continue;
    slots ??= scsiSlots(vm.devices);
    const unit = slots.next();
    deviceChange.push(addDisk(key--, slots.controllerKey, unit, d.SizeGiB, d.Type || 'thin'));
    extraConfig[`${DISK_KEY_PREFIX}${d.Name}`] = `${slots.controllerKey}:${unit}`;
  }
  return { deviceChange, extraConfig };
}

/** Powers off a running VM first (Destroy_Task refuses a powered-on VM). */
export async function destroy(x: Ctx, id: string, o?: CallOpts): Promise<TaskRef | undefined> {
  const vm = await readVm(x.c, id, o);
  if (vm.powerState !== 'poweredOff') {
    try {
      await waitTask(x.c, taskRef((await task(x, 'PowerOffVM_Task', vm.ref, {}, 'Delete', o)).id), 'Delete', o);
    } catch (e) {
      if (!isFault(e, 'InvalidPowerState')) throw e;
    }
  }
  return task(x, 'Destroy_Task', vm.ref, {}, 'Delete', o);
}

export async function snapshotCreate(x: Ctx, vmId: string, name: string, description: string, memory: boolean, o?: CallOpts) {
  const vm = await readVm(x.c, vmId, o);
  const on = vm.powerState === 'poweredOn';
  // Quiescing needs running guest tools; with memory it is pointless.
  const quiesce = !memory && on && vm.toolsRunning;
  const t = await task(x, 'CreateSnapshot_Task', vm.ref, { name: name || 'snapshot', description, memory: String(memory && on), quiesce: String(quiesce) }, 'SnapshotCreate', o);
  const snap = moRef(await waitTask(x.c, taskRef(t.id), 'SnapshotCreate', o));
  if (!snap) throw new ProviderError('Internal', `SnapshotCreate: task ${t.id} returned no snapshot`, 'SnapshotCreate');
  return { snapshotId: snap.value, task: t };
}

async function snapshotOf(x: Ctx, vmId: string, snapshotId: string, op: string, o?: CallOpts): Promise<MoRef> {
  const vm = await readVm(x.c, vmId, o);
  const s = vm.snapshots.find((n) => n.ref.value === snapshotId);
  if (!s) throw new ProviderError('NotFound', `${op}: VM ${vmId} has no snapshot ${JSON.stringify(snapshotId)}`, op);
  return s.ref;
}

export async function snapshotRevert(x: Ctx, vmId: string, snapshotId: string, o?: CallOpts): Promise<TaskRef> {
  return task(x, 'RevertToSnapshot_Task', await snapshotOf(x, vmId, snapshotId, 'SnapshotRevert', o), {}, 'SnapshotRevert', o);
}

export async function snapshotDelete(x: Ctx, vmId: string, snapshotId: string, o?: CallOpts): Promise<TaskRef> {
  const snap = await snapshotOf(x, vmId, snapshotId, 'SnapshotDelete', o);
  return task(x, 'RemoveSnapshot_Task', snap, { removeChildren: 'false', consolidate: 'true' }, 'SnapshotDelete', o);
}
