/**
 * The informers the operator runs, one per kind it reads, with the indexes
 * that map a referenced object (Provider, VMClass, ...) back to the VMs
 * that use it, so creating or changing one wakes exactly those VMs.
 */
import type { Provider as ProviderObject } from '../generated/provider';
import type { VirtualMachine } from '../generated/virtual-machine';
import type { VMClass } from '../generated/vm-class';
import type { VMImage } from '../generated/vm-image';
import type { VMNetworkAttachment } from '../generated/vm-network-attachment';
import type { VMPlacementPolicy } from '../generated/vm-placement-policy';
import type { VMSet } from '../generated/vm-set';
import type { VMSnapshot } from '../generated/vm-snapshot';
import type { VMClone } from '../generated/vm-clone';
import type { ControllerRevision } from './vmset/revisions';
import { SET_LABEL } from './vmset/naming';
import { Kinds, refKey } from './kinds';
import { CoreResources, Informer, type KubeClient, type Logger } from './runtime';

/** What the consent checks read of a Namespace: its labels. */
export interface NamespaceObject {
  readonly metadata?: { readonly name?: string; readonly labels?: Readonly<Record<string, string>> };
}

export interface OperatorInformers {
  readonly vms: Informer<VirtualMachine>;
  readonly providers: Informer<ProviderObject>;
  readonly classes: Informer<VMClass>;
  readonly images: Informer<VMImage>;
  readonly networks: Informer<VMNetworkAttachment>;
  readonly placements: Informer<VMPlacementPolicy>;
  readonly snapshots: Informer<VMSnapshot>;
  readonly vmsets: Informer<VMSet>;
  /** VMClones, indexed by source VM (`vm`) and target VMClass (`class`), so a source getting its provider id or a class appearing wakes its clones. */
  readonly clones: Informer<VMClone>;
  /** apps/v1 ControllerRevisions of VMSets (those with the VMSet label only). */
  readonly revisions: Informer<ControllerRevision>;
  /** Namespaces, for `allowedNamespaces.from: Selector`; absent when the operator watches one namespace (nothing crosses it). */
  readonly namespaces?: Informer<NamespaceObject>;
}

/** Index names on the VM informer: the `namespace/name` keys of what each VM references. */
export const VM_INDEX = { provider: 'provider', class: 'class', image: 'image', network: 'network', placement: 'placement', snapshot: 'snapshot', vmset: 'vmset' } as const;

export function createInformers(client: KubeClient, opts: { namespace?: string; logger?: Logger } = {}): OperatorInformers {
  const o = { namespace: opts.namespace, logger: opts.logger };
  const vms = new Informer<VirtualMachine>(client, Kinds.VirtualMachine, o);
  const ns = (vm: VirtualMachine) => vm.metadata?.namespace ?? '';
  vms.addIndex(VM_INDEX.provider, (vm) => (vm.spec?.providerRef ? [refKey(vm.spec.providerRef, ns(vm))] : []));
  vms.addIndex(VM_INDEX.class, (vm) => (vm.spec?.classRef ? [refKey(vm.spec.classRef, ns(vm))] : []));
  vms.addIndex(VM_INDEX.image, (vm) => (vm.spec?.imageRef ? [refKey(vm.spec.imageRef, ns(vm))] : []));
  vms.addIndex(VM_INDEX.network, (vm) => (vm.spec?.networks ?? []).flatMap((n) => (n.networkRef ? [`${ns(vm)}/${n.networkRef.name}`] : [])));
  vms.addIndex(VM_INDEX.placement, (vm) => (vm.spec?.placementRef ? [`${ns(vm)}/${vm.spec.placementRef.name}`] : []));
  vms.addIndex(VM_INDEX.snapshot, (vm) => (vm.spec?.snapshot?.revertToRef ? [`${ns(vm)}/${vm.spec.snapshot.revertToRef.name}`] : []));
  // The VMSet controlling a VM (its owner reference), so a member's change wakes its set.
  vms.addIndex(VM_INDEX.vmset, (vm) => (vm.metadata?.ownerReferences ?? []).filter((r) => r.controller && r.kind === 'VMSet').map((r) => `${ns(vm)}/${r.name}`));
  const revisions = new Informer<ControllerRevision>(client, CoreResources.controllerRevisions, { ...o, labelSelector: SET_LABEL });
  revisions.addIndex('set', (r) => (r.metadata?.labels?.[SET_LABEL] ? [`${r.metadata.namespace}/${r.metadata.labels[SET_LABEL]}`] : []));
  const snapshots = new Informer<VMSnapshot>(client, Kinds.VMSnapshot, o);
  snapshots.addIndex('vm', (s) => (s.spec?.vmRef?.name ? [`${s.metadata?.namespace}/${s.spec.vmRef.name}`] : []));
  const clones = new Informer<VMClone>(client, Kinds.VMClone, o);
  clones.addIndex('vm', (c) => (c.spec?.source?.vmRef?.name ? [`${c.metadata?.namespace}/${c.spec.source.vmRef.name}`] : []));
  clones.addIndex('class', (c) => (c.spec?.target?.classRef?.name ? [`${c.metadata?.namespace}/${c.spec.target.classRef.name}`] : []));
  return {
    vms,
    clones,
    providers: new Informer<ProviderObject>(client, Kinds.Provider, o),
    classes: new Informer<VMClass>(client, Kinds.VMClass, o),
    images: new Informer<VMImage>(client, Kinds.VMImage, o),
    networks: new Informer<VMNetworkAttachment>(client, Kinds.VMNetworkAttachment, o),
    placements: new Informer<VMPlacementPolicy>(client, Kinds.VMPlacementPolicy, o),
    snapshots,
    vmsets: new Informer<VMSet>(client, Kinds.VMSet, o),
    revisions,
    ...(opts.namespace ? {} : { namespaces: new Informer<NamespaceObject>(client, CoreResources.namespaces, { logger: opts.logger }) }),
  };
}

export function allInformers(i: OperatorInformers): Informer<any>[] {
  return [i.vms, i.providers, i.classes, i.images, i.networks, i.placements, i.snapshots, i.vmsets, i.clones, i.revisions, ...(i.namespaces ? [i.namespaces] : [])];
}
