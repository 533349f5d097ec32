/**
 * The vSphere provider: the Provider interface over our vim25 SOAP client.
 * VM ids are managed object ids (`vm-123`); task refs are Task morefs
 * (`task-45`) polled with taskStatus.
 */
import {
  NO_CAPABILITIES, ProviderError, type CallOptions, type Capabilities, type CloneRequest, type CreateRequest,
  type CreateResponse, type Description, type DiskInfo, type ImagePrepareRequest, type ImagePrepareResponse,
  type PowerOp, type Provider, type SnapshotCreateRequest, type TaskRef, type TaskStatus, type VMInfo, type VMPayload,
} from '../provider';
import { cloneVm, createVm, type Ctx } from './create';
import { isDisk } from './devices';
import { Inventory } from './inventory';
import { findLibraryItem } from './library';
import { formatLibraryRef } from './library-ref';
import * as life from './lifecycle';
import { retrieveView, VimClient, type CallOpts } from './soap';
import { VapiClient } from './vapi';
import { describeOf, readVm, VM_PATHS, vmInfoOf, vmState } from './vm';

export interface VsphereProviderOptions {
  /** `https://vcenter/sdk`; a `?datacenter=NAME` query selects the datacenter (default: the first). */
  readonly endpoint: string;
  readonly username: string;
  readonly password: string;
  /** PEM CA bundle (credentials key `ca.crt`); the system CAs when absent. */
  readonly ca?: string;
  readonly insecureSkipVerify?: boolean;
  /** Provider `spec.defaults`: datastore, storagePod, cluster, folder, resourcePool, network. */
  readonly defaults?: Readonly<Record<string, string>>;
  readonly requestTimeoutMs?: number;
}

export const VSPHERE_CAPABILITIES: Capabilities = {
  ...NO_CAPABILITIES,
  supportsReconfigureOnline: true,
  supportsDiskExpansionOnline: true,
  supportsSnapshots: true,
  supportsMemorySnapshots: true,
  supportsLinkedClones: true,
  supportedDiskTypes: ['thin', 'thick', 'eagerZeroedThick'],
  supportedNetworkTypes: ['standard', 'distributed', 'opaque'],
};

export class VsphereProvider implements Provider {
  readonly client: VimClient;
  readonly inventory: Inventory;
  readonly vapi: VapiClient;
  private readonly x: Ctx;
  private readonly host: string;

  constructor(readonly options: VsphereProviderOptions) {
    let datacenter = '';
    try {
      const u = new URL(options.endpoint);
      datacenter = u.searchParams.get('datacenter') ?? '';
      this.host = u.host;
    } catch {
      this.host = options.endpoint;
    }
    this.client = new VimClient({
      url: options.endpoint, username: options.username, password: options.password, ca: options.ca,
      insecureSkipVerify: options.insecureSkipVerify, timeoutMs: options.requestTimeoutMs,
    });
    this.inventory = new Inventory(this.client, datacenter);
    this.vapi = new VapiClient({ transport: this.client.transport, username: options.username, password: options.password });
    this.x = { c: this.client, vapi: this.vapi, inv: this.inventory, defaults: options.defaults ?? {} };
  }

  async validate(o?: CallOptions) {
    try {
      await this.client.login(o);
      const sc = await this.client.serviceContent(o);
      await this.inventory.datacenter(o);
      return { ok: true, message: `${sc.fullName || 'vCenter'} (API ${sc.apiVersion})` };
    } catch (e) {
      return { ok: false, message: (e as Error).message };
    }
  }

  create(req: CreateRequest, o?: CallOptions): Promise<CreateResponse> {
    return createVm(this.x, req, long(o));
  }

  delete(id: string, o?: CallOptions) {
    return life.destroy(this.x, id, long(o));
  }

  power(id: string, op: PowerOp, gracefulTimeoutSeconds: number, o?: CallOptions) {
    return life.power(this.x, id, op, gracefulTimeoutSeconds, o);
  }

  reconfigure(id: string, desired: VMPayload, o?: CallOptions) {
    return life.reconfigure(this.x, id, desired, o);
  }

  async hardwareUpgrade(id: string, targetVersion: number, o?: CallOptions): Promise<TaskRef | undefined> {
    const vm = await readVm(this.client, id, o);
    if (!Number.isInteger(targetVersion) || targetVersion < 4) throw new ProviderError('InvalidSpec', `HardwareUpgrade: invalid version ${targetVersion}`, 'HardwareUpgrade');
    const t = await this.client.call('UpgradeVM_Task', vm.ref, { version: `vmx-${String(targetVersion).padStart(2, '0')}` }, o);
    const ref = typeof t === 'object' && !Array.isArray(t) ? t['#text'] : undefined;
    return typeof ref === 'string' ? { id: ref } : undefined;
  }

  async describe(id: string, o?: CallOptions): Promise<Description> {
    try {
      const vm = await readVm(this.client, id, o);
      return describeOf(vm, await this.consoleURL(vm.ref.value, vm.name, o));
    } catch (e) {
      if (e instanceof ProviderError && e.category === 'NotFound') return { exists: false, powerState: '', ips: [], consoleURL: '', providerRaw: {} };
      throw e;
    }
  }

  taskStatus(task: TaskRef, o?: CallOptions): Promise<TaskStatus> {
    return life.taskStatus(this.x, task, o);
  }

  snapshotCreate(req: SnapshotCreateRequest, o?: CallOptions) {
    return life.snapshotCreate(this.x, req.vmId, req.nameHint, req.description, req.includeMemory, long(o));
  }

  snapshotDelete(vmId: string, snapshotId: string, o?: CallOptions) {
    return life.snapshotDelete(this.x, vmId, snapshotId, o);
  }

  snapshotRevert(vmId: string, snapshotId: string, o?: CallOptions) {
    return life.snapshotRevert(this.x, vmId, snapshotId, o);
  }

  clone(req: CloneRequest, o?: CallOptions) {
    return cloneVm(this.x, req, long(o));
  }

  /** A template or content library item named by the image is "prepared" already; anything else is not implemented. */
  async imagePrepare(req: ImagePrepareRequest, o?: CallOptions): Promise<ImagePrepareResponse> {
    type Src = { templateName?: string; contentLibrary?: { library?: string; item?: string; version?: string } };
    let src: Src = {};
    try {
      src = (JSON.parse(req.imageJson) as { source?: { vsphere?: Src } }).source?.vsphere ?? {};
    } catch {
      throw new ProviderError('InvalidSpec', 'ImagePrepare: image JSON does not parse', 'ImagePrepare');
    }
    const cl = src.contentLibrary;
    if (cl?.library && cl.item) {
      const r = { library: cl.library, item: cl.item, ...(cl.version ? { version: cl.version } : {}) };
      const item = await findLibraryItem(this.vapi, r, o);
      return { preparedImageId: item.id, preparedImagePath: formatLibraryRef(r) };
    }
    const name = src.templateName ?? '';
    if (!name) throw new ProviderError('Unimplemented', 'ImagePrepare: only vSphere templates and content library items are supported (OVA imports are not implemented)', 'ImagePrepare');
    const [found] = await this.inventory.vmsNamed(name, o);
    if (!found) throw new ProviderError('NotFound', `ImagePrepare: template ${JSON.stringify(name)} not found`, 'ImagePrepare');
    return { preparedImageId: found.value, preparedImagePath: name };
  }

  async getCapabilities(): Promise<Capabilities> {
    return { ...VSPHERE_CAPABILITIES };
  }

  async exportDisk(): Promise<never> {
    throw new ProviderError('Unimplemented', 'ExportDisk: not implemented by the vSphere provider', 'ExportDisk');
  }

  async importDisk(): Promise<never> {
    throw new ProviderError('Unimplemented', 'ImportDisk: not implemented by the vSphere provider', 'ImportDisk');
  }

  async getDiskInfo(vmId: string, diskId: string, _snapshotId: string, o?: CallOptions): Promise<DiskInfo> {
    const vm = await readVm(this.client, vmId, o);
    const disks = vm.devices.filter(isDisk);
    const d = diskId ? disks.find((x) => String(x.key) === diskId || x.label === diskId) : disks[0];
    if (!d) throw new ProviderError('NotFound', `GetDiskInfo: VM ${vmId} has no disk ${JSON.stringify(diskId)}`, 'GetDiskInfo');
    const bytes = (d.capacityKB ?? 0) * 1024;
    return {
      diskId: String(d.key), format: 'vmdk', virtualSizeBytes: bytes, actualSizeBytes: bytes, path: d.fileName ?? '',
      isBootable: d === disks[0], snapshots: vm.snapshots.map((s) => s.ref.value), backingFile: '', metadata: { label: d.label },
    };
  }

  async listVMs(o?: CallOptions): Promise<VMInfo[]> {
    const dc = await this.inventory.datacenter(o);
    const all = await retrieveView(this.client, dc.ref, 'VirtualMachine', VM_PATHS, o);
    return all.map((v) => vmState(v.obj, v.props)).filter((v) => !v.template).map(vmInfoOf)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async close(): Promise<void> {
    await this.vapi.logout();
    await this.client.logout().catch(() => undefined);
    this.client.close();
  }

  /** The vSphere Client's web console for the VM. */
  private async consoleURL(id: string, name: string, o?: CallOpts): Promise<string> {
    const sc = await this.client.serviceContent(o);
    const q = new URLSearchParams({ vmId: id, vmName: name, serverGuid: sc.instanceUuid, locale: 'en_US' });
    return `https://${this.host}/ui/webconsole.html?${q.toString()}`;
  }
}

/** Create, clone, snapshot and delete wait for vCenter tasks: give them the long deadline unless the caller set one. */
function long(o?: CallOptions): CallOpts {
  return { signal: o?.signal, timeoutMs: o?.timeoutMs ?? 5 * 60_000 };
}
