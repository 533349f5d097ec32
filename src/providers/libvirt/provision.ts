/**
 * Create and delete: volumes (root from the image as an overlay or a full
 * copy, data disks thin or thick, the cloud-init seed ISO), the domain
 * definition, and removal of everything the VM owns.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderError, type CreateRequest } from '../provider';
import { buildSeedIso, networkConfig, stableMac, type HostPolicy } from '../hostutil';
import { plainTags, requestUid } from '../uid';
import { buildDomainXml, type DiskSpec } from './domain-xml';
import type { Host } from './host';
import { prepareImage } from './image';
import { checkName, checkSize, diskTarget, extrasOf, firmwareOf, isThick, nicsOf, type NicPolicy } from './spec';
import type { VirshOptions } from './virsh';

const GiB = 1024 ** 3;

export interface ProvisionOptions {
  readonly domainType: 'kvm' | 'qemu';
  /** Set when this (local) host cannot run KVM guests: why (detectAccel). A VMClass asking for `domainType: kvm` is then refused. */
  readonly kvmUnusable?: string;
  readonly defaultNetwork?: string;
  /** Networks and bridges NICs may use; unset: any (direct library use, not through an operator instance). */
  readonly nicPolicy?: NicPolicy;
  /** Create a blank root disk when the image names nothing usable (tests, PXE). */
  readonly blankRootDisk: boolean;
  readonly startOnCreate: boolean;
  /** The operator's limits on image paths, URLs and files (hostutil/policy.ts). */
  readonly hostPolicy: HostPolicy;
}

export const volumeNames = {
  root: (vm: string) => `${vm}-root.qcow2`,
  disk: (vm: string, disk: string) => `${vm}-disk-${disk}.qcow2`,
  seed: (vm: string) => `${vm}-seed.iso`,
  ignition: (vm: string) => `${vm}-ignition.json`,
};

/**
 * Defines (and starts) the domain; returns its UUID. Not idempotent by name:
 * a domain of that name already there (another VM's, or an earlier
 * attempt's) is refused with InvalidSpec and left alone; the caller finds
 * its own VM by uid (ListVMs).
 */
export async function createDomain(host: Host, req: CreateRequest, opts: ProvisionOptions, o: VirshOptions): Promise<string> {
  const op = 'Create';
  checkName(req.name, op);
  checkSize(req.class.CPU, req.class.MemoryMiB, op);
  const firmware = firmwareOf(req.class, op);
  const { extras, ignored } = extrasOf(req.class, op);
  if (extras.domainType === 'kvm' && opts.kvmUnusable) {
    throw new ProviderError('InvalidSpec', `extraConfig domainType: "kvm": this host cannot run KVM guests (${opts.kvmUnusable})`, op);
  }
  // A network-config (static address, or none) matches NICs by MAC: then each NIC without one gets one, stable
  // per VM object (its uid, unique across hosts) and NIC; otherwise libvirt picks MACs as always.
  const listed = nicsOf(req.networks, opts.defaultNetwork, op, opts.nicPolicy);
  const macs = listed.map((n, i) => n.mac ?? stableMac(req.uid || req.name, i));
  const netConfig = networkConfig(req.networks, macs);
  const nics = netConfig ? listed.map((n, i) => ({ ...n, mac: macs[i]! })) : listed;
  for (const d of req.disks) checkName(`${req.name}-disk-${d.Name}`, op);

  const uid = requestUid(req, op);
  const existing = await host.uuid(req.name, o);
  if (existing) throw new ProviderError('InvalidSpec', `Create: a VM named ${JSON.stringify(req.name)} already exists (id ${existing})`, op);
  const { pool } = host;
  await pool.ensure(o);

  const owned: string[] = [];
  const disks: DiskSpec[] = [];
  const fresh = async (volume: string) => {
    await pool.delete(volume, o); // leftovers of an earlier, failed create
    owned.push(volume);
    return volume;
  };
  let defined = false;
  try {
    // Root disk.
    const img = req.image;
    const image = await prepareImage(pool, {
      path: img.Path, url: img.URL, format: img.Format, checksum: img.Checksum, checksumType: img.ChecksumType, templateName: img.TemplateName,
    }, { ...o, remote: host.remote, operation: op, policy: opts.hostPolicy });
    const dd = req.class.DiskDefaults;
    const rootSize = Math.max((dd?.SizeGiB ?? 0) * GiB, image?.capacity ?? 0) || 10 * GiB;
    const root = await fresh(volumeNames.root(req.name));
    let rootPath: string;
    if (image) {
      if (isThick(dd?.Type)) {
        rootPath = await pool.clone(image.volume, root, o);
        await pool.resize(root, rootSize, o);
      } else {
        rootPath = await pool.overlay(root, image.path, image.format, rootSize, o);
      }
    } else if (opts.blankRootDisk || (!img.Path && !img.URL && !img.TemplateName)) {
      rootPath = await pool.create(root, rootSize, { ...o, thick: isThick(dd?.Type) });
    } else {
      throw new ProviderError('InvalidSpec', `image "${img.TemplateName}" is neither a path, a URL nor a volume in pool ${pool.name}`, op);
    }
    disks.push({ path: rootPath, format: 'qcow2', target: 'vda', bus: 'virtio', device: 'disk' });

    // Data disks.
    for (const [i, d] of req.disks.entries()) {
      if (!(d.SizeGiB > 0)) throw new ProviderError('InvalidSpec', `disk ${d.Name}: size must be positive`, op);
      const vol = await fresh(volumeNames.disk(req.name, d.Name));
      const path = await pool.create(vol, d.SizeGiB * GiB, { ...o, thick: isThick(d.Type) });
      disks.push({ path, format: 'qcow2', target: diskTarget('vd', i + 1), bus: 'virtio', device: 'disk' });
    }

    // Ignition: the config as a pool volume, handed to the guest through fw_cfg (Ignition reads no cloud-init seed).
    let ignitionFile: string | undefined;
    if (req.userDataFormat === 'ignition' && req.userData) {
      const dir = await mkdtemp(join(tmpdir(), 'virtrigaud-ign-'));
      try {
        await writeFile(join(dir, 'config.ign'), req.userData);
        ignitionFile = await pool.upload(await fresh(volumeNames.ignition(req.name)), join(dir, 'config.ign'), o);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }

    // cloud-init NoCloud seed.
    if ((req.userData && !ignitionFile) || req.metaData || netConfig) {
      const dir = await mkdtemp(join(tmpdir(), 'virtrigaud-seed-'));
      try {
        const iso = await buildSeedIso(dir, {
          userData: ignitionFile ? '' : req.userData ?? '',
          metaData: req.metaData || `instance-id: ${req.name}\nlocal-hostname: ${req.name}\n`,
          ...(netConfig ? { networkConfig: netConfig } : {}),
        }, { operation: op });
        const vol = await fresh(volumeNames.seed(req.name));
        const path = await pool.upload(vol, iso, o);
        disks.push({ path, format: 'raw', target: 'sda', bus: 'sata', device: 'cdrom', readonly: true });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }

    const xml = buildDomainXml({
      name: req.name,
      domainType: extras.domainType ?? opts.domainType,
      vcpus: req.class.CPU,
      maxVcpus: Math.max(req.class.CPU, extras.maxVcpus ?? 0),
      memoryMiB: req.class.MemoryMiB,
      maxMemoryMiB: Math.max(req.class.MemoryMiB, extras.maxMemoryMiB ?? 0),
      firmware,
      secureBoot: firmware === 'uefi' && !!(req.class.SecurityProfile as { SecureBoot?: boolean } | null)?.SecureBoot,
      ...(extras.machine ? { machine: extras.machine } : {}),
      ...(extras.cpuMode ? { cpuMode: extras.cpuMode } : {}),
      graphics: extras.graphics ?? true,
      disks, nics, ...(ignitionFile ? { ignitionFile } : {}),
      metadata: { ...(uid ? { uid } : {}), volumes: owned, tags: plainTags(req.tags), ...(image ? { image: image.volume } : {}), ...(ignored.length ? { ignoredExtraConfig: ignored } : {}) },
    });
    await host.virsh.runWithFile(['define', '@file'], xml, { ...o, operation: op });
    defined = true;
    if (opts.startOnCreate) await host.virsh.run(['start', req.name], { ...o, operation: op });
    return await host.mustExist(req.name, o);
  } catch (e) {
    // Nothing half-made stays behind: a refused create leaves no domain and no volumes.
    if (defined) await host.virsh.maybe(['undefine', req.name, '--nvram'], o).catch(() => undefined);
    for (const v of owned) await pool.delete(v, o).catch(() => undefined);
    throw e;
  }
}

/** Stops and undefines the domain, then deletes the volumes it owns. */
export async function deleteDomain(host: Host, id: string, o: VirshOptions): Promise<void> {
  const uuid = await host.uuid(id, o);
  if (!uuid) throw new ProviderError('NotFound', `libvirt domain ${id} not found`, 'Delete');
  const info = await host.info(uuid, { ...o, inactive: true });
  if ((await host.state(uuid, o)).state !== 'shut off') await host.virsh.maybe(['destroy', uuid], o);
  const snaps = (await host.virsh.run(['snapshot-list', uuid, '--name'], o)).split('\n').map((s) => s.trim()).filter(Boolean);
  // Internal snapshots live in the qcow2 files we delete anyway; drop only their metadata.
  for (const s of snaps) await host.virsh.maybe(['snapshot-delete', uuid, s, '--metadata'], o);
  await host.virsh.run(['undefine', uuid, '--managed-save', ...(info.firmware === 'uefi' ? ['--nvram'] : [])], { ...o, operation: 'Delete' });
  const poolVols = new Set(await host.pool.list(o));
  const byPath = await Promise.all(info.disks.map(async (d) => (await host.pool.info(d.path, o).catch(() => undefined))?.name));
  // Disks first (overlays), then other owned volumes (e.g. a linked clone's frozen base).
  const mine = [...new Set([...byPath.filter((v): v is string => !!v && info.metadata.volumes.includes(v)), ...info.metadata.volumes])];
  for (const v of mine) if (poolVols.has(v)) await host.pool.delete(v, o);
}
