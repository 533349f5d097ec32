/**
 * What a VMClone asks for, decided before anything is done: which of its
 * fields nothing here applies (refused, so a clone never half-honours its
 * spec), and the VirtualMachine it produces.
 *
 * Two ways to a new VM:
 * - `source.vmRef`: the provider's Clone RPC copies the source VM's disks;
 *   the new VirtualMachine is created first (adopted: its reconciler never
 *   creates it) so its uid can travel in `customize_json` and mark the
 *   provider VM as its own, then bound by setting `status.id`.
 * - `source.imageRef`: a new VM created from the VMImage by the
 *   VirtualMachine reconciler (a "clone" of the image).
 */
import type { VirtualMachine, VirtualMachineSpec } from '../../generated/virtual-machine';
import type { VMClone } from '../../generated/vm-clone';
import { API_VERSION } from '../kinds';
import { ANNOTATIONS } from '../vm/context';

export const CLONE_ANNOTATIONS = {
  /** The source: `VirtualMachine/<name>` or `VMImage/<name>`. */
  clonedFrom: 'virtrigaud.io/cloned-from',
  /** The VMClone that made the VM. */
  clone: 'virtrigaud.io/clone',
} as const;

export type CloneType = 'FullClone' | 'LinkedClone';

/** `options.type`; InstantClone is a full clone (no provider here forks a running VM's memory). */
export function cloneType(clone: VMClone): CloneType {
  return clone.spec?.options?.type === 'LinkedClone' ? 'LinkedClone' : 'FullClone';
}

export type SourceKind = 'vm' | 'image' | 'snapshot' | 'template';

export function sourceKind(clone: VMClone): SourceKind | undefined {
  const s = clone.spec?.source;
  if (s?.vmRef) return 'vm';
  if (s?.imageRef) return 'image';
  if (s?.snapshotRef) return 'snapshot';
  if (s?.templateRef) return 'template';
  return undefined;
}

export interface Refusal {
  /** Condition reason (UnsupportedSource, CrossNamespace, Unsupported, TargetExists, ...). */
  readonly reason: string;
  readonly message: string;
}

const GUEST_CUSTOMIZATION = ['certificates', 'domain', 'guestCommands', 'hostname', 'networks', 'sysprep', 'timeZone'] as const;

/**
 * The first reason this clone cannot be carried out as written, or undefined.
 * Checked before any side effect; a refused clone ends Failed.
 */
export function refusal(clone: VMClone): Refusal | undefined {
  const ns = clone.metadata?.namespace ?? '';
  const spec = clone.spec;
  const kind = sourceKind(clone);
  if (kind === 'snapshot') {
    return { reason: 'UnsupportedSource', message: 'spec.source.snapshotRef: Unsupported value: the provider protocol clones a VM as it is now, not a snapshot of it; revert a VM to the snapshot (spec.snapshot.revertToRef) and clone that, or clone the VM (spec.source.vmRef)' };
  }
  if (kind === 'template') {
    return { reason: 'UnsupportedSource', message: 'spec.source.templateRef: Unsupported value: templates are VMImages here; use spec.source.imageRef with a VMImage whose source names the template (source.vsphere.templateName, source.libvirt.path, source.proxmox.templateID)' };
  }
  if (!kind) return { reason: 'UnsupportedSource', message: 'spec.source: Required value: one of vmRef or imageRef' };
  // A tenant's VMClone makes VMs in its own namespace only, from objects in its own namespace.
  if (spec?.target?.namespace && spec.target.namespace !== ns) {
    return { reason: 'CrossNamespace', message: `spec.target.namespace: Forbidden: a VMClone creates its VM in its own namespace (${ns}), not in ${spec.target.namespace}` };
  }
  if (spec?.source?.imageRef?.namespace && spec.source.imageRef.namespace !== ns) {
    return { reason: 'CrossNamespace', message: `spec.source.imageRef.namespace: Forbidden: the VMImage must be in the VMClone's namespace (${ns})` };
  }
  const unsupported: string[] = [];
  const c = spec?.customization ?? {};
  for (const f of GUEST_CUSTOMIZATION) {
    const v = (c as Record<string, unknown>)[f];
    if (v !== undefined && !(Array.isArray(v) && v.length === 0)) unsupported.push(`spec.customization.${f}: Unsupported value: no provider customizes a clone's guest (use spec.source.imageRef with cloud-init in spec.customization.userData)`);
  }
  const o = spec?.options ?? {};
  if (o.includeSnapshots) unsupported.push('spec.options.includeSnapshots: Unsupported value: snapshots are not copied to a clone');
  if (o.parallel) unsupported.push('spec.options.parallel: Unsupported value: the provider copies the disks as it does');
  const perf = o.performance;
  if (perf && (perf.ioThrottling || perf.maxIOPS !== undefined || (perf.priority ?? 'Normal') !== 'Normal' || (perf.concurrentDisks ?? 2) !== 2)) {
    unsupported.push('spec.options.performance: Unsupported value: no provider takes I/O limits, priorities or disk concurrency for a clone');
  }
  const st = o.storage;
  if (st && (st.datastore || st.folder || st.storageClass || st.diskFormat || st.enableCompression || st.preferThinProvisioning === false)) {
    unsupported.push('spec.options.storage: Unsupported value: a clone\'s disks go where its provider puts the source\'s (for vSphere placement use spec.target.placementRef)');
  }
  if (kind === 'vm') {
    if (c.userData?.cloudInit || c.userData?.ignition) unsupported.push('spec.customization.userData: Unsupported value: a clone boots a copy of the source\'s disk, past its first boot; user data is delivered when a VM is created (use spec.source.imageRef)');
    if (spec?.target?.disks?.length) unsupported.push('spec.target.disks: Unsupported value: a clone has the source\'s disks; more cannot be added to it yet');
  }
  if (kind === 'image') {
    if (cloneType(clone) === 'LinkedClone') unsupported.push('spec.options.type: Unsupported value: "LinkedClone": a VM from an image is created from it (for Proxmox linked clones set the VMImage\'s source.proxmox.fullClone false)');
    if (!spec?.target?.classRef) unsupported.push('spec.target.classRef: Required value: a VM made from an image needs a VMClass');
    if (!spec?.target?.providerRef) unsupported.push('spec.target.providerRef: Required value: a VM made from an image needs a Provider');
  }
  return unsupported.length ? { reason: 'Unsupported', message: unsupported.join('; ') } : undefined;
}

/** The refusal of a vmRef clone whose target asks for something the copy cannot have (checked once the source is known). */
export function targetRefusal(clone: VMClone, source: VirtualMachine, sourceProviderKey: string): Refusal | undefined {
  const ns = clone.metadata?.namespace ?? '';
  const t = clone.spec?.target;
  const wanted = t?.providerRef ? `${t.providerRef.namespace || ns}/${t.providerRef.name}` : undefined;
  if (wanted && wanted !== sourceProviderKey) {
    return { reason: 'Unsupported', message: `spec.target.providerRef: Unsupported value: "${wanted}": a clone stays on its source's Provider (${sourceProviderKey}); moving a VM between Providers is a VMMigration` };
  }
  if (t?.networks?.length && JSON.stringify(t.networks) !== JSON.stringify(source.spec?.networks ?? [])) {
    return { reason: 'Unsupported', message: 'spec.target.networks: Unsupported value: a clone has the source\'s network interfaces; leave target.networks empty or equal to the source\'s' };
  }
  return undefined;
}

/** The VirtualMachine a clone produces, in the clone's namespace. */
export function targetVm(clone: VMClone, source: VirtualMachine | undefined): VirtualMachine {
  const ns = clone.metadata!.namespace!;
  const spec = clone.spec!;
  const t = spec.target;
  const fromImage = !!spec.source.imageRef;
  const base: Partial<VirtualMachineSpec> = fromImage ? {} : structuredClone(source?.spec ?? {});
  // The source's revert request (spec.snapshot) names its own snapshots: a copy does not inherit it.
  delete base.snapshot;
  const tags = [...new Set([...(base.tags ?? []), ...(spec.customization?.tags ?? [])])];
  const vmSpec: VirtualMachineSpec = {
    ...base,
    providerRef: (t.providerRef ?? base.providerRef)!,
    classRef: t.classRef ?? base.classRef!,
    ...(fromImage ? { imageRef: { name: spec.source.imageRef!.name } } : {}),
    ...(t.networks?.length ? { networks: structuredClone(t.networks) } : {}),
    ...(fromImage && t.disks?.length ? { disks: structuredClone(t.disks) } : {}),
    ...(t.placementRef ? { placementRef: { name: t.placementRef.name } } : {}),
    ...(fromImage && spec.customization?.userData ? { userData: structuredClone(spec.customization.userData) } : {}),
    ...(tags.length ? { tags } : {}),
    powerState: spec.options?.powerOn ? 'On' : 'Off',
  } as VirtualMachineSpec;
  const from = fromImage ? `VMImage/${spec.source.imageRef!.name}` : `VirtualMachine/${spec.source.vmRef!.name}`;
  return {
    apiVersion: API_VERSION as VirtualMachine['apiVersion'],
    kind: 'VirtualMachine',
    metadata: {
      name: t.name,
      namespace: ns,
      labels: { ...(t.labels ?? {}), ...(fromImage ? {} : { [ANNOTATIONS.adopted]: 'true' }) },
      annotations: { ...(t.annotations ?? {}), [CLONE_ANNOTATIONS.clonedFrom]: from, [CLONE_ANNOTATIONS.clone]: clone.metadata!.name! },
    },
    spec: vmSpec,
  };
}

/** The VMClass spec a clone asks the provider for (class_json: the VMClass spec with CRD keys), or "" for the source's size. */
export function classJson(classSpec: Record<string, unknown> | undefined): string {
  return classSpec ? JSON.stringify(classSpec) : '';
}
