/**
 * LibvirtProvider: the Provider interface over virsh, for any libvirt URI
 * (qemu:///system, qemu+ssh://user@host/system, ...). The VM id is the
 * domain UUID. Everything is synchronous except a graceful shutdown, which
 * returns a task (it may wait up to its timeout).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  NO_CAPABILITIES, ProviderError,
  type Capabilities, type CallOptions, type CloneRequest, type CreateRequest, type CreateResponse, type Description,
  type DiskInfo, type ExportDiskResponse, type ImagePrepareRequest, type ImagePrepareResponse, type ImportDiskResponse,
  type PowerOp, type Provider, type SnapshotCreateRequest, type TaskRef, type TaskStatus, type VMInfo, type VMPayload,
} from '../provider';
import { DEFAULT_HOST_POLICY, type AccelProbePaths, type HostPolicy } from '../hostutil';
import { openConnection, type Connection } from './connection';
import { Host } from './host';
import { prepareImage, targetVolume } from './image';
import { pendingChanges, power, reconfigure, shutdownGraceful } from './lifecycle';
import { createDomain, deleteDomain } from './provision';
import { cloneDomain, snapshotCreate, snapshotDelete, snapshotRevert } from './snapshots';
import { detectDomainType, type NicPolicy } from './spec';
import { Pool } from './storage';
import { Virsh, type VirshOptions } from './virsh';

export interface LibvirtProviderOptions {
  /** libvirt URI (the Provider's `spec.endpoint`). */
  readonly uri: string;
  readonly credentials?: Readonly<Record<string, string>>;
  readonly insecureSkipVerify?: boolean;
  /** Storage pool for images and VM disks (default `virtrigaud`; Provider `spec.defaults.datastore`). */
  readonly pool?: string;
  /** Directory of that pool when it has to be created (default /var/lib/libvirt/images/<pool>). */
  readonly poolPath?: string;
  /** Network for NICs that name none (Provider `spec.defaults.network`). */
  readonly defaultNetwork?: string;
  /** Networks and bridges NICs may attach to (the operator's instance settings); unset: any. */
  readonly nicPolicy?: NicPolicy;
  /** Blank root disk when the image names nothing usable (default false: InvalidSpec). */
  readonly blankRootDisk?: boolean;
  /** Start domains right after Create (default true). */
  readonly startOnCreate?: boolean;
  /** `kvm` or `qemu` (TCG); default: detected (detectDomainType: KVM on a remote host, locally only where detectAccel finds it usable). */
  readonly domainType?: 'kvm' | 'qemu';
  /** Where the local accelerator probe looks (tests); default the real /proc/cpuinfo, /dev/kvm, /sys/module. */
  readonly accelProbe?: AccelProbePaths;
  /** Poll interval of a graceful shutdown (default 500 ms). */
  readonly shutdownPollMs?: number;
  /** The operator's limits on image paths, URLs and downloads (default DEFAULT_HOST_POLICY: deny). */
  readonly hostPolicy?: HostPolicy;
}

export const LIBVIRT_CAPABILITIES: Capabilities = {
  ...NO_CAPABILITIES,
  supportsReconfigureOnline: true,
  supportsDiskExpansionOnline: true,
  supportsSnapshots: true,
  supportsMemorySnapshots: true,
  supportsLinkedClones: true,
  supportsImageImport: true,
  supportedDiskTypes: ['thin', 'thick', 'eagerzeroedthick'],
  supportedNetworkTypes: ['network', 'bridge'],
};

type Task = { done: boolean; error?: string };

export class LibvirtProvider implements Provider {
  private conn?: Promise<{ c: Connection; host: Host }>;
  private readonly tasks = new Map<string, Task>();

  constructor(readonly options: LibvirtProviderOptions) {}

  /** Connection set-up (secret files, pool object) on first use. */
  private async host(): Promise<Host> {
    this.conn ??= (async () => {
      const c = await openConnection({ endpoint: this.options.uri, credentials: this.options.credentials ?? {}, insecureSkipVerify: !!this.options.insecureSkipVerify });
      const virsh = new Virsh(c.uri, c.env);
      const name = this.options.pool || 'virtrigaud';
      return { c, host: new Host(virsh, new Pool(virsh, name, this.options.poolPath ?? join('/var/lib/libvirt/images', name)), c.remote) };
    })().catch((e) => {
      this.conn = undefined;
      throw e;
    });
    return (await this.conn).host;
  }

  private opts(o: CallOptions | undefined, operation: string): VirshOptions {
    return { ...(o?.signal ? { signal: o.signal } : {}), ...(o?.timeoutMs ? { timeoutMs: o.timeoutMs } : {}), operation };
  }

  private detected?: { remote: boolean; d: { domainType: 'kvm' | 'qemu'; reason: string } };

  /** The domain type new domains get, and why (configured, or detected once per connection kind). */
  private domainTypeOf(host: Host): { domainType: 'kvm' | 'qemu'; reason: string } {
    if (this.options.domainType) return { domainType: this.options.domainType, reason: 'configured' };
    if (this.detected?.remote !== host.remote) this.detected = { remote: host.remote, d: detectDomainType(host.remote, this.options.accelProbe) };
    return this.detected.d;
  }

  private domainType(host: Host): 'kvm' | 'qemu' {
    return this.domainTypeOf(host).domainType;
  }

  /** Why a VMClass may not ask for KVM here: a local host whose KVM the probe finds unusable. */
  private kvmUnusable(host: Host): string | undefined {
    if (host.remote || this.options.domainType === 'kvm') return undefined;
    const d = detectDomainType(false, this.options.accelProbe);
    return d.domainType === 'kvm' ? undefined : d.reason;
  }

  async validate(o?: CallOptions): Promise<{ ok: boolean; message: string }> {
    try {
      const host = await this.host();
      await host.virsh.run(['uri'], this.opts(o, 'Validate'));
      await host.pool.ensure(this.opts(o, 'Validate'));
      const d = this.domainTypeOf(host);
      return { ok: true, message: `connected to ${this.options.uri}; storage pool ${host.pool.name}; domain type ${d.domainType} (${d.domainType === 'kvm' ? 'KVM' : 'TCG'}: ${d.reason})` };
    } catch (e) {
      return { ok: false, message: (e as Error).message };
    }
  }

  async create(req: CreateRequest, o?: CallOptions): Promise<CreateResponse> {
    const host = await this.host();
    const kvmUnusable = this.kvmUnusable(host);
    const id = await createDomain(host, req, {
      domainType: this.domainType(host),
      ...(kvmUnusable ? { kvmUnusable } : {}),
      defaultNetwork: this.options.defaultNetwork,
      ...(this.options.nicPolicy ? { nicPolicy: this.options.nicPolicy } : {}),
      blankRootDisk: !!this.options.blankRootDisk,
      startOnCreate: this.options.startOnCreate ?? true,
      hostPolicy: this.options.hostPolicy ?? DEFAULT_HOST_POLICY,
    }, this.opts(o, 'Create'));
    return { id };
  }

  async delete(id: string, o?: CallOptions): Promise<TaskRef | undefined> {
    await deleteDomain(await this.host(), id, this.opts(o, 'Delete'));
    return undefined;
  }

  async power(id: string, op: PowerOp, gracefulTimeoutSeconds: number, o?: CallOptions): Promise<TaskRef | undefined> {
    const host = await this.host();
    const vo = this.opts(o, 'Power');
    const uuid = await host.mustExist(id, vo);
    if (op !== 'ShutdownGraceful') {
      await power(host, uuid, op, vo);
      return undefined;
    }
    // May take the whole timeout: run it as a task the caller polls.
    const task: TaskRef = { id: `libvirt-shutdown-${randomUUID()}` };
    const state: Task = { done: false };
    this.tasks.set(task.id, state);
    const { signal: _drop, timeoutMs: _t, ...bg } = vo;
    void shutdownGraceful(host, uuid, gracefulTimeoutSeconds, { ...bg, pollMs: this.options.shutdownPollMs })
      .then(() => { state.done = true; }, (e: Error) => { state.done = true; state.error = e.message; });
    return task;
  }

  async reconfigure(id: string, desired: VMPayload, o?: CallOptions): Promise<TaskRef | undefined> {
    await reconfigure(await this.host(), id, desired, this.opts(o, 'Reconfigure'));
    return undefined;
  }

  async hardwareUpgrade(): Promise<TaskRef | undefined> {
    throw new ProviderError('Unimplemented', 'libvirt has no virtual hardware versions; set extraConfig libvirt.machine instead', 'HardwareUpgrade');
  }

  async describe(id: string, o?: CallOptions): Promise<Description> {
    const host = await this.host();
    const vo = this.opts(o, 'Describe');
    const uuid = await host.uuid(id, vo);
    const none: Description = { exists: false, powerState: 'Off', ips: [], consoleURL: '', providerRaw: {} };
    if (!uuid) return none;
    try {
      const { state, reason } = await host.state(uuid, vo);
      const on = state === 'running';
      const [live, next] = await Promise.all([host.info(uuid, vo), host.info(uuid, { ...vo, inactive: true })]);
      const pending = on ? await pendingChanges(host, uuid, vo) : '';
      return {
        exists: true,
        powerState: on ? 'On' : 'Off',
        ips: on ? await host.addresses(uuid, vo) : [],
        consoleURL: on && live.vncPort ? `vnc://${live.vncListen ?? '127.0.0.1'}:${live.vncPort}` : '',
        // Size as configured (what the next boot gets); the live size is in providerRaw.
        cpu: next.vcpus,
        memoryMiB: next.memoryMiB,
        ...(next.metadata.uid ? { uid: next.metadata.uid } : {}),
        providerRaw: {
          uuid, name: live.name, state, reason, firmware: next.firmware, pool: host.pool.name,
          liveCpu: live.vcpus, liveMemoryMiB: live.memoryMiB,
          ...(pending ? { pendingPowerCycle: pending } : {}),
          ...(next.metadata.image ? { image: next.metadata.image } : {}),
          ...(next.metadata.ignoredExtraConfig ? { ignoredExtraConfig: next.metadata.ignoredExtraConfig.join(',') } : {}),
        },
      };
    } catch (e) {
      if (e instanceof ProviderError && e.category === 'NotFound') return none; // deleted meanwhile
      throw e;
    }
  }

  async taskStatus(task: TaskRef): Promise<TaskStatus> {
    const t = this.tasks.get(task.id);
    if (!t) throw new ProviderError('NotFound', `task ${task.id} unknown (this provider process did not start it)`, 'TaskStatus');
    if (t.done) this.tasks.delete(task.id);
    return t.error ? { done: true, error: t.error } : { done: t.done };
  }

  async snapshotCreate(req: SnapshotCreateRequest, o?: CallOptions): Promise<{ snapshotId: string; task?: TaskRef }> {
    return { snapshotId: await snapshotCreate(await this.host(), req, this.opts(o, 'SnapshotCreate')) };
  }

  async snapshotDelete(vmId: string, snapshotId: string, o?: CallOptions): Promise<TaskRef | undefined> {
    await snapshotDelete(await this.host(), vmId, snapshotId, this.opts(o, 'SnapshotDelete'));
    return undefined;
  }

  async snapshotRevert(vmId: string, snapshotId: string, o?: CallOptions): Promise<TaskRef | undefined> {
    await snapshotRevert(await this.host(), vmId, snapshotId, this.opts(o, 'SnapshotRevert'));
    return undefined;
  }

  async clone(req: CloneRequest, o?: CallOptions): Promise<{ targetVmId: string; task?: TaskRef }> {
    const host = await this.host();
    return { targetVmId: await cloneDomain(host, req, this.domainType(host), this.opts(o, 'Clone')) };
  }

  async imagePrepare(req: ImagePrepareRequest, o?: CallOptions): Promise<ImagePrepareResponse> {
    const host = await this.host();
    const vo = this.opts(o, 'ImagePrepare');
    let spec: { source?: { libvirt?: Record<string, string>; http?: Record<string, string> }; prepare?: { onMissing?: string; validateChecksum?: boolean } };
    try {
      spec = JSON.parse(req.imageJson || '{}');
    } catch {
      throw new ProviderError('InvalidSpec', 'imageJson is not JSON', 'ImagePrepare');
    }
    const lv = spec.source?.libvirt ?? {};
    const http = spec.source?.http ?? {};
    const url = lv.url || http.url;
    if (!lv.path && !url) throw new ProviderError('InvalidSpec', 'ImagePrepare: the VMImage needs source.libvirt.path or a URL', 'ImagePrepare');
    if (!req.targetName) throw new ProviderError('InvalidSpec', 'ImagePrepare: target name required', 'ImagePrepare');
    await host.pool.ensure(vo);
    const onMissing = spec.prepare?.onMissing ?? 'Import';
    // Fail or Wait: no download; the image must be in the pool already, or (a path) the file must exist to be taken in.
    if (onMissing !== 'Import' && url && !(await host.pool.info(targetVolume(req.targetName), vo))) {
      throw new ProviderError('NotFound', `ImagePrepare: volume "${targetVolume(req.targetName)}" is not in pool ${host.pool.name} and spec.prepare.onMissing is ${onMissing}: not downloading ${url}`, 'ImagePrepare');
    }
    const checksum = spec.prepare?.validateChecksum === false ? '' : lv.checksum || http.checksum;
    const img = await prepareImage(host.pool, {
      path: lv.path, url, format: lv.format, checksum, checksumType: lv.checksumType || http.checksumType,
    }, { ...vo, remote: host.remote, targetName: req.targetName, policy: this.options.hostPolicy ?? DEFAULT_HOST_POLICY }).catch((err: unknown) => {
      // A path under the image roots that is not there (yet): what Wait waits for, what Fail fails on.
      if (onMissing !== 'Import' && err instanceof ProviderError && / does not exist$/.test(err.message)) throw new ProviderError('NotFound', err.message, 'ImagePrepare');
      throw err;
    });
    if (!img) throw new ProviderError('InvalidSpec', 'ImagePrepare: nothing to prepare', 'ImagePrepare');
    // The id is what Create finds by name in the pool: the imported volume; a remote path's own volume is used by path.
    return { preparedImageId: img.volume === targetVolume(req.targetName) ? img.volume : '', preparedImagePath: img.path };
  }

  async getCapabilities(): Promise<Capabilities> {
    return LIBVIRT_CAPABILITIES;
  }

  async exportDisk(): Promise<ExportDiskResponse> {
    throw new ProviderError('Unimplemented', 'libvirt provider: disk export is not implemented', 'ExportDisk');
  }

  async importDisk(): Promise<ImportDiskResponse> {
    throw new ProviderError('Unimplemented', 'libvirt provider: disk import is not implemented (use a VMImage url)', 'ImportDisk');
  }

  async getDiskInfo(vmId: string, diskId: string, _snapshotId: string, o?: CallOptions): Promise<DiskInfo> {
    const host = await this.host();
    const vo = this.opts(o, 'GetDiskInfo');
    const uuid = await host.mustExist(vmId, vo);
    const info = await host.info(uuid, vo);
    const d = info.disks.find((x) => x.target === diskId || x.path === diskId || x.path.endsWith(`/${diskId}`)) ?? (diskId ? undefined : info.disks[0]);
    if (!d) throw new ProviderError('NotFound', `disk ${diskId} not found on ${vmId}`, 'GetDiskInfo');
    const vol = await host.pool.info(d.path, vo).catch(() => undefined);
    const snaps = (await host.virsh.run(['snapshot-list', uuid, '--name'], vo)).split('\n').map((s) => s.trim()).filter(Boolean);
    return {
      diskId: d.target, format: vol?.format ?? d.format, virtualSizeBytes: vol?.capacity ?? 0, actualSizeBytes: vol?.allocation ?? 0,
      path: d.path, isBootable: d.target === 'vda', snapshots: snaps, backingFile: vol?.backing ?? d.backing ?? '', metadata: { pool: host.pool.name },
    };
  }

  async listVMs(o?: CallOptions): Promise<VMInfo[]> {
    const host = await this.host();
    const vo = this.opts(o, 'ListVMs');
    const out: VMInfo[] = [];
    for (const { uuid } of await host.domains(vo)) {
      const [d, info] = await Promise.all([this.describe(uuid, o), host.info(uuid, { ...vo, inactive: true }).catch(() => undefined)]);
      if (!d.exists || !info) continue;
      out.push({
        id: uuid, name: info.name, powerState: d.powerState, ips: d.ips, cpu: info.vcpus, memoryMiB: info.memoryMiB,
        disks: info.disks.filter((x) => x.device === 'disk').map((x) => ({ id: x.target, path: x.path, sizeGiB: 0, format: x.format })),
        networks: info.nics.map((n) => ({ name: n.network || n.bridge, mac: n.mac, ipAddress: '' })),
        providerRaw: { managed: String(info.metadata.volumes.length > 0 || info.metadata.tags.length > 0), state: String(d.providerRaw.state ?? '') },
        ...(info.metadata.uid ? { uid: info.metadata.uid } : {}),
      });
    }
    return out;
  }

  async close(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    if (conn) await (await conn.catch(() => undefined))?.c.dispose();
  }
}
