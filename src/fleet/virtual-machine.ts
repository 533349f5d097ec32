import { Construct } from 'constructs';
import type * as gen from '../generated';
import { VirtualMachine as VirtualMachineKind } from '../api/v1beta1';
import { VirtRigaudResource, ResourceProps, ExternalResource, IVirtRigaudResource, refTo } from './resource';
import type { IProvider, IVMClass, IVMImage, IVMNetworkAttachment, IVMPlacementPolicy, IVirtualMachine } from './refs';

type Spec = gen.VirtualMachineSpec;
/** A data disk (`spec.disks[]`). */
export type VirtualMachineDisk = NonNullable<Spec['disks']>[number];
type Nic = NonNullable<Spec['networks']>[number];

/** A NIC (`spec.networks[]`) whose attachment is given as a construct. */
export interface VirtualMachineNetwork extends Omit<Nic, 'networkRef'> {
  /** @default - the template's pre-configured NIC (no networkRef) */
  readonly attachment?: IVMNetworkAttachment;
}

/** The spec fields of a VM other than its references, which are given as constructs. */
export interface VirtualMachineOptions extends Omit<Spec, 'providerRef' | 'classRef' | 'imageRef' | 'networks' | 'placementRef'> {
  /** The Provider hosting the VM. */
  readonly provider: IProvider;
  /** The VMClass giving CPU, memory and firmware. */
  readonly vmClass: IVMClass;
  /** @default - none: boot from `importedDisk` (or a clone) instead */
  readonly image?: IVMImage;
  /** @default [] */
  readonly networks?: readonly VirtualMachineNetwork[];
  /** @default - none */
  readonly placementPolicy?: IVMPlacementPolicy;
}

/** Props of {@link VirtualMachine}; `name` is required. */
export interface VirtualMachineProps extends ResourceProps, VirtualMachineOptions {
  readonly name: string;
}

/**
 * A virtual machine. References to its Provider, VMClass, VMImage, network
 * attachments and placement policy are constructs (or `fromName` for objects
 * managed elsewhere), so synth can check that each one exists.
 *
 * @stateful its `name` is required and never derived from the construct
 * path; deleting the construct deletes the VM when the manifest is applied
 * with pruning.
 */
export class VirtualMachine extends VirtRigaudResource<Spec> implements IVirtualMachine {
  declare readonly kind: 'VirtualMachine';

  /** A VirtualMachine managed elsewhere. */
  static fromName(scope: Construct, id: string, name: string, namespace?: string): IVirtualMachine {
    return new ExternalResource(scope, id, 'VirtualMachine', VirtualMachineKind.apiVersion, name, namespace) as IVirtualMachine;
  }

  private readonly options: VirtualMachineOptions;
  private readonly disks: VirtualMachineDisk[];
  private readonly nics: VirtualMachineNetwork[];

  constructor(scope: Construct, id: string, props: VirtualMachineProps) {
    super(scope, id, VirtualMachineKind, props, true);
    this.options = props;
    this.disks = (props.disks ?? []).map((d) => structuredClone(d));
    this.nics = (props.networks ?? []).map((n) => ({ ...n }));
  }

  /** Adds a data disk; names must stay unique (checked at synth). */
  addDisk(disk: VirtualMachineDisk): void {
    this.disks.push(structuredClone(disk));
  }

  /** Adds a NIC. */
  addNetwork(nic: VirtualMachineNetwork): void {
    this.nics.push({ ...nic });
  }

  /** @internal */
  _toSpec(): Spec {
    return renderVirtualMachineSpec(this.options, this.disks, this.nics, this);
  }

  /** @internal */
  _references() {
    return vmReferences(this.options, this.nics, 'spec');
  }
}

const REFERENCE_PROPS = new Set(['provider', 'vmClass', 'image', 'networks', 'placementPolicy', 'disks', 'name', 'namespace', 'labels', 'annotations']);

/** The VM spec from options with constructs for references; shared by VirtualMachine and VMSet templates. */
export function renderVirtualMachineSpec(o: VirtualMachineOptions, disks: readonly VirtualMachineDisk[], nics: readonly VirtualMachineNetwork[], from: { namespace?: string }): Spec {
  const spec: Record<string, unknown> = {
    providerRef: refTo(o.provider, from),
    classRef: refTo(o.vmClass, from),
  };
  if (o.image) spec.imageRef = refTo(o.image, from);
  if (o.placementPolicy) spec.placementRef = { name: o.placementPolicy.name };
  if (nics.length) {
    spec.networks = nics.map(({ attachment, ...nic }) => (attachment ? { ...nic, networkRef: refTo(attachment, from) } : { ...nic }));
  }
  if (disks.length) spec.disks = disks.map((d) => structuredClone(d));
  for (const [k, v] of Object.entries(o)) {
    if (!REFERENCE_PROPS.has(k) && v !== undefined) spec[k] = structuredClone(v);
  }
  return spec as unknown as Spec;
}

/** The references a VM spec makes, with their field paths. */
export function vmReferences(o: VirtualMachineOptions, nics: readonly VirtualMachineNetwork[], prefix: string): { field: string; target: IVirtRigaudResource }[] {
  const refs: { field: string; target: IVirtRigaudResource }[] = [
    { field: `${prefix}.providerRef`, target: o.provider },
    { field: `${prefix}.classRef`, target: o.vmClass },
  ];
  if (o.image) refs.push({ field: `${prefix}.imageRef`, target: o.image });
  if (o.placementPolicy) refs.push({ field: `${prefix}.placementRef`, target: o.placementPolicy });
  nics.forEach((n, i) => n.attachment && refs.push({ field: `${prefix}.networks[${i}].networkRef`, target: n.attachment }));
  return refs;
}
