/**
 * Create (clone a template into the placement, configured from the class,
 * or deploy a content library item and configure it the same way) and
 * Clone (full or linked copy of a VM). Both wait for the clone (deploy):
 * the new VM's moref, which becomes `status.id`, exists only when it is
 * done. The VM uid goes into the clone (configure) spec as extraConfig
 * UID_KEY, so the VM carries it from its first moment. Create is not
 * idempotent by name: a VM of that name in the target folder is refused
 * (InvalidSpec) and left alone; a retried create finds its VM by uid.
 */
import { ProviderError, type ClassPayload, type CloneRequest, type CreateRequest, type CreateResponse, type TaskRef } from '../provider';
import { cloneUid, plainTags, requestUid } from '../uid';
import { cloneClassSize } from '../clone-class';
import { CLONED_FROM_KEY, DISK_KEY_PREFIX, MANAGED_KEY, UID_KEY, classExtraConfig, configSpec, firmwareOf, guestinfo, requireSize } from './config';
import { customizationSpec } from './customize';
import { addDisk, addNic, growDisk, isDisk, isNic, removeDevice, scsiSlots, type Device, type NicBacking } from './devices';
import type { DatastoreChoice, Inventory, Placement } from './inventory';
import { deployLibraryItem, findLibraryItem } from './library';
import { parseLibraryRef, type LibraryItemRef } from './library-ref';
import { isFault, moRef, ref, retrieveOne, waitTask, type CallOpts, type MoRef, type VimClient, type XmlNode } from './soap';
import type { VapiClient } from './vapi';
import { readVm, type VmState } from './vm';

export interface Ctx {
  readonly c: VimClient;
  /** vAPI REST, for content library items. */
  readonly vapi: VapiClient;
  readonly inv: Inventory;
  readonly defaults: Readonly<Record<string, string>>;
}

/** Placement with Provider defaults; datastore precedence as in §14.3: placement datastore > placement storagePod > defaults.storagePod > defaults.datastore. */
export function placementOf(req: CreateRequest, d: Readonly<Record<string, string>>): Placement {
  const p = req.placement;
  const [datastore, storagePod] = p?.Datastore ? [p.Datastore, '']
    : p?.StoragePod ? ['', p.StoragePod]
      : d.storagePod ? ['', d.storagePod]
        : [d.datastore ?? '', ''];
  return {
    datastore, storagePod,
    cluster: p?.Cluster || d.cluster || '',
    folder: p?.Folder || d.folder || '',
    host: p?.Host || '',
    resourcePool: p?.ResourcePool || d.resourcePool || '',
  };
}

/** The refusal of a second VM of one name (what the other providers answer too). */
function nameTaken(name: string, vm: MoRef): ProviderError {
  return new ProviderError('InvalidSpec', `Create: a VM named ${JSON.stringify(name)} already exists (id ${vm.value})`, 'Create');
}

export async function createVm(x: Ctx, given: CreateRequest, o?: CallOpts): Promise<CreateResponse> {
  if (!given.name) throw new ProviderError('InvalidSpec', 'Create: name is required', 'Create');
  requireSize('Create', given.class.CPU, given.class.MemoryMiB);
  // The uid checked; the reserved uid tag never among the tags we record.
  const req: CreateRequest = { ...given, uid: requestUid(given), tags: plainTags(given.tags) };
  const place = placementOf(req, x.defaults);
  const folder = await x.inv.folder(place.folder, o);
  const lib = libraryRefOf(req.image.TemplateName);
  const existing = await x.inv.vmInFolder(folder, req.name, o);
  if (existing) throw nameTaken(req.name, existing);
  if (lib) return createFromLibrary(x, req, lib, folder, place, o);

  const template = await findTemplate(x, req, o);
  const { pool, host } = await x.inv.compute(place, o);
  const ds = await x.inv.datastore(place, o);
  const config = await vmConfig(x, req, template.devices, ds, o);
  const location: XmlNode = { ...(ds ? { datastore: ref(ds.datastore) } : {}), pool: ref(pool), ...(host ? { host: ref(host) } : {}) };
  const customization = customizationSpec(req);
  const task = await cloneTask(x, template.ref, folder, req.name, { location, template: 'false', config, ...(customization ? { customization } : {}), powerOn: 'false' }, o);
  try {
    const vm = moRef(await waitTask(x.c, task, 'Create', o));
    if (!vm) throw new ProviderError('Internal', `Create: clone task ${task.value} returned no VM`, 'Create');
    return { id: vm.value, task: (await finishClone(x, vm, req.class, o)) ?? { id: task.value } };
  } catch (e) {
    // Another create of that name got there first: its VM, not ours.
    const other = isFault(e, 'DuplicateName') ? await x.inv.vmInFolder(folder, req.name, o) : undefined;
    if (other) throw nameTaken(req.name, other);
    throw e;
  }
}

/**
 * The VirtualMachineConfigSpec of a new VM from the class, networks, disks
 * and cloud-init, against the devices of its source (the template for a
 * clone, the deployed VM for a content library item).
 */
async function vmConfig(x: Ctx, req: CreateRequest, devices: readonly Device[], ds: DatastoreChoice | undefined, o?: CallOpts): Promise<XmlNode> {
  const deviceChange: XmlNode[] = [];
  // The uid last: no class key overrides it; empty removes one the template (or library item) carried.
  const extra: Record<string, string> = {
    ...classExtraConfig(req.class, 'Create'), ...guestinfo(req.name, req.userData, req.metaData, req.userDataFormat), [MANAGED_KEY]: 'true', [UID_KEY]: req.uid ?? '',
  };

  // NICs: the VM's networks replace the template's.
  const nets = req.networks.length ? req.networks.map((n) => ({ name: n.Portgroup || n.NetworkName, model: n.Model, mac: n.MacAddress }))
    : x.defaults.network ? [{ name: x.defaults.network, model: '', mac: '' }] : [];
  if (nets.length) {
    for (const nic of devices.filter(isNic)) deviceChange.push(removeDevice(nic));
    let key = -100;
    for (const n of nets) {
      if (!n.name) throw new ProviderError('InvalidSpec', 'Create: a network has neither a portgroup nor a network name', 'Create');
      deviceChange.push(addNic(key--, n.model, await nicBacking(x, n.name, o), n.mac));
    }
  }
  // Data disks are added and remembered by name (the boot disk grows after the clone, see below).
  if (req.disks.length) {
    const slots = scsiSlots(devices);
    let key = -200;
    for (const d of req.disks) {
      if (!(d.SizeGiB > 0)) throw new ProviderError('InvalidSpec', `Create: disk ${JSON.stringify(d.Name)} needs a size`, 'Create');
      const unit = slots.next();
      deviceChange.push(addDisk(key--, slots.controllerKey, unit, d.SizeGiB, d.Type || req.class.DiskDefaults?.Type || 'thin', ds?.datastore));
      extra[`${DISK_KEY_PREFIX}${d.Name || `disk${unit}`}`] = `${slots.controllerKey}:${unit}`;
    }
  }
  return configSpec({
    cpu: req.class.CPU, memoryMiB: req.class.MemoryMiB, cls: req.class, deviceChange, extraConfig: extra,
    annotation: `Managed by virtrigaud${req.tags.length ? ` (tags: ${req.tags.join(', ')})` : ''}`,
  });
}

function libraryRefOf(templateName: string): LibraryItemRef | undefined {
  try {
    return parseLibraryRef(templateName);
  } catch (e) {
    throw new ProviderError('InvalidSpec', `Create: image ${(e as Error).message}`, 'Create');
  }
}

/** Content library item: deploy it powered off (vAPI REST), then configure it like a clone. */
async function createFromLibrary(x: Ctx, req: CreateRequest, r: LibraryItemRef, folder: MoRef, place: Placement, o?: CallOpts): Promise<CreateResponse> {
  const item = await findLibraryItem(x.vapi, r, o);
  const { pool, host } = await x.inv.compute(place, o);
  const ds = await x.inv.datastore(place, o);
  let id: string;
  try {
    id = await deployLibraryItem(x.vapi, item, { name: req.name, folder, pool, host, datastore: ds?.datastore }, o);
  } catch (e) {
    // Another create of that name deployed first (vCenter: duplicate name): its VM, not ours.
    const other = await x.inv.vmInFolder(folder, req.name, o).catch(() => undefined);
    if (other) throw nameTaken(req.name, other);
    throw e;
  }
  const vm: MoRef = { type: 'VirtualMachine', value: id };
  try {
    return await configureDeployed(x, req, vm, pool, host, ds, o);
  } catch (e) {
    // The uid arrives with the configure step: a deployed VM without it would be nobody's and block the name. Remove it.
    const got = await readVm(x.c, id, o).catch(() => undefined);
    if (got && !got.extraConfig[UID_KEY]) {
      const t = moRef(await x.c.call('Destroy_Task', vm, {}, o).catch(() => undefined));
      if (t) await waitTask(x.c, t, 'Create', o).catch(() => undefined);
    }
    throw e;
  }
}

async function configureDeployed(x: Ctx, req: CreateRequest, vm: MoRef, pool: MoRef, host: MoRef | undefined, ds: DatastoreChoice | undefined, o?: CallOpts): Promise<CreateResponse> {
  let got = await readVm(x.c, vm.value, o);
  if (got.template) {
    // vcsim's VM-template deploy leaves a template (its clone sets template=true); vCenter never does.
    await x.c.call('MarkAsVirtualMachine', vm, { pool: ref(pool), ...(host ? { host: ref(host) } : {}) }, o);
    got = await readVm(x.c, vm.value, o);
  }
  const spec = await vmConfig(x, req, got.devices, ds, o);
  const task = moRef(await x.c.call('ReconfigVM_Task', vm, { spec }, o));
  if (task) await waitTask(x.c, task, 'Create', o);
  // A deployed item has no clone spec to carry the customization: it is set on the (powered-off) VM instead.
  const customization = customizationSpec(req);
  if (customization) {
    const t = moRef(await x.c.call('CustomizeVM_Task', vm, { spec: customization }, o));
    if (t) await waitTask(x.c, t, 'Create', o);
  }
  const rest = await finishClone(x, vm, req.class, o);
  return { id: vm.value, ...(rest ? { task: rest } : task ? { task: { id: task.value } } : {}) };
}

/**
 * Converges what the clone spec asked for but the server left out: the
 * boot disk grows to DiskDefaults.SizeGiB once the clone has its own disk
 * files (an edit in the clone spec would name the template's), and
 * firmware and hot-add are checked again (vcsim, for one, ignores them on
 * clone). On vCenter usually only the disk remains; nothing left: no task.
 */
async function finishClone(x: Ctx, vm: MoRef, cls: ClassPayload, o?: CallOpts): Promise<TaskRef | undefined> {
  const got = await readVm(x.c, vm.value, o);
  const spec: XmlNode = {};
  const perf = cls.PerformanceProfile ?? {};
  const want = (v: unknown, have: boolean) => (typeof v === 'boolean' && v !== have ? String(v) : undefined);
  const mem = want(perf.MemoryHotAddEnabled, got.memoryHotAdd);
  const cpu = want(perf.CPUHotAddEnabled, got.cpuHotAdd);
  if (mem) spec.memoryHotAddEnabled = mem;
  if (cpu) spec.cpuHotAddEnabled = cpu;
  const boot = got.devices.find(isDisk);
  const bootGiB = cls.DiskDefaults?.SizeGiB ?? 0;
  if (boot && bootGiB * 1024 * 1024 > (boot.capacityKB ?? 0)) spec.deviceChange = growDisk(boot, bootGiB);
  const fw = firmwareOf(cls.Firmware);
  if (fw && fw !== got.firmware) spec.firmware = fw;
  if (!Object.keys(spec).length) return undefined;
  const t = moRef(await x.c.call('ReconfigVM_Task', vm, { spec }, o));
  return t ? { id: t.value } : undefined;
}

async function findTemplate(x: Ctx, req: CreateRequest, o?: CallOpts): Promise<VmState> {
  const name = req.image.TemplateName;
  if (!name) {
    if (req.image.URL) throw new ProviderError('Unimplemented', 'Create: deploying from an OVA/OVF URL is not implemented; use a VM template (VMImage source.vsphere.templateName) or a content library item (source.vsphere.contentLibrary)', 'Create');
    throw new ProviderError('InvalidSpec', 'Create: the image names no template or content library item (VMImage source.vsphere.templateName or contentLibrary)', 'Create');
  }
  const found = await x.inv.vmsNamed(name, o);
  if (!found.length) throw new ProviderError('InvalidSpec', `Create: template ${JSON.stringify(name)} not found`, 'Create');
  const states = await Promise.all(found.map((r) => readVm(x.c, r.value, o)));
  return states.find((s) => s.template) ?? states[0]!;
}

async function nicBacking(x: Ctx, name: string, o?: CallOpts): Promise<NicBacking> {
  const net = await x.inv.network(name, o);
  if (net.type === 'DistributedVirtualPortgroup') return { kind: 'dvportgroup', ...(await x.inv.dvPortgroup(net, o)) };
  if (net.type === 'OpaqueNetwork') return { kind: 'opaque', network: net };
  return { kind: 'network', name, network: net };
}

/** VirtualMachineCloneSpec in WSDL order: location, template, config, customization, powerOn, snapshot. */
async function cloneTask(x: Ctx, source: MoRef, folder: MoRef, name: string, spec: XmlNode, o?: CallOpts): Promise<MoRef> {
  const task = moRef(await x.c.call('CloneVM_Task', source, { folder: ref(folder), name, spec }, o));
  if (!task) throw new ProviderError('Internal', 'CloneVM_Task returned no task', 'Clone');
  return task;
}

export async function cloneVm(x: Ctx, req: CloneRequest, o?: CallOpts): Promise<{ targetVmId: string; task?: TaskRef }> {
  const src = await readVm(x.c, req.sourceVmId, o);
  if (!req.targetName) throw new ProviderError('InvalidSpec', 'Clone: target name is required', 'Clone');
  const parent = moRef((await retrieveOne(x.c, src.ref, ['parent'], o)).parent);
  if (!parent) throw new ProviderError('Internal', `Clone: VM ${src.ref.value} has no folder`, 'Clone');
  const existing = await x.inv.vmInFolder(parent, req.targetName, o);
  if (existing) {
    const vm = await readVm(x.c, existing.value, o);
    if (vm.extraConfig[CLONED_FROM_KEY] === src.ref.value) return { targetVmId: existing.value };
    throw new ProviderError('InvalidSpec', `Clone: a VM named ${JSON.stringify(req.targetName)} already exists`, 'Clone');
  }
  const size = cloneClassSize(req.classJson);
  if (size.cpu !== undefined || size.memoryMiB !== undefined) requireSize('Clone', size.cpu ?? src.cpu ?? 1, size.memoryMiB ?? src.memoryMiB ?? 4);
  // vSphere copies the source's extraConfig, uid included: replace it (empty removes it) by the one customize_json names, if any.
  const uid = cloneUid(req.customizeJson);
  let snapshot: MoRef | undefined;
  if (req.linked) snapshot = src.currentSnapshot ? { type: 'VirtualMachineSnapshot', value: src.currentSnapshot } : await baseSnapshot(x, src.ref, o);
  const location: XmlNode = req.linked ? { diskMoveType: 'createNewChildDiskBacking' } : {};
  const config = configSpec({ ...size, extraConfig: { [CLONED_FROM_KEY]: src.ref.value, [MANAGED_KEY]: 'true', [UID_KEY]: uid ?? '' } });
  const spec: XmlNode = { location, template: 'false', config, powerOn: 'false', ...(snapshot ? { snapshot: ref(snapshot) } : {}) };
  const task = await cloneTask(x, src.ref, parent, req.targetName, spec, o);
  const vm = moRef(await waitTask(x.c, task, 'Clone', o));
  if (!vm) throw new ProviderError('Internal', `Clone: task ${task.value} returned no VM`, 'Clone');
  return { targetVmId: vm.value, task: { id: task.value } };
}

/** A linked clone needs a snapshot to hang its delta disks on. */
async function baseSnapshot(x: Ctx, vm: MoRef, o?: CallOpts): Promise<MoRef> {
  const task = moRef(await x.c.call('CreateSnapshot_Task', vm, { name: 'virtrigaud-linked-clone-base', description: 'base of linked clones', memory: 'false', quiesce: 'false' }, o));
  const snap = task && moRef(await waitTask(x.c, task, 'Clone', o));
  if (!snap) throw new ProviderError('Internal', 'Clone: no snapshot for the linked clone', 'Clone');
  return snap;
}

