/**
 * The reconciler's operator-owned configuration (`virtrigaud run --config
 * FILE`, in the install a ConfigMap in the reconciler's own namespace). It
 * holds every host-level choice: which Provider objects may be served
 * inside the reconciler and with which driver settings, where images may
 * come from, which addresses the host may fetch from. Nothing here can be
 * chosen by a namespaced object; everything is denied unless listed.
 * The defaults are in {@link DEFAULT_CONFIG}; docs/security.md documents
 * each field.
 */

/** Drivers the reconciler can run in process. `memory` is a test double, served only with `testProviders`. */
export const IN_PROCESS_DRIVERS = ['libvirt', 'qemu', 'firecracker', 'vsphere', 'proxmox', 'memory'] as const;
export type InProcessDriver = (typeof IN_PROCESS_DRIVERS)[number];

/** The Provider `spec.type` each driver serves (`memory` serves any type: it is a stand-in for all). */
export const DRIVER_TYPES: Readonly<Record<InProcessDriver, readonly string[] | 'any'>> = {
  libvirt: ['libvirt'],
  qemu: ['qemu'],
  firecracker: ['firecracker'],
  vsphere: ['vsphere'],
  proxmox: ['proxmox'],
  memory: 'any',
};

export interface QemuDriverSettings {
  /** Where VM state (disks, QMP sockets, config) lives. Each instance should have its own. */
  readonly stateDir: string;
  /** The QEMU system emulator. @default first qemu-system-x86_64 on PATH */
  readonly binary?: string;
  /** QEMU's seccomp sandbox. @default true */
  readonly sandbox: boolean;
  /** `none`: no NIC; `user`: a restricted user-mode NIC. @default none */
  readonly nic: 'none' | 'user';
  /**
   * The accelerator: `auto` uses KVM where the host can (vmx/svm, a read-write
   * /dev/kvm, not PVM) and TCG elsewhere; `kvm` requires it (VMs are refused
   * to start, with the reason, where KVM is unusable); `tcg` never uses KVM.
   * @default auto
   */
  readonly accel?: QemuAccelSetting;
}

export const QEMU_ACCEL_SETTINGS = ['auto', 'kvm', 'tcg'] as const;
export type QemuAccelSetting = (typeof QEMU_ACCEL_SETTINGS)[number];

export interface FirecrackerNetworkSettings {
  /** The network name a VMNetworkAttachment (or the payload's NetworkName) gives. */
  readonly name: string;
  /** Per-NIC receive limit (Firecracker rate limiter), bits per second. @default none */
  readonly rxBitsPerSecond?: number;
  /** Per-NIC transmit limit, bits per second. @default none */
  readonly txBitsPerSecond?: number;
}

export interface FirecrackerDriverSettings {
  /** Where microVM state (drive files, API sockets, config, snapshots) and image templates live. Each instance should have its own. */
  readonly stateDir: string;
  /** The firecracker binary. @default FIRECRACKER_BIN, else firecracker on PATH */
  readonly binary?: string;
  /** Network namespace (made by the operator) the Firecracker processes and their taps live in. @default the host's */
  readonly netns?: string;
  /** Networks NICs may attach to (each NIC is a tap the provider names). @default none: a VM with a NIC is refused */
  readonly networks: readonly FirecrackerNetworkSettings[];
  /** SMT in the guest (the vCPU count must then be 1 or even). @default false */
  readonly smt: boolean;
}

export interface LibvirtDriverSettings {
  /** libvirt URIs a Provider's `spec.endpoint` may name (exact match); a Provider naming another is refused. */
  readonly uris: readonly string[];
  /** Storage pools a Provider's `spec.defaults.datastore` may name. @default ["virtrigaud"] (the driver's default pool) */
  readonly pools: readonly string[];
  /** libvirt networks NICs may attach to (VMNetworkAttachment `libvirt.networkName`, `spec.defaults.network`). @default none */
  readonly networks: readonly string[];
  /** Host bridges NICs may attach to (VMNetworkAttachment `libvirt.bridge.name`). @default none */
  readonly bridges: readonly string[];
}

export interface VsphereDriverSettings {
  /** vCenter SDK URLs a Provider's `spec.endpoint` may name (scheme, host, port and path must match; a query such as `?datacenter=` may be added). */
  readonly endpoints: readonly string[];
}

export interface ProxmoxDriverSettings {
  /** PVE API URLs a Provider's `spec.endpoint` may name (scheme, host and port must match; a trailing `/api2/json` is ignored). */
  readonly endpoints: readonly string[];
  /**
   * Nodes VMs may be created on (`spec.placement.cluster`, `spec.defaults.cluster`) and templates read from.
   * Empty: no node may be named; a VM is cloned onto its template's own node (where PVE says the template is).
   * `"*"`: any node of the cluster. @default none (the template's node only)
   */
  readonly nodes: readonly string[];
  /**
   * Storages VMs' disks may be placed on (`spec.defaults.datastore`, `spec.placement.datastore`,
   * VMImage `source.proxmox.storage`); the first listed is used when none is named.
   * Empty: no storage may be named; disks stay on the template's storage. `"*"`: any storage. @default none (the template's)
   */
  readonly storages: readonly string[];
  /**
   * Bridges NICs may attach to (VMNetworkAttachment `proxmox.bridge`, `spec.defaults.network`); the first
   * listed is used when none is named. Explicitly empty: no NIC can be attached. `"*"`: any bridge. @default ["vmbr0"]
   */
  readonly bridges: readonly string[];
}

export interface MemoryDriverSettings {
  /** Keep each Provider's VMs in `<stateDir>/<namespace>-<name>.json` (crash-restart tests). */
  readonly stateDir?: string;
}

/**
 * One in-process provider instance. A Provider object selects it with the
 * annotation `virtrigaud.io/in-process: <name>`; the instance says which
 * driver serves it, with what settings, and for which namespaces.
 */
export interface InProcessInstance {
  readonly name: string;
  readonly driver: InProcessDriver;
  /** Namespaces whose Provider objects may select this instance; `*` means every namespace. */
  readonly namespaces: readonly string[];
  readonly qemu?: QemuDriverSettings;
  readonly firecracker?: FirecrackerDriverSettings;
  readonly libvirt?: LibvirtDriverSettings;
  readonly vsphere?: VsphereDriverSettings;
  readonly proxmox?: ProxmoxDriverSettings;
  readonly memory?: MemoryDriverSettings;
}

/** Where in-process drivers may take images from (see src/providers/hostutil/policy.ts). */
export interface ImageSettings {
  /** Directories local image and disk paths may lie in (after resolving symlinks). @default none */
  readonly roots: readonly string[];
  /** Where downloads land while in progress. @default /var/lib/virtrigaud/tmp */
  readonly tempDir: string;
  /** Largest image accepted (download or local file). @default 50 GiB */
  readonly maxBytes: number;
  /** @default 30 minutes */
  readonly downloadTimeoutMs: number;
  /** Address ranges image URLs may resolve to (CIDRs). @default none: URL sources are refused */
  readonly allowedUrlCidrs: readonly string[];
  /** file:// image URLs (still confined to `roots`). @default false */
  readonly allowFileUrls: boolean;
}

export interface HookSettings {
  /** Ranges `lifecycle.httpGet` may reach besides the VM's own addresses. @default none */
  readonly httpGetAllowedCidrs: readonly string[];
}

/** What rendered provider pods may use (see src/reconciler/provider-runtime/policy.ts). */
export interface ProviderRuntimeSettings {
  /** Image reference prefixes a Provider's `spec.runtime.image` may use. @default the project's provider images */
  readonly allowedImages?: readonly string[];
  /** Honour tolerations, nodeSelector and affinity from the spec. @default false */
  readonly allowScheduling?: boolean;
}

/**
 * One operator-owned address pool. Which ranges guests may be given is a
 * network decision of the operator, so pools live here and a
 * VMNetworkAttachment (`ipAllocation.poolConfig.poolRef.name`) can only
 * name one that is offered to its namespace.
 */
export interface IpPoolSettings {
  /** The name VMNetworkAttachments give in `poolRef.name` (a DNS label). */
  readonly name: string;
  /** The guests' subnet, e.g. 10.20.0.0/24; their prefix length comes from it. */
  readonly cidr: string;
  /** First address handed out. @default the subnet's first host address */
  readonly start?: string;
  /** Last address handed out. @default the subnet's last host address */
  readonly end?: string;
  /** The guests' default gateway; never handed out. @default none */
  readonly gateway?: string;
  /** Resolvers the guests get. @default none */
  readonly dns: readonly string[];
  /** Addresses in the range that are never handed out (routers, reserved hosts). @default none */
  readonly exclude: readonly string[];
  /** Namespaces whose attachments may use the pool; `*` means every namespace. */
  readonly namespaces: readonly string[];
}

/** Address allocation (VMNetworkAttachment `ipAllocation` Static and Pool). */
export interface IpamSettings {
  /**
   * Namespace of the Lease objects that record who holds which address (one
   * per address: its create is the atomic claim). @default the reconciler's
   * namespace ($POD_NAMESPACE, else virtrigaud-system)
   */
  readonly leaseNamespace?: string;
  /** @default none: a Pool attachment is refused */
  readonly pools: readonly IpPoolSettings[];
}

export interface ReconcilerConfig {
  readonly inProcessProviders: readonly InProcessInstance[];
  /** Serve the `memory` driver (tests and demos only). Also the flag --enable-test-providers. @default false */
  readonly testProviders: boolean;
  readonly images: ImageSettings;
  readonly hooks: HookSettings;
  readonly providerRuntime: ProviderRuntimeSettings;
  readonly ipam: IpamSettings;
}

export const CONFIG_API_VERSION = 'config.virtrigaud.io/v1alpha1';
export const CONFIG_KIND = 'ReconcilerConfiguration';

/** Deny by default: no in-process provider, no local image path, no URL source, no hook target but the VM. */
export const DEFAULT_CONFIG: ReconcilerConfig = {
  inProcessProviders: [],
  testProviders: false,
  images: {
    roots: [],
    tempDir: '/var/lib/virtrigaud/tmp',
    maxBytes: 50 * 1024 ** 3,
    downloadTimeoutMs: 30 * 60_000,
    allowedUrlCidrs: [],
    allowFileUrls: false,
  },
  hooks: { httpGetAllowedCidrs: [] },
  providerRuntime: {},
  ipam: { pools: [] },
};
