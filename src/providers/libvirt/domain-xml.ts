/**
 * Domain XML: built from a {@link DomainSpec} (pure, unit-tested) and read
 * back from `virsh dumpxml` into a {@link DomainInfo}. What we must remember
 * about a domain (its uid, volumes, tags, changes pending a power cycle) lives
 * in its `<metadata>` under our namespace, so nothing is kept in this process.
 */
import { child, children, escapeXml as x, parseXml, textAt, type XmlNode } from './xml';

export const METADATA_NS = 'https://virtrigaud.io/xmlns/libvirt/1';
export const METADATA_KEY = 'virtrigaud';

export interface DiskSpec {
  readonly path: string;
  readonly format: string;
  /** Guest device name (vda, vdb, sda ...). */
  readonly target: string;
  readonly bus: 'virtio' | 'sata' | 'scsi' | 'ide';
  readonly device: 'disk' | 'cdrom';
  readonly readonly?: boolean;
}

export interface NicSpec {
  readonly network?: string;
  readonly bridge?: string;
  readonly model: string;
  readonly mac?: string;
  /** Average rate to the guest, kilobytes (1000 bytes) per second, as libvirt's `<bandwidth>` reads it. */
  readonly inboundKBps?: number;
  /** Average rate from the guest, kilobytes per second. */
  readonly outboundKBps?: number;
}

/** Our bookkeeping, stored in the domain's `<metadata>`. */
export interface VmMetadata {
  /** The VirtualMachine's metadata.uid (CreateRequest.uid): the VM's identity. Absent for domains created without one. */
  readonly uid?: string;
  /** Pool volumes this VM owns (deleted with it). */
  readonly volumes: readonly string[];
  readonly tags: readonly string[];
  /** E.g. `cpu 2→4 at next power cycle`; empty when live and persistent config agree. */
  readonly pending?: string;
  readonly image?: string;
  readonly ignoredExtraConfig?: readonly string[];
}

export interface DomainSpec {
  readonly name: string;
  readonly domainType: 'kvm' | 'qemu';
  readonly vcpus: number;
  readonly maxVcpus: number;
  readonly memoryMiB: number;
  readonly maxMemoryMiB: number;
  readonly firmware: 'bios' | 'uefi';
  readonly secureBoot?: boolean;
  readonly machine?: string;
  readonly cpuMode?: string;
  readonly graphics: boolean;
  readonly disks: readonly DiskSpec[];
  readonly nics: readonly NicSpec[];
  readonly metadata: VmMetadata;
  /** A file on the host QEMU gives the guest as fw_cfg `opt/com.coreos/config` (where Ignition reads its config). */
  readonly ignitionFile?: string;
}

export function metadataXml(m: VmMetadata): string {
  const list = (tag: string, items: readonly string[]) => items.map((v) => `<vr:${tag}>${x(v)}</vr:${tag}>`).join('');
  return `<vr:vm xmlns:vr="${METADATA_NS}">`
    + (m.uid ? `<vr:uid>${x(m.uid)}</vr:uid>` : '')
    + `<vr:volumes>${list('volume', m.volumes)}</vr:volumes>`
    + `<vr:tags>${list('tag', m.tags)}</vr:tags>`
    + (m.pending ? `<vr:pending>${x(m.pending)}</vr:pending>` : '')
    + (m.image ? `<vr:image>${x(m.image)}</vr:image>` : '')
    + (m.ignoredExtraConfig?.length ? `<vr:ignoredExtraConfig>${list('key', m.ignoredExtraConfig)}</vr:ignoredExtraConfig>` : '')
    + '</vr:vm>';
}

function diskXml(d: DiskSpec): string {
  return `<disk type='file' device='${d.device}'>`
    + `<driver name='qemu' type='${x(d.format)}'/>`
    + `<source file='${x(d.path)}'/>`
    + `<target dev='${x(d.target)}' bus='${d.bus}'/>`
    + (d.readonly ? '<readonly/>' : '')
    + '</disk>';
}

function nicXml(n: NicSpec): string {
  const src = n.bridge ? `<source bridge='${x(n.bridge)}'/>` : `<source network='${x(n.network ?? 'default')}'/>`;
  return `<interface type='${n.bridge ? 'bridge' : 'network'}'>${src}`
    + (n.mac ? `<mac address='${x(n.mac)}'/>` : '')
    + `<model type='${x(n.model)}'/>`
    + (n.inboundKBps || n.outboundKBps
      ? `<bandwidth>${n.inboundKBps ? `<inbound average='${n.inboundKBps}'/>` : ''}${n.outboundKBps ? `<outbound average='${n.outboundKBps}'/>` : ''}</bandwidth>`
      : '')
    + '</interface>';
}

function osXml(s: DomainSpec): string {
  const type = `<type arch='x86_64' machine='${x(s.machine ?? (s.secureBoot ? 'q35' : 'pc'))}'>hvm</type>`;
  if (s.firmware === 'bios') return `<os>${type}<boot dev='hd'/></os>`;
  // libvirt picks OVMF from the firmware descriptors (/usr/share/qemu/firmware).
  const sb = s.secureBoot ? 'yes' : 'no';
  return `<os firmware='efi'>${type}<firmware><feature enabled='${sb}' name='secure-boot'/><feature enabled='${sb}' name='enrolled-keys'/></firmware><boot dev='hd'/></os>`;
}

export function buildDomainXml(s: DomainSpec): string {
  return [
    `<domain type='${s.domainType}'>`,
    `<name>${x(s.name)}</name>`,
    `<metadata>${metadataXml(s.metadata)}</metadata>`,
    `<memory unit='MiB'>${s.maxMemoryMiB}</memory>`,
    `<currentMemory unit='MiB'>${s.memoryMiB}</currentMemory>`,
    `<vcpu placement='static' current='${s.vcpus}'>${s.maxVcpus}</vcpu>`,
    s.ignitionFile ? `<sysinfo type='fwcfg'><entry name='opt/com.coreos/config' file='${x(s.ignitionFile)}'/></sysinfo>` : '',
    osXml(s),
    `<features><acpi/><apic/>${s.secureBoot ? "<smm state='on'/>" : ''}</features>`,
    s.cpuMode ? `<cpu mode='${x(s.cpuMode)}'/>` : '',
    '<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>',
    '<devices>',
    ...s.disks.map(diskXml),
    ...s.nics.map(nicXml),
    "<serial type='pty'><target port='0'/></serial><console type='pty'><target type='serial' port='0'/></console>",
    // The guest agent channel: IPs and guest exec when the image runs qemu-guest-agent.
    "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>",
    s.graphics ? "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>" : '',
    "<memballoon model='virtio'/>",
    '</devices>',
    '</domain>',
  ].join('\n');
}

/** What we read back from `virsh dumpxml`. */
export interface DomainInfo {
  readonly name: string;
  readonly uuid: string;
  readonly vcpus: number;
  readonly maxVcpus: number;
  readonly memoryMiB: number;
  readonly maxMemoryMiB: number;
  readonly firmware: 'bios' | 'uefi';
  readonly disks: readonly { device: string; path: string; format: string; target: string; backing?: string }[];
  readonly nics: readonly { mac: string; network: string; bridge: string; model: string }[];
  readonly vncPort?: number;
  readonly vncListen?: string;
  readonly metadata: VmMetadata;
}

function kib(n: XmlNode | undefined): number {
  if (!n) return 0;
  const v = Number(n.text.trim());
  const unit = (n.attrs.unit ?? 'KiB').toLowerCase();
  const factor: Record<string, number> = { b: 1 / 1024, bytes: 1 / 1024, k: 1, kib: 1, kb: 1000 / 1024, m: 1024, mib: 1024, mb: 1e6 / 1024, g: 1024 ** 2, gib: 1024 ** 2, gb: 1e9 / 1024 };
  return v * (factor[unit] ?? 1);
}

export function readMetadata(dom: XmlNode): VmMetadata {
  const vm = child(dom, 'metadata')?.children.find((c) => c.name.endsWith(':vm') || c.name === 'vm');
  const items = (path: string) => {
    const parts = path.split('/');
    let cur: XmlNode | undefined = vm;
    for (const p of parts.slice(0, -1)) cur = cur?.children.find((c) => c.name.endsWith(`:${p}`) || c.name === p);
    const last = parts[parts.length - 1]!;
    return (cur?.children ?? []).filter((c) => c.name.endsWith(`:${last}`) || c.name === last).map((c) => c.text.trim());
  };
  const one = (name: string) => items(name)[0] || undefined;
  const ignored = items('ignoredExtraConfig/key');
  return {
    ...(one('uid') ? { uid: one('uid') } : {}),
    volumes: items('volumes/volume'), tags: items('tags/tag'),
    ...(one('pending') ? { pending: one('pending') } : {}),
    ...(one('image') ? { image: one('image') } : {}),
    ...(ignored.length ? { ignoredExtraConfig: ignored } : {}),
  };
}

export function parseDomainXml(doc: string): DomainInfo {
  const dom = parseXml(doc);
  const vcpu = child(dom, 'vcpu');
  const maxVcpus = Number(vcpu?.text.trim() ?? 0);
  const os = child(dom, 'os');
  const uefi = os?.attrs.firmware === 'efi' || !!child(os, 'loader') && /OVMF|edk2|efi/i.test(textAt(os, 'loader') ?? '');
  const vnc = children(dom, 'devices/graphics').find((g) => g.attrs.type === 'vnc');
  return {
    name: textAt(dom, 'name') ?? '',
    uuid: textAt(dom, 'uuid') ?? '',
    maxVcpus,
    vcpus: vcpu?.attrs.current ? Number(vcpu.attrs.current) : maxVcpus,
    maxMemoryMiB: Math.round(kib(child(dom, 'memory')) / 1024),
    memoryMiB: Math.round(kib(child(dom, 'currentMemory') ?? child(dom, 'memory')) / 1024),
    firmware: uefi ? 'uefi' : 'bios',
    disks: children(dom, 'devices/disk').map((d) => ({
      device: d.attrs.device ?? 'disk',
      path: child(d, 'source')?.attrs.file ?? '',
      format: child(d, 'driver')?.attrs.type ?? '',
      target: child(d, 'target')?.attrs.dev ?? '',
      ...(child(d, 'backingStore/source')?.attrs.file ? { backing: child(d, 'backingStore/source')!.attrs.file } : {}),
    })),
    nics: children(dom, 'devices/interface').map((n) => ({
      mac: child(n, 'mac')?.attrs.address ?? '',
      network: child(n, 'source')?.attrs.network ?? '',
      bridge: child(n, 'source')?.attrs.bridge ?? '',
      model: child(n, 'model')?.attrs.type ?? '',
    })),
    ...(vnc?.attrs.port && vnc.attrs.port !== '-1' ? { vncPort: Number(vnc.attrs.port) } : {}),
    ...(vnc ? { vncListen: vnc.attrs.listen ?? child(vnc, 'listen')?.attrs.address ?? '127.0.0.1' } : {}),
    metadata: readMetadata(dom),
  };
}
