/**
 * The Proxmox VE provider: QEMU VMs of a PVE cluster through its HTTPS API.
 * Every call that names a VM goes straight to `/nodes/<node>/qemu/<vmid>`;
 * PVE's 500 "does not exist" answers are NotFound.
 */
import {
  NO_CAPABILITIES, ProviderError,
  type CallOptions, type Capabilities, type CloneRequest, type CreateRequest, type CreateResponse, type Description,
  type DiskInfo, type ExportDiskResponse, type ImagePrepareRequest, type ImagePrepareResponse, type ImportDiskResponse,
  type PowerOp, type Provider, type SnapshotCreateRequest, type TaskRef, type TaskStatus, type VMInfo, type VMPayload,
} from '../provider';
import { cloneClassSize } from '../clone-class';
import { cloneUid } from '../uid';
import { PveClient, type PveClientOptions } from './client';
import { description, requireSize, sizeConfig } from './config';
import { addDisks, cloneTo, createVm, diskStorage, findTemplate, type CreateContext } from './create';
import { isMissing } from './errors';
import { ANY, ProxmoxLimits, type ProxmoxLimitLists } from './limits';
import { awaitUpid, taskStatus } from './tasks';
import { describeVm, formatId, parseId, resources, vmInfo, vmPath, type Config, type VmRef } from './vm';

export interface ProxmoxProviderOptions extends PveClientOptions {
  readonly defaults?: Readonly<Record<string, string>>;
  /**
   * The nodes, storages and bridges the tenant may name. Deny by default:
   * a list left out or empty allows none (VMs stay on their template's node
   * and storage; no NIC). A provider pod whose operator configured the pod
   * itself passes `PROXMOX_ANY` (or `['*']` per kind) explicitly.
   */
  readonly limits?: Partial<ProxmoxLimitLists>;
}

export const PROXMOX_CAPABILITIES: Capabilities = {
  ...NO_CAPABILITIES,
  supportsReconfigureOnline: true,
  supportsDiskExpansionOnline: true,
  supportsSnapshots: true,
  supportsMemorySnapshots: true,
  supportedDiskTypes: ['raw', 'qcow2'],
  supportedNetworkTypes: ['bridged'],
};

const task = (upid: unknown): TaskRef | undefined => (typeof upid === 'string' && upid.startsWith('UPID:') ? { id: upid } : undefined);

export class ProxmoxProvider implements Provider {
  readonly client: PveClient;
  private readonly ctx: CreateContext;
  private readonly consoleBase: string;
  /** Graceful shutdown tasks this provider started: only those are finished with a stop (see taskStatus). */
  private readonly shutdowns = new Set<string>();

  constructor(opts: ProxmoxProviderOptions) {
    this.client = new PveClient(opts);
    const l = opts.limits ?? {};
    this.ctx = { client: this.client, limits: new ProxmoxLimits(l.nodes, l.storages, l.bridges), defaults: opts.defaults ?? {}, idLock: { chain: Promise.resolve() } };
    this.consoleBase = new URL(opts.url).origin;
  }

  async validate(): Promise<{ ok: boolean; message: string }> {
    try {
      const v = await this.client.get<{ version: string }>('/version', {}, 'Validate');
      const nodes = await this.client.get<{ node: string; status: string }[]>('/nodes', {}, 'Validate');
      const allowed = this.ctx.limits.nodes.filter((n) => n !== ANY);
      const missing = allowed.filter((n) => !nodes.some((x) => x.node === n));
      if (missing.length) return { ok: false, message: `Proxmox VE ${v.version}: nodes ${missing.join(', ')} are not in the cluster` };
      return { ok: true, message: `Proxmox VE ${v.version}, ${nodes.length} node(s), ${this.client.usesToken ? 'API token' : 'ticket'} authentication` };
    } catch (e) {
      return { ok: false, message: (e as Error).message };
    }
  }

  async create(req: CreateRequest): Promise<CreateResponse> {
    return { id: formatId(await createVm(this.ctx, req)) };
  }

  async delete(id: string): Promise<TaskRef | undefined> {
    const r = parseId(id);
    if (!r) return undefined;
    try {
      const s = await this.client.get<{ status: string }>(`${vmPath(r)}/status/current`, {}, 'Delete');
      if (s.status === 'running') await awaitUpid(this.client, await this.client.post(`${vmPath(r)}/status/stop`, {}, 'Delete'), 'Delete');
      return task(await this.client.delete(vmPath(r), { purge: 1, 'destroy-unreferenced-disks': 1 }, 'Delete'));
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  async power(id: string, op: PowerOp, gracefulTimeoutSeconds: number): Promise<TaskRef | undefined> {
    const r = this.ref(id, 'Power');
    const s = await this.client.get<{ status: string }>(`${vmPath(r)}/status/current`, {}, 'Power');
    const on = s.status === 'running';
    const act = async (action: string, params = {}) => task(await this.client.post(`${vmPath(r)}/status/${action}`, params, 'Power'));
    switch (op) {
      case 'On': return on ? undefined : act('start');
      case 'Off': return on ? act('stop') : undefined;
      case 'Reboot': return on ? act('reboot') : act('start');
      case 'ShutdownGraceful': {
        if (!on) return undefined;
        // PVE waits up to `timeout` for the guest, then stops it itself (forceStop=1): OffGraceful ends Off.
        // The task is returned at once (the reconciler polls it within its own call timeout); a task that
        // still ends in "VM quit/powerdown failed - got timeout" is followed by a stop in taskStatus.
        const timeout = gracefulTimeoutSeconds > 0 ? gracefulTimeoutSeconds : 60;
        const t = await act('shutdown', { timeout, forceStop: 1 });
        if (t?.id) this.shutdowns.add(t.id);
        return t;
      }
    }
  }

  async reconfigure(id: string, desired: VMPayload): Promise<TaskRef | undefined> {
    const r = this.ref(id, 'Reconfigure');
    requireSize('Reconfigure', desired.Class.CPU, desired.Class.MemoryMiB);
    // Checked before anything changes: a storage the operator does not allow is refused here as on create.
    const storage = diskStorage(this.ctx, desired.Placement, 'Reconfigure');
    await this.client.put(`${vmPath(r)}/config`, sizeConfig(desired.Class), 'Reconfigure');
    await addDisks(this.ctx, r, desired.Disks, storage, 'Reconfigure');
    return undefined;
  }

  async hardwareUpgrade(): Promise<TaskRef | undefined> {
    throw new ProviderError('Unimplemented', 'HardwareUpgrade: Proxmox VE VMs have a machine type, not a hardware version; not implemented', 'HardwareUpgrade');
  }

  describe(id: string): Promise<Description> {
    const r = parseId(id);
    if (!r) return Promise.resolve({ exists: false, powerState: 'Off', ips: [], consoleURL: '', providerRaw: {} });
    return describeVm(this.client, r, this.consoleBase);
  }

  /**
   * A task's status. A graceful shutdown (`qmshutdown`) that ended in "VM
   * quit/powerdown failed - got timeout" (the guest ignored ACPI and the
   * force stop did not happen) is finished here as OffGraceful asks: the VM
   * is stopped, and the task reports done once it is off. Only for shutdowns
   * this provider issued: a task id comes from a VM's status, and a
   * tenant's status must never make it stop another VM.
   */
  async taskStatus(t: TaskRef): Promise<TaskStatus> {
    const s = await taskStatus(this.client, t.id);
    const [, node, , , , type, vmid] = t.id.split(':');
    const issued = s.done && this.shutdowns.delete(t.id);
    if (issued && s.error && type === 'qmshutdown' && node && /^\d+$/.test(vmid ?? '') && /got timeout/.test(s.error)) {
      const r = { node, vmid: Number(vmid) };
      const cur = await this.client.get<{ status: string }>(`${vmPath(r)}/status/current`, {}, 'TaskStatus');
      if (cur.status === 'running') await awaitUpid(this.client, await this.client.post(`${vmPath(r)}/status/stop`, {}, 'TaskStatus'), 'TaskStatus');
      return { done: true };
    }
    return s;
  }

  async snapshotCreate(req: SnapshotCreateRequest): Promise<{ snapshotId: string; task?: TaskRef }> {
    const r = this.ref(req.vmId, 'SnapshotCreate');
    const base = req.nameHint.replace(/[^A-Za-z0-9_-]/g, '-').replace(/^[^A-Za-z]+/, '') || 'snap';
    const snapname = `${base.slice(0, 30)}-${Date.now().toString(36).slice(-6)}`;
    const s = await this.client.get<{ status: string }>(`${vmPath(r)}/status/current`, {}, 'SnapshotCreate');
    const upid = await this.client.post(`${vmPath(r)}/snapshot`, { snapname, description: req.description, vmstate: req.includeMemory && s.status === 'running' ? 1 : undefined }, 'SnapshotCreate');
    return { snapshotId: snapname, ...(task(upid) ? { task: task(upid) } : {}) };
  }

  async snapshotDelete(vmId: string, snapshotId: string): Promise<TaskRef | undefined> {
    const r = this.ref(vmId, 'SnapshotDelete');
    await this.requireSnapshot(r, snapshotId, 'SnapshotDelete');
    return task(await this.client.delete(`${vmPath(r)}/snapshot/${encodeURIComponent(snapshotId)}`, {}, 'SnapshotDelete'));
  }

  async snapshotRevert(vmId: string, snapshotId: string): Promise<TaskRef | undefined> {
    const r = this.ref(vmId, 'SnapshotRevert');
    await this.requireSnapshot(r, snapshotId, 'SnapshotRevert');
    return task(await this.client.post(`${vmPath(r)}/snapshot/${encodeURIComponent(snapshotId)}/rollback`, {}, 'SnapshotRevert'));
  }

  async clone(req: CloneRequest): Promise<{ targetVmId: string; task?: TaskRef }> {
    const src = this.ref(req.sourceVmId, 'Clone');
    if (req.linked) throw new ProviderError('Unimplemented', 'Clone: Proxmox VE makes linked clones of templates only; a VM clone is full (VMImage source.proxmox clones templates)', 'Clone');
    const uid = cloneUid(req.customizeJson, 'Clone');
    const cfg = await this.client.get<Config>(`${vmPath(src)}/config`, {}, 'Clone');
    // PVE's clone call takes no size: a size class_json names is set after it, the copy marked "creating" (unlisted) until then.
    const size = cloneClassSize(req.classJson);
    const sized = size.cpu !== undefined || size.memoryMiB !== undefined;
    if (sized) requireSize('Clone', size.cpu ?? Number(cfg.cores ?? 1) * Number(cfg.sockets ?? 1), size.memoryMiB ?? Number(cfg.memory ?? 512));
    const ref = await cloneTo(this.ctx, src, req.targetName, { full: 1, description: description(uid, sized) }, 'Clone');
    if (sized) {
      try {
        await this.client.put(`${vmPath(ref)}/config`, { ...(size.cpu !== undefined ? { cores: size.cpu, sockets: 1 } : {}), ...(size.memoryMiB !== undefined ? { memory: size.memoryMiB } : {}) }, 'Clone');
        await this.client.put(`${vmPath(ref)}/config`, { description: description(uid) }, 'Clone');
      } catch (e) {
        // A clone has no resume path (unlike Create): a copy left half-sized would be an orphan nobody lists.
        await this.client.delete(vmPath(ref), { purge: 1, 'destroy-unreferenced-disks': 1 }, 'Clone').then((u) => awaitUpid(this.client, u, 'Clone')).catch(() => undefined);
        throw e;
      }
    }
    return { targetVmId: formatId(ref) };
  }

  async imagePrepare(req: ImagePrepareRequest): Promise<ImagePrepareResponse> {
    const spec = JSON.parse(req.imageJson || '{}') as { source?: { proxmox?: { templateID?: number; templateName?: string; node?: string; storage?: string } } };
    const px = spec.source?.proxmox;
    const ref = px?.templateID !== undefined ? String(px.templateID) : px?.templateName;
    if (!ref) throw new ProviderError('Unimplemented', 'ImagePrepare: the Proxmox provider uses existing templates (source.proxmox.templateID or templateName); imports are not implemented', 'ImagePrepare');
    const t = await findTemplate(this.client, ref, 'ImagePrepare');
    this.ctx.limits.check('node', t.node, 'ImagePrepare', `source.proxmox (template ${t.vmid} is on node ${t.node})`, t.node);
    if (px?.node) this.ctx.limits.check('node', px.node, 'ImagePrepare', 'source.proxmox.node', t.node);
    if (px?.storage) this.ctx.limits.check('storage', px.storage, 'ImagePrepare', 'source.proxmox.storage');
    return { preparedImageId: String(t.vmid), preparedImagePath: `${t.node}/${t.vmid}` };
  }

  async getCapabilities(): Promise<Capabilities> {
    return PROXMOX_CAPABILITIES;
  }

  exportDisk(): Promise<ExportDiskResponse> {
    return Promise.reject(new ProviderError('Unimplemented', 'ExportDisk: not implemented by the Proxmox provider (no SSH data plane)', 'ExportDisk'));
  }

  importDisk(): Promise<ImportDiskResponse> {
    return Promise.reject(new ProviderError('Unimplemented', 'ImportDisk: not implemented by the Proxmox provider (no SSH data plane)', 'ImportDisk'));
  }

  getDiskInfo(): Promise<DiskInfo> {
    return Promise.reject(new ProviderError('Unimplemented', 'GetDiskInfo: not implemented by the Proxmox provider', 'GetDiskInfo'));
  }

  async listVMs(_o?: CallOptions): Promise<VMInfo[]> {
    const all = (await resources(this.client, 'ListVMs')).filter((r) => r.template !== 1);
    return (await Promise.all(all.map((r) => vmInfo(this.client, r)))).filter((v): v is VMInfo => !!v);
  }

  async close(): Promise<void> {
    this.client.close();
  }

  private ref(id: string, op: string): VmRef {
    const r = parseId(id);
    if (!r) throw new ProviderError('NotFound', `${op}: no Proxmox VM ${JSON.stringify(id)} (ids are <node>/<vmid>)`, op);
    return r;
  }

  private async requireSnapshot(r: VmRef, name: string, op: string): Promise<void> {
    const list = await this.client.get<{ name: string }[]>(`${vmPath(r)}/snapshot`, {}, op);
    if (!list.some((s) => s.name === name)) throw new ProviderError('NotFound', `${op}: VM ${formatId(r)} has no snapshot ${JSON.stringify(name)}`, op);
  }
}
