/**
 * RemoteProvider: the Provider interface over gRPC to a provider pod
 * (`provider.v1.Provider`), with the manager's call options: wait for the
 * channel to be ready, per-RPC deadlines, status -> category mapping and a
 * per-client circuit breaker.
 */
import * as grpc from '@grpc/grpc-js';
import {
  ProviderError, type CallOptions, type Capabilities, type CloneRequest, type CreateRequest, type CreateResponse,
  type Description, type DiskInfo, type ExportDiskRequest, type ExportDiskResponse, type ImagePrepareRequest,
  type ImagePrepareResponse, type ImportDiskRequest, type ImportDiskResponse, type PowerOp, type Provider,
  type SnapshotCreateRequest, type TaskRef, type TaskStatus, type VMInfo, type VMPayload,
} from '../provider';
import {
  capabilitiesFromWire, createToWire, describeFromWire, diskInfoFromWire, exportToWire, importToWire, powerOpToWire,
  taskFromWire, vmInfoFromWire, type Wire,
} from './codec';
import { CircuitBreaker, fromServiceError, type CircuitBreakerOptions } from './errors';
import { desiredJson } from './payload';
import { loadProtos, RPC_TIMEOUTS_MS, type RpcName } from './proto';
import { clientCredentials, type ClientTls } from './tls';

export interface RemoteProviderOptions {
  /** host:port of the provider pod, e.g. `virtrigaud-provider-ns-p.ns.svc.cluster.local:9443`. */
  readonly address: string;
  readonly tls: ClientTls;
  /** Per-RPC deadline overrides (defaults: §15.2). A call's own timeoutMs wins. */
  readonly timeoutsMs?: Partial<Record<RpcName, number>>;
  /** Breaker settings, or false to disable it. */
  readonly circuitBreaker?: CircuitBreakerOptions | false;
  /** Extra channel options (tests). */
  readonly channelOptions?: grpc.ChannelOptions;
}

export class RemoteProvider implements Provider {
  readonly breaker?: CircuitBreaker;
  private readonly client: grpc.Client;
  private readonly timeouts: Record<RpcName, number>;

  constructor(readonly options: RemoteProviderOptions) {
    const { providerService } = loadProtos();
    const { credentials, options: tlsOptions } = clientCredentials(options.tls);
    this.client = new providerService(options.address, credentials, { ...tlsOptions, ...options.channelOptions });
    this.timeouts = { ...RPC_TIMEOUTS_MS, ...options.timeoutsMs };
    if (options.circuitBreaker !== false) this.breaker = new CircuitBreaker(options.circuitBreaker || {});
  }

  async validate(o?: CallOptions) {
    const r = await this.call('Validate', {}, o);
    return { ok: !!r.ok, message: r.message ?? '' };
  }

  async create(req: CreateRequest, o?: CallOptions): Promise<CreateResponse> {
    const r = await this.call('Create', createToWire(req), o);
    return withTask({ id: String(r.id ?? '') }, r.task);
  }

  async delete(id: string, o?: CallOptions) {
    return taskFromWire((await this.call('Delete', { id }, o)).task);
  }

  async power(id: string, op: PowerOp, gracefulTimeoutSeconds: number, o?: CallOptions) {
    const req = { id, op: powerOpToWire(op), graceful_timeout_seconds: gracefulTimeoutSeconds };
    return taskFromWire((await this.call('Power', req, o)).task);
  }

  async reconfigure(id: string, desired: VMPayload, o?: CallOptions) {
    return taskFromWire((await this.call('Reconfigure', { id, desired_json: desiredJson(desired) }, o)).task);
  }

  async hardwareUpgrade(id: string, targetVersion: number, o?: CallOptions) {
    return taskFromWire((await this.call('HardwareUpgrade', { id, target_version: targetVersion }, o)).task);
  }

  async describe(id: string, o?: CallOptions): Promise<Description> {
    return describeFromWire(await this.call('Describe', { id }, o));
  }

  async taskStatus(task: TaskRef, o?: CallOptions): Promise<TaskStatus> {
    const r = await this.call('TaskStatus', { task: { id: task.id } }, o);
    return r.error ? { done: !!r.done, error: String(r.error) } : { done: !!r.done };
  }

  async snapshotCreate(req: SnapshotCreateRequest, o?: CallOptions) {
    const w = { vm_id: req.vmId, name_hint: req.nameHint, include_memory: req.includeMemory, description: req.description };
    const r = await this.call('SnapshotCreate', w, o);
    return withTask({ snapshotId: String(r.snapshot_id ?? '') }, r.task);
  }

  async snapshotDelete(vmId: string, snapshotId: string, o?: CallOptions) {
    return taskFromWire((await this.call('SnapshotDelete', { vm_id: vmId, snapshot_id: snapshotId }, o)).task);
  }

  async snapshotRevert(vmId: string, snapshotId: string, o?: CallOptions) {
    return taskFromWire((await this.call('SnapshotRevert', { vm_id: vmId, snapshot_id: snapshotId }, o)).task);
  }

  async clone(req: CloneRequest, o?: CallOptions) {
    const w = {
      source_vm_id: req.sourceVmId, target_name: req.targetName, linked: req.linked,
      class_json: req.classJson, placement_json: req.placementJson, customize_json: req.customizeJson,
    };
    const r = await this.call('Clone', w, o);
    return withTask({ targetVmId: String(r.target_vm_id ?? '') }, r.task);
  }

  async imagePrepare(req: ImagePrepareRequest, o?: CallOptions): Promise<ImagePrepareResponse> {
    const w = { image_json: req.imageJson, target_name: req.targetName, storage_hint: req.storageHint };
    const r = await this.call('ImagePrepare', w, o);
    return withTask({ preparedImageId: r.prepared_image_id ?? '', preparedImagePath: r.prepared_image_path ?? '' }, r.task);
  }

  async getCapabilities(o?: CallOptions): Promise<Capabilities> {
    return capabilitiesFromWire(await this.call('GetCapabilities', {}, o));
  }

  async exportDisk(req: ExportDiskRequest, o?: CallOptions): Promise<ExportDiskResponse> {
    const r = await this.call('ExportDisk', exportToWire(req), o);
    return withTask({ exportId: r.export_id ?? '', estimatedSizeBytes: Number(r.estimated_size_bytes ?? 0), checksum: r.checksum ?? '' }, r.task);
  }

  async importDisk(req: ImportDiskRequest, o?: CallOptions): Promise<ImportDiskResponse> {
    const r = await this.call('ImportDisk', importToWire(req), o);
    return withTask(
      { diskId: r.disk_id ?? '', path: r.path ?? '', actualSizeBytes: Number(r.actual_size_bytes ?? 0), checksum: r.checksum ?? '' },
      r.task,
    );
  }

  async getDiskInfo(vmId: string, diskId: string, snapshotId: string, o?: CallOptions): Promise<DiskInfo> {
    return diskInfoFromWire(await this.call('GetDiskInfo', { vm_id: vmId, disk_id: diskId, snapshot_id: snapshotId }, o));
  }

  async listVMs(o?: CallOptions): Promise<VMInfo[]> {
    return ((await this.call('ListVMs', {}, o)).vms ?? []).map(vmInfoFromWire);
  }

  async close(): Promise<void> {
    this.client.close();
  }

  /** One unary call, through the breaker, with a deadline and waitForReady. */
  private async call(rpc: RpcName, req: Wire, o?: CallOptions): Promise<Wire> {
    if (o?.signal?.aborted) throw new ProviderError('Retryable', `${rpc}: cancelled`, rpc);
    this.breaker?.before(rpc);
    try {
      const res = await this.unary(rpc, req, o);
      this.breaker?.after(undefined);
      return res;
    } catch (e) {
      this.breaker?.after(e);
      throw e;
    }
  }

  private unary(rpc: RpcName, req: Wire, o?: CallOptions): Promise<Wire> {
    const timeoutMs = o?.timeoutMs ?? this.timeouts[rpc];
    return new Promise((resolve, reject) => {
      const method = (this.client as unknown as Record<string, (...args: unknown[]) => grpc.ClientUnaryCall>)[rpc]!;
      const onAbort = () => call.cancel();
      // grpc-js takes wait-for-ready from the metadata options, not the call options.
      const md = new grpc.Metadata();
      md.setOptions({ waitForReady: true });
      const call: grpc.ClientUnaryCall = method.call(
        this.client, req, md, { deadline: Date.now() + timeoutMs },
        (err: grpc.ServiceError | null, res: Wire) => {
          o?.signal?.removeEventListener('abort', onAbort);
          if (!err) return resolve(res);
          if (o?.signal?.aborted) return reject(new ProviderError('Retryable', `${rpc}: cancelled`, rpc));
          reject(fromServiceError(rpc, this.options.address, err, this.connectHint(err)));
        },
      );
      o?.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * waitForReady turns a refused connection into a deadline; say so, since
   * the usual causes are a TLS mismatch (plaintext vs mTLS, wrong CA or
   * server name) or an unreachable address.
   */
  private connectHint(err: grpc.ServiceError): string | undefined {
    if (err.code !== grpc.status.DEADLINE_EXCEEDED) return undefined;
    const state = this.client.getChannel().getConnectivityState(false);
    if (state === grpc.connectivityState.READY) return undefined;
    const mode = this.options.tls.mode === 'plaintext' ? 'plaintext' : `mTLS, server name ${JSON.stringify(this.options.tls.serverName)}`;
    return `no connection to ${this.options.address} could be established (channel ${grpc.connectivityState[state]}; ${mode}): ` +
      'check the address, whether the server expects TLS, the CA, the client certificate and the server name';
  }
}

function withTask<T extends object>(out: T, task: Wire | null | undefined): T & { task?: TaskRef } {
  const t = taskFromWire(task);
  return t ? { ...out, task: t } : out;
}
