/**
 * The Provider interface: every operation of VirtRigaud's remote provider
 * protocol (`provider.v1.Provider`, ../shared/spec §15) as a TypeScript
 * interface. In-process providers implement it directly; the gRPC client
 * (src/providers/remote) implements it by calling a provider pod.
 *
 * The JSON payloads that travel inside string fields on the wire (class,
 * image, networks, disks, placement) keep the wire's key spelling (the Go
 * field names, PascalCase) so that the gRPC client is a plain pass-through
 * and a TypeScript provider sees exactly what a Go provider would.
 */

/** An asynchronous provider operation, polled with {@link Provider.taskStatus}. */
export interface TaskRef {
  readonly id: string;
}

/** Power operations (`PowerOp` on the wire, without `POWER_OP_UNSPECIFIED`). */
export type PowerOp = 'On' | 'Off' | 'Reboot' | 'ShutdownGraceful';

/** `class_json`: built from a VMClass (units converted, see §14.2 VM-9). */
export interface ClassPayload {
  CPU: number;
  MemoryMiB: number;
  Firmware: string;
  DiskDefaults: { Type: string; SizeGiB: number } | null;
  GuestToolsPolicy: string;
  ExtraConfig: Record<string, string> | null;
  PerformanceProfile: Record<string, unknown> | null;
  SecurityProfile: Record<string, unknown> | null;
  ResourceLimits: Record<string, unknown> | null;
}

/** `image_json`: where the boot disk comes from. */
export interface ImagePayload {
  TemplateName: string;
  Path: string;
  URL: string;
  Format: string;
  Checksum: string;
  ChecksumType: string;
  /** Proxmox: `false` makes a linked clone of the template (VMImage `source.proxmox.fullClone`); absent: PVE's default. */
  FullClone?: boolean;
  /** Proxmox: storage for the clone's disks (VMImage `source.proxmox.storage`). */
  Storage?: string;
}

/** One element of `networks_json`. */
export interface NetworkPayload {
  Name: string;
  Portgroup: string;
  NetworkName: string;
  Bridge: string;
  VLAN: number;
  Model: string;
  MacAddress: string;
  IPPolicy: string;
  StaticIP: string;
  Prefix: number;
  Gateway: string;
  DNS: string;
  PCISlotNumber: number | null;
  /** Inbound (to the guest) cap in bit/s, from VMNetworkAttachment `qos.ingressLimit`; absent: none. */
  IngressLimit?: number;
  /** Outbound cap in bit/s, from `qos.egressLimit`; absent: none. */
  EgressLimit?: number;
  /** Proxmox: PVE's firewall on the NIC (VMNetworkAttachment `network.proxmox.firewall`). */
  Firewall?: boolean;
  /** Proxmox: the NIC's `rate` in MB/s (`network.proxmox.rateLimit`). */
  RateLimit?: number;
  /** Proxmox: the NIC's MTU (`network.proxmox.mtu`). */
  MTU?: number;
}

/** One element of `disks_json`. */
export interface DiskPayload {
  SizeGiB: number;
  Type: string;
  Name: string;
}

/** `placement_json`. */
export interface PlacementPayload {
  Datastore: string;
  StoragePod: string;
  Cluster: string;
  Folder: string;
  Host: string;
  /** vSphere resource pool path within the cluster (`spec.placement.resourcePool`); absent: the Provider's default. */
  ResourcePool?: string;
}

/** The whole create payload (`ReconfigureRequest.desired_json`). */
export interface VMPayload {
  Name: string;
  Class: ClassPayload;
  Image: ImagePayload;
  Networks: NetworkPayload[];
  Disks: DiskPayload[];
  UserData: { CloudInitData: string; Type: 'cloud-init' | 'ignition' } | null;
  MetaData: { MetaDataYAML: string } | null;
  Placement: PlacementPayload | null;
  Tags: string[];
}

export interface CreateRequest {
  readonly name: string;
  /**
   * The VirtualMachine's `metadata.uid`: the VM's identity. Every provider
   * stores it with the hypervisor VM and reports it back in
   * {@link Description.uid} and {@link VMInfo.uid}, so the reconciler finds
   * a VM by uid (crash recovery, finalizer) and never adopts one with another
   * uid. On the wire it travels as the tag {@link UID_TAG_PREFIX}`<uid>`.
   */
  readonly uid?: string;
  readonly class: ClassPayload;
  readonly image: ImagePayload;
  readonly networks: readonly NetworkPayload[];
  readonly disks: readonly DiskPayload[];
  /** Absent when the VM has no `spec.placement`. */
  readonly placement?: PlacementPayload;
  readonly tags: readonly string[];
  /** Rendered cloud-init user-data, or an Ignition config when {@link userDataFormat} says so. */
  readonly userData?: string;
  /**
   * `ignition`: `userData` is an Ignition config (Fedora CoreOS, Flatcar, RHCOS) and goes where Ignition
   * reads it (QEMU fw_cfg `opt/com.coreos/config`, vSphere `guestinfo.ignition.config.data`), not into a
   * cloud-init seed. Absent: cloud-init. Over the wire: the tag {@link USER_DATA_FORMAT_TAG}`ignition`.
   */
  readonly userDataFormat?: 'ignition';
  /** cloud-init meta-data YAML. */
  readonly metaData?: string;
}

export interface CreateResponse {
  /** The provider's VM id (recorded in `status.id` before anything else). */
  readonly id: string;
  /** Present when the create continues asynchronously. */
  readonly task?: TaskRef;
}

export interface Description {
  /** False when the provider does not know the id. */
  readonly exists: boolean;
  /** `On` or `Off` (providers map suspended/paused/unknown to `Off`). */
  readonly powerState: string;
  readonly ips: readonly string[];
  readonly consoleURL: string;
  /** Provider-specific details; values are stringified into `status.provider`. */
  readonly providerRaw: Readonly<Record<string, unknown>>;
  /** Observed vCPUs and memory, when the provider knows them (not on the wire). */
  readonly cpu?: number;
  readonly memoryMiB?: number;
  /** The uid the VM was created with ({@link CreateRequest.uid}); absent for VMs created without one. */
  readonly uid?: string;
}

export interface TaskStatus {
  readonly done: boolean;
  /** Non-empty when the task failed (terminal). */
  readonly error?: string;
}

export interface SnapshotCreateRequest {
  readonly vmId: string;
  readonly nameHint: string;
  readonly includeMemory: boolean;
  readonly description: string;
}

export interface CloneRequest {
  readonly sourceVmId: string;
  readonly targetName: string;
  readonly linked: boolean;
  readonly classJson: string;
  readonly placementJson: string;
  readonly customizeJson: string;
}

export interface ImagePrepareRequest {
  /** JSON of the VMImage spec (CRD keys). */
  readonly imageJson: string;
  readonly targetName: string;
  readonly storageHint: string;
}

export interface ImagePrepareResponse {
  readonly task?: TaskRef;
  readonly preparedImageId: string;
  readonly preparedImagePath: string;
}

export interface DiskTransferRequest {
  readonly url: string;
  readonly format: string;
  readonly credentials: Readonly<Record<string, string>>;
  readonly backendType: string;
  readonly transferMode: string;
  readonly storageOptionsJson: string;
}

export interface ExportDiskRequest extends DiskTransferRequest {
  readonly vmId: string;
  readonly diskId: string;
  readonly snapshotId: string;
  readonly compress: boolean;
}

export interface ExportDiskResponse {
  readonly exportId: string;
  readonly task?: TaskRef;
  readonly estimatedSizeBytes: number;
  readonly checksum: string;
}

export interface ImportDiskRequest extends DiskTransferRequest {
  readonly storageHint: string;
  readonly targetName: string;
  readonly verifyChecksum: boolean;
  readonly expectedChecksum: string;
}

export interface ImportDiskResponse {
  readonly diskId: string;
  readonly path: string;
  readonly task?: TaskRef;
  readonly actualSizeBytes: number;
  readonly checksum: string;
}

export interface DiskInfo {
  readonly diskId: string;
  readonly format: string;
  readonly virtualSizeBytes: number;
  readonly actualSizeBytes: number;
  readonly path: string;
  readonly isBootable: boolean;
  readonly snapshots: readonly string[];
  readonly backingFile: string;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface VMInfo {
  readonly id: string;
  readonly name: string;
  readonly powerState: string;
  readonly ips: readonly string[];
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly disks: readonly { id: string; path: string; sizeGiB: number; format: string }[];
  readonly networks: readonly { name: string; mac: string; ipAddress: string }[];
  readonly providerRaw: Readonly<Record<string, string>>;
  /** The uid the VM was created with ({@link CreateRequest.uid}); absent for VMs created without one. */
  readonly uid?: string;
}

/**
 * How the VM uid travels over the remote protocol, which has no field for
 * it: as one more element of `CreateRequest.tags`, and back as the
 * `provider_raw` key {@link UID_RAW_KEY} of Describe and VMInfo.
 */
export const UID_TAG_PREFIX = 'virtrigaud.io/uid=';
/** The tag that carries {@link CreateRequest.userDataFormat} over the wire (reserved like the uid tag). */
export const USER_DATA_FORMAT_TAG = 'virtrigaud.io/user-data-format=';
export const UID_RAW_KEY = 'virtrigaud.io/uid';

/** `GetCapabilitiesResponse`, in the key spelling of Provider `status.reportedCapabilities`. */
export interface Capabilities {
  readonly supportsReconfigureOnline: boolean;
  readonly supportsDiskExpansionOnline: boolean;
  readonly supportsSnapshots: boolean;
  readonly supportsMemorySnapshots: boolean;
  readonly supportsLinkedClones: boolean;
  readonly supportsImageImport: boolean;
  readonly supportedDiskTypes: readonly string[];
  readonly supportedNetworkTypes: readonly string[];
  readonly supportsDiskExport: boolean;
  readonly supportsDiskImport: boolean;
  readonly supportedExportFormats: readonly string[];
  readonly supportedImportFormats: readonly string[];
  readonly supportsExportCompression: boolean;
  readonly supportedExportBackends: readonly string[];
  readonly supportedImportBackends: readonly string[];
  readonly supportedTransferModes: readonly string[];
}

/** Options every call accepts: cancellation and a deadline. */
export interface CallOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/**
 * One hypervisor endpoint. Every method may reject with a
 * {@link ProviderError}; anything else is treated as retryable.
 * Operations that return a task may complete later: poll it.
 */
export interface Provider {
  validate(o?: CallOptions): Promise<{ ok: boolean; message: string }>;
  create(req: CreateRequest, o?: CallOptions): Promise<CreateResponse>;
  delete(id: string, o?: CallOptions): Promise<TaskRef | undefined>;
  power(id: string, op: PowerOp, gracefulTimeoutSeconds: number, o?: CallOptions): Promise<TaskRef | undefined>;
  reconfigure(id: string, desired: VMPayload, o?: CallOptions): Promise<TaskRef | undefined>;
  hardwareUpgrade(id: string, targetVersion: number, o?: CallOptions): Promise<TaskRef | undefined>;
  describe(id: string, o?: CallOptions): Promise<Description>;
  taskStatus(task: TaskRef, o?: CallOptions): Promise<TaskStatus>;
  snapshotCreate(req: SnapshotCreateRequest, o?: CallOptions): Promise<{ snapshotId: string; task?: TaskRef }>;
  snapshotDelete(vmId: string, snapshotId: string, o?: CallOptions): Promise<TaskRef | undefined>;
  snapshotRevert(vmId: string, snapshotId: string, o?: CallOptions): Promise<TaskRef | undefined>;
  clone(req: CloneRequest, o?: CallOptions): Promise<{ targetVmId: string; task?: TaskRef }>;
  imagePrepare(req: ImagePrepareRequest, o?: CallOptions): Promise<ImagePrepareResponse>;
  getCapabilities(o?: CallOptions): Promise<Capabilities>;
  exportDisk(req: ExportDiskRequest, o?: CallOptions): Promise<ExportDiskResponse>;
  importDisk(req: ImportDiskRequest, o?: CallOptions): Promise<ImportDiskResponse>;
  getDiskInfo(vmId: string, diskId: string, snapshotId: string, o?: CallOptions): Promise<DiskInfo>;
  listVMs(o?: CallOptions): Promise<VMInfo[]>;
  /**
   * Runs a command in the guest (lifecycle `exec` hooks). Not part of the
   * wire protocol: only in-process providers that can reach the guest
   * implement it.
   */
  guestExec?(id: string, command: readonly string[], o?: CallOptions): Promise<{ exitCode: number; output: string }>;
  /** Releases connections. */
  close(): Promise<void>;
}

/**
 * Error categories, following the manager's gRPC mapping (§14.4):
 * NotFound (the VM or snapshot is gone), InvalidSpec (retrying will not
 * help until the spec changes), Retryable (transient: unavailable,
 * deadline), Unimplemented, Unauthenticated (credentials refused),
 * Internal (anything else).
 */
export type ProviderErrorCategory = 'NotFound' | 'InvalidSpec' | 'Retryable' | 'Unimplemented' | 'Unauthenticated' | 'Internal';

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    readonly category: ProviderErrorCategory,
    message: string,
    /** The operation that failed, e.g. `Create`. */
    readonly operation?: string,
  ) {
    super(message);
  }
}

export function isProviderError(e: unknown, category?: ProviderErrorCategory): e is ProviderError {
  return e instanceof ProviderError && (category === undefined || e.category === category);
}

/** The wire name of each power operation (`PowerOp` enum, §15.3). */
export const POWER_OP_WIRE: Readonly<Record<PowerOp, { name: string; number: number }>> = {
  On: { name: 'POWER_OP_ON', number: 1 },
  Off: { name: 'POWER_OP_OFF', number: 2 },
  Reboot: { name: 'POWER_OP_REBOOT', number: 3 },
  ShutdownGraceful: { name: 'POWER_OP_SHUTDOWN_GRACEFUL', number: 4 },
};

/** Capabilities of a provider that supports nothing optional. */
export const NO_CAPABILITIES: Capabilities = {
  supportsReconfigureOnline: false,
  supportsDiskExpansionOnline: false,
  supportsSnapshots: false,
  supportsMemorySnapshots: false,
  supportsLinkedClones: false,
  supportsImageImport: false,
  supportedDiskTypes: [],
  supportedNetworkTypes: [],
  supportsDiskExport: false,
  supportsDiskImport: false,
  supportedExportFormats: [],
  supportedImportFormats: [],
  supportsExportCompression: false,
  supportedExportBackends: [],
  supportedImportBackends: [],
  supportedTransferModes: [],
};
