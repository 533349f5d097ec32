/**
 * The provider payloads of a VirtualMachine (§15.5): what `Create` and
 * `Reconfigure` carry, built from the VM and the objects it references.
 * Pure functions, so the exact wire shapes are unit-tested.
 */
import type { VirtualMachine } from '../../generated/virtual-machine';
import type { VMClassSpec } from '../../generated/vm-class';
import type { VMImage } from '../../generated/vm-image';
import type { VMNetworkAttachment } from '../../generated/vm-network-attachment';
import type {
  ClassPayload,
  CreateRequest,
  DiskPayload,
  ImagePayload,
  NetworkPayload,
  PlacementPayload,
  VMPayload,
} from '../../providers/provider';
import { formatLibraryRef } from '../../providers/vsphere/library-ref';
import { quantityToGiB, quantityToMiB } from './quantity';
import type { NicAddress } from '../ipam/nics';

const INT32_MAX = 2147483647;
/** What an importedDisk.diskID may look like to become a file name: no separators, no dot segments. */
const SAFE_DISK_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** VMClass spec → `class_json` (units converted as in §14.2 VM-9). */
export function classPayload(spec: VMClassSpec): ClassPayload {
  const perf = spec.performanceProfile;
  const sec = spec.securityProfile;
  const lim = spec.resourceLimits;
  const mib = (q: number | string | undefined) => (q === undefined ? 0 : Math.min(quantityToMiB(q), INT32_MAX));
  return {
    CPU: spec.cpu,
    MemoryMiB: Math.min(quantityToMiB(spec.memory), INT32_MAX),
    Firmware: spec.firmware ?? '',
    DiskDefaults: spec.diskDefaults
      ? { Type: spec.diskDefaults.type ?? '', SizeGiB: spec.diskDefaults.size === undefined ? 0 : quantityToGiB(spec.diskDefaults.size) }
      : null,
    GuestToolsPolicy: spec.guestToolsPolicy ?? '',
    ExtraConfig: spec.extraConfig ? { ...spec.extraConfig } : null,
    PerformanceProfile: perf
      ? {
          LatencySensitivity: perf.latencySensitivity ?? '',
          CPUHotAddEnabled: perf.cpuHotAddEnabled ?? false,
          MemoryHotAddEnabled: perf.memoryHotAddEnabled ?? false,
          VirtualizationBasedSecurity: perf.virtualizationBasedSecurity ?? false,
          NestedVirtualization: perf.nestedVirtualization ?? false,
          HyperThreadingPolicy: perf.hyperThreadingPolicy ?? '',
        }
      : null,
    SecurityProfile: sec
      ? {
          SecureBoot: sec.secureBoot ?? false,
          TPMEnabled: sec.tpmEnabled ?? false,
          TPMVersion: sec.tpmVersion ?? '',
          VTDEnabled: sec.vtdEnabled ?? false,
          EncryptionEnabled: sec.encryptionPolicy?.enabled ?? false,
          KeyProvider: sec.encryptionPolicy?.keyProvider ?? '',
          RequireEncryption: sec.encryptionPolicy?.requireEncryption ?? false,
        }
      : null,
    ResourceLimits: lim
      ? {
          CPULimit: lim.cpuLimit ?? 0,
          CPUReservation: lim.cpuReservation ?? 0,
          MemoryLimitMiB: mib(lim.memoryLimit),
          MemoryReservationMiB: mib(lim.memoryReservation),
          CPUShares: lim.cpuShares ?? 0,
        }
      : null,
  };
}

/** The boot disk: from the VMImage (template VMs) or `spec.importedDisk` (VM-5, VM-6, VM-10). */
export function imagePayload(vm: VirtualMachine, image: VMImage | undefined): ImagePayload {
  const imported = vm.spec?.importedDisk;
  if (imported) {
    const format = imported.format ?? 'qcow2';
    return {
      TemplateName: '',
      // A diskID is a name, never a path: the provider confines the result to its image roots as well.
      Path: imported.path || (SAFE_DISK_ID.test(imported.diskID ?? '') ? `/var/lib/libvirt/images/${imported.diskID}.${format}` : ''),
      URL: '',
      Format: format,
      Checksum: '',
      ChecksumType: 'sha256',
    };
  }
  const src = image?.spec?.source;
  const out: ImagePayload = { TemplateName: '', Path: '', URL: '', Format: 'template', Checksum: '', ChecksumType: 'sha256' };
  if (!src) return out;
  if (src.vsphere) {
    const cl = src.vsphere.contentLibrary;
    // The wire format has no content-library field: it travels as TemplateName contentlib://<library>/<item>[?version=].
    out.TemplateName = src.vsphere.templateName || (cl ? formatLibraryRef(cl) : '');
    out.URL = src.vsphere.ovaURL ?? '';
    out.Checksum = src.vsphere.checksum ?? '';
    out.ChecksumType = src.vsphere.checksumType ?? out.ChecksumType;
  }
  if (src.libvirt) {
    out.Path = src.libvirt.path ?? '';
    out.URL = src.libvirt.url ?? out.URL;
    if (src.libvirt.format) out.Format = src.libvirt.format;
    out.Checksum = src.libvirt.checksum ?? out.Checksum;
    out.ChecksumType = src.libvirt.checksumType ?? out.ChecksumType;
  }
  if (src.proxmox) {
    // templateID wins over templateName and travels as a string (VM-6).
    out.TemplateName = src.proxmox.templateID !== undefined ? String(src.proxmox.templateID) : (src.proxmox.templateName ?? out.TemplateName);
    if (src.proxmox.fullClone !== undefined) out.FullClone = src.proxmox.fullClone;
    if (src.proxmox.storage) out.Storage = src.proxmox.storage;
    if (src.proxmox.format) out.Format = src.proxmox.format;
  }
  if (src.http) {
    out.URL = out.URL || src.http.url;
    out.Checksum = out.Checksum || (src.http.checksum ?? '');
    out.ChecksumType = src.http.checksumType ?? out.ChecksumType;
  }
  return out;
}

/**
 * The boot disk of a VM whose image the VMImage controller already imported
 * on its libvirt Provider: the prepared volume by name, so the download and
 * the checksum are not done again at create.
 */
export function preparedImagePayload(base: ImagePayload, image: VMImage | undefined, providerType: string | undefined, prepared: { id: string } | undefined): ImagePayload {
  const src = image?.spec?.source;
  const imported = !!(src?.libvirt?.path || src?.libvirt?.url || src?.http?.url);
  if (!prepared?.id || providerType !== 'libvirt' || !imported) return base;
  return { ...base, TemplateName: prepared.id, Path: '', URL: '', Checksum: '' };
}

/**
 * NICs: name and addressing from the VM, backing from the VMNetworkAttachment
 * (vSphere, then libvirt, then Proxmox fields; later blocks overwrite, §6.4).
 */
export function networkPayloads(vm: VirtualMachine, attachments: ReadonlyMap<string, VMNetworkAttachment>, addresses?: ReadonlyMap<string, NicAddress>): NetworkPayload[] {
  return (vm.spec?.networks ?? []).map((nic) => {
    const allocated = addresses?.get(nic.name);
    const out: NetworkPayload = {
      Name: nic.name,
      Portgroup: '',
      NetworkName: '',
      Bridge: '',
      VLAN: 0,
      Model: '',
      MacAddress: nic.macAddress ?? '',
      IPPolicy: allocated ? 'static' : '',
      StaticIP: allocated?.ip ?? nic.ipAddress ?? '',
      Prefix: allocated?.prefix ?? nic.prefix ?? 0,
      Gateway: allocated ? allocated.gateway ?? '' : nic.gateway ?? '',
      DNS: allocated ? allocated.dns.join(',') : nic.dns ?? '',
      PCISlotNumber: null,
    };
    const att = nic.networkRef ? attachments.get(nic.networkRef.name)?.spec : undefined;
    const net = att?.network;
    if (att?.ipAllocation?.type === 'None' && !out.StaticIP) out.IPPolicy = 'none';
    if (att?.qos?.ingressLimit) out.IngressLimit = att.qos.ingressLimit;
    if (att?.qos?.egressLimit) out.EgressLimit = att.qos.egressLimit;
    if (net?.vsphere) {
      out.Portgroup = net.vsphere.portgroup ?? '';
      out.NetworkName = net.vsphere.portgroup ?? '';
      out.VLAN = net.vsphere.vlan?.vlanID ?? 0;
      out.PCISlotNumber = net.vsphere.pciSlotNumber ?? null;
    }
    if (net?.libvirt) {
      if (net.libvirt.networkName) out.NetworkName = net.libvirt.networkName;
      if (net.libvirt.bridge?.name) out.Bridge = net.libvirt.bridge.name;
      if (net.libvirt.model) out.Model = net.libvirt.model;
    }
    if (net?.proxmox) {
      if (net.proxmox.bridge) out.Bridge = net.proxmox.bridge;
      if (net.proxmox.model) out.Model = net.proxmox.model;
      if (net.proxmox.vlanTag !== undefined) out.VLAN = net.proxmox.vlanTag;
      if (net.proxmox.firewall) out.Firewall = true;
      if (net.proxmox.rateLimit !== undefined) out.RateLimit = net.proxmox.rateLimit;
      if (net.proxmox.mtu !== undefined) out.MTU = net.proxmox.mtu;
    }
    return out;
  });
}

export function diskPayloads(vm: VirtualMachine): DiskPayload[] {
  return (vm.spec?.disks ?? []).map((d) => ({ SizeGiB: d.sizeGiB, Type: d.type ?? 'thin', Name: d.name }));
}

/** Absent when the VM has no placement. Unlike VirtRigaud's manager, `Host` and `ResourcePool` are forwarded (vSphere applies them). */
export function placementPayload(vm: VirtualMachine): PlacementPayload | undefined {
  const p = vm.spec?.placement;
  if (!p) return undefined;
  return {
    Datastore: p.datastore ?? '', StoragePod: p.storagePod ?? '', Cluster: p.cluster ?? '', Folder: p.folder ?? '', Host: p.host ?? '',
    ...(p.resourcePool ? { ResourcePool: p.resourcePool } : {}),
  };
}

export interface PayloadInputs {
  readonly vm: VirtualMachine;
  readonly classSpec: VMClassSpec;
  readonly image?: VMImage;
  readonly attachments: ReadonlyMap<string, VMNetworkAttachment>;
  readonly userData?: string;
  readonly metaData?: string;
  /** Namespace of the Provider (see {@link providerVmName}). @default the VM's */
  readonly providerNamespace?: string;
  /** The image as the VMImage controller prepared it on the VM's Provider (see {@link preparedImagePayload}). */
  readonly prepared?: { readonly id: string };
  readonly providerType?: string;
  /** `ignition`: userData is an Ignition config (see CreateRequest.userDataFormat). */
  readonly userDataFormat?: 'ignition';
  /** NIC name → the address the allocator gave it (see src/reconciler/ipam/nics.ts). */
  readonly addresses?: ReadonlyMap<string, NicAddress>;
}

/** The resources the VM should have: per-VM `spec.resources` over the VMClass (VM-8). */
export function desiredResources(vm: VirtualMachine, classSpec: VMClassSpec): { cpu: number; memoryMiB: number } {
  return {
    cpu: vm.spec?.resources?.cpu ?? classSpec.cpu,
    memoryMiB: vm.spec?.resources?.memoryMiB ?? quantityToMiB(classSpec.memory),
  };
}

/**
 * The VM's name on the provider: its own name when the Provider is in the
 * VM's namespace, `<namespace>_<name>` when it is referenced from another
 * namespace. `_` appears in no namespace or object name, so the two forms
 * never collide (`team`/`a-web` and `team-a`/`web` stay apart). Identity
 * does not rest on the name: every VM carries its object's uid.
 */
export function providerVmName(vm: VirtualMachine, providerNamespace: string | undefined): string {
  const ns = vm.metadata?.namespace ?? '';
  const name = vm.metadata?.name ?? '';
  return providerNamespace === undefined || providerNamespace === ns ? name : `${ns}_${name}`;
}

export function createRequest(inputs: PayloadInputs): CreateRequest {
  const { vm } = inputs;
  const cls = classPayload(inputs.classSpec);
  // The per-VM override is what the VM should get, so it goes into the payload too.
  const want = desiredResources(vm, inputs.classSpec);
  return {
    name: providerVmName(vm, inputs.providerNamespace),
    ...(vm.metadata?.uid ? { uid: vm.metadata.uid } : {}),
    class: { ...cls, CPU: want.cpu, MemoryMiB: Math.min(want.memoryMiB, INT32_MAX) },
    image: preparedImagePayload(imagePayload(vm, inputs.image), inputs.image, inputs.providerType, inputs.prepared),
    networks: networkPayloads(vm, inputs.attachments, inputs.addresses),
    disks: diskPayloads(vm),
    ...(vm.spec?.placement ? { placement: placementPayload(vm) } : {}),
    tags: [...(vm.spec?.tags ?? [])],
    ...(inputs.userData !== undefined ? { userData: inputs.userData, ...(inputs.userDataFormat ? { userDataFormat: inputs.userDataFormat } : {}) } : {}),
    ...(inputs.metaData !== undefined ? { metaData: inputs.metaData } : {}),
  };
}

/** `desired_json` of Reconfigure: the whole create payload. */
export function vmPayload(req: CreateRequest): VMPayload {
  return {
    Name: req.name,
    Class: req.class,
    Image: req.image,
    Networks: [...req.networks],
    Disks: [...req.disks],
    UserData: req.userData !== undefined ? { CloudInitData: req.userData, Type: req.userDataFormat ?? 'cloud-init' } : null,
    MetaData: req.metaData !== undefined ? { MetaDataYAML: req.metaData } : null,
    Placement: req.placement ?? null,
    Tags: [...req.tags],
  };
}

const MIME_BOUNDARY = 'VIRTRIGAUD_CLOUD_INIT_BOUNDARY';

/** Inline and Secret user-data together become one MIME multipart document (VM-11). */
export function mergeUserData(inline: string | undefined, fromSecret: string | undefined): string | undefined {
  if (inline === undefined) return fromSecret;
  if (fromSecret === undefined) return inline;
  const part = (body: string) => `--${MIME_BOUNDARY}\r\nContent-Type: text/cloud-config; charset="utf-8"\r\n\r\n${body}\r\n`;
  return `Content-Type: multipart/mixed; boundary="${MIME_BOUNDARY}"\r\nMIME-Version: 1.0\r\n\r\n${part(inline)}${part(fromSecret)}--${MIME_BOUNDARY}--\r\n`;
}
