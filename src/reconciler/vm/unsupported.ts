/**
 * VirtualMachine fields, and fields of the VMNetworkAttachments its NICs use,
 * that the CRD accepts but no provider (or not the VM's) applies yet. A VM
 * that sets one still runs, but says so in condition `Unsupported=True`
 * (reason `FieldNotImplemented`, a Warning Event on the transition) rather
 * than pretending the field took effect.
 */
import type { VirtualMachine } from '../../generated/virtual-machine';
import type { VMNetworkAttachmentSpec } from '../../generated/vm-network-attachment';

/**
 * Provider types that deliver an Ignition config where Ignition reads it (QEMU fw_cfg, vSphere guestinfo,
 * Firecracker MMDS `latest/user-data` as Ignition's EC2-style metadata platforms read it); others get no user data.
 */
export const IGNITION_TYPES = ['libvirt', 'qemu', 'vsphere', 'firecracker'];

const CHECKS: readonly { readonly path: string; readonly set: (vm: VirtualMachine, providerType: string) => boolean; readonly why: string }[] = [
  { path: 'spec.resources.gpu', set: (vm) => !!vm.spec?.resources?.gpu, why: 'GPU passthrough is not implemented by any provider yet' },
  { path: 'spec.userData.ignition', set: (vm, type) => !!vm.spec?.userData?.ignition && !IGNITION_TYPES.includes(type), why: 'Ignition configs are delivered by the libvirt, QEMU, vSphere and Firecracker providers only (use spec.userData.cloudInit)' },
  { path: 'spec.placement.host', set: (vm, type) => !!vm.spec?.placement?.host && type !== 'vsphere', why: 'pinning a VM to a host is applied by the vSphere provider only (libvirt, QEMU and Firecracker Providers are one host; on Proxmox use spec.placement.cluster for the node)' },
  { path: 'spec.placement.resourcePool', set: (vm, type) => !!vm.spec?.placement?.resourcePool && type !== 'vsphere', why: 'resource pools are a vSphere notion, applied by the vSphere provider only' },
];

/** Provider types whose NICs get the attachment's qos rate limits. */
const RATE_LIMITED = ['libvirt', 'firecracker', 'proxmox'];

/** VMNetworkAttachment fields no provider (or not the VM's) applies; `type` is the VM's Provider's spec.type. */
const ATTACHMENT_CHECKS: readonly { readonly path: string; readonly set: (a: VMNetworkAttachmentSpec, type: string) => boolean; readonly why: string }[] = [
  { path: 'spec.security', set: (a) => !!a.security && Object.keys(a.security).length > 0, why: 'no provider applies network security policies (firewall, isolation, encryption) yet' },
  { path: 'spec.qos.dscp', set: (a) => a.qos?.dscp !== undefined, why: 'DSCP marking is not applied by any provider' },
  { path: 'spec.qos.priority', set: (a) => a.qos?.priority !== undefined, why: '802.1p priority is not applied by any provider' },
  {
    path: 'spec.qos.ingressLimit', set: (a, type) => a.qos?.ingressLimit !== undefined && !RATE_LIMITED.includes(type),
    why: 'rate limits are applied by the libvirt, Firecracker and Proxmox providers only',
  },
  {
    path: 'spec.qos.egressLimit', set: (a, type) => a.qos?.egressLimit !== undefined && !RATE_LIMITED.includes(type),
    why: 'rate limits are applied by the libvirt, Firecracker and Proxmox providers only',
  },
  { path: 'spec.ipAllocation.type', set: (a, type) => a.ipAllocation?.type === 'None' && type !== 'libvirt', why: 'type None (no address) is applied by the libvirt provider only; elsewhere the guest keeps DHCP' },
  { path: 'spec.ipAllocation.dhcpConfig', set: (a) => !!a.ipAllocation?.dhcpConfig, why: 'DHCP client options are not delivered to guests' },
  {
    path: 'spec.ipAllocation.dnsConfig', set: (a) => !!(a.ipAllocation?.dnsConfig?.searchDomains?.length || Object.keys(a.ipAllocation?.dnsConfig?.options ?? {}).length),
    why: 'search domains and resolver options are not delivered to guests (dnsConfig.servers is)',
  },
  { path: 'spec.ipAllocation.staticConfig.routes', set: (a) => !!a.ipAllocation?.staticConfig?.routes?.length, why: 'static routes other than the default gateway are not delivered to guests' },
];

/** One `<field path>: Unsupported value: <why>` line per field set that nothing applies (the VM's, then its attachments'). */
export function unsupportedFields(vm: VirtualMachine, attachments: (name: string) => VMNetworkAttachmentSpec | undefined = () => undefined, providerType = ''): string[] {
  const own = CHECKS.filter((c) => c.set(vm, providerType)).map((c) => `${c.path}: Unsupported value: ${c.why}`);
  const names = [...new Set((vm.spec?.networks ?? []).flatMap((n) => (n.networkRef?.name ? [n.networkRef.name] : [])))];
  const theirs = names.flatMap((name) => {
    const a = attachments(name);
    return a ? ATTACHMENT_CHECKS.filter((c) => c.set(a, providerType)).map((c) => `VMNetworkAttachment ${name}: ${c.path}: Unsupported value: ${c.why}`) : [];
  });
  return [...own, ...theirs];
}
