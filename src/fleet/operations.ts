import { Construct } from 'constructs';
import type * as gen from '../generated';
import { VMSnapshot as SnapshotKind, VMClone as CloneKind, VMMigration as MigrationKind, VMSet as SetKind } from '../api/v1beta1';
import { VirtRigaudResource, ResourceProps, IVirtRigaudResource, refTo } from './resource';
import { specOf } from './simple-kinds';
import { renderVirtualMachineSpec, vmReferences, VirtualMachineOptions } from './virtual-machine';
import type { IVirtualMachine, IProvider, IVMClass, IVMImage } from './refs';

/** Props of {@link VMSnapshot}; `name` is required (a snapshot is state). */
export interface VMSnapshotProps extends ResourceProps, Omit<gen.VMSnapshotSpec, 'vmRef'> {
  readonly name: string;
  /** The VM to snapshot (same namespace). */
  readonly vm: IVirtualMachine;
}

/** A snapshot of a VirtualMachine. @stateful */
export class VMSnapshot extends VirtRigaudResource<gen.VMSnapshotSpec> {
  declare readonly kind: 'VMSnapshot';
  private readonly props: VMSnapshotProps;
  constructor(scope: Construct, id: string, props: VMSnapshotProps) {
    super(scope, id, SnapshotKind, props, true);
    this.props = props;
  }
  /** @internal */
  _toSpec(): gen.VMSnapshotSpec {
    const { vm, ...rest } = this.props;
    return { ...specOf<Omit<gen.VMSnapshotSpec, 'vmRef'>>(rest), vmRef: { name: vm.name } };
  }
  /** @internal */
  _references() {
    return [{ field: 'spec.vmRef', target: this.props.vm as IVirtRigaudResource }];
  }
}

/** Props of {@link VMClone}; `name` is required. The source is a VM construct; the target is described as in the spec. */
export interface VMCloneProps extends ResourceProps, Omit<gen.VMCloneSpec, 'source' | 'target'> {
  readonly name: string;
  /** The VM to clone (same namespace). */
  readonly source: IVirtualMachine;
  /** The new VM. */
  readonly target: Omit<gen.VMCloneSpec['target'], 'classRef'> & { readonly vmClass?: IVMClass };
}

/** Clones a VirtualMachine into a new one. @stateful */
export class VMClone extends VirtRigaudResource<gen.VMCloneSpec> {
  declare readonly kind: 'VMClone';
  private readonly props: VMCloneProps;
  constructor(scope: Construct, id: string, props: VMCloneProps) {
    super(scope, id, CloneKind, props, true);
    this.props = props;
  }
  /** @internal */
  _toSpec(): gen.VMCloneSpec {
    const { source, target, ...rest } = this.props;
    const { vmClass, ...t } = target;
    return {
      ...specOf<Omit<gen.VMCloneSpec, 'source' | 'target'>>(rest),
      source: { vmRef: { name: source.name } },
      target: { ...structuredClone(t), ...(vmClass ? { classRef: { name: vmClass.name } } : {}) },
    };
  }
  /** @internal */
  _references() {
    const refs: { field: string; target: IVirtRigaudResource }[] = [{ field: 'spec.source.vmRef', target: this.props.source }];
    if (this.props.target.vmClass) refs.push({ field: 'spec.target.classRef', target: this.props.target.vmClass });
    return refs;
  }
}

/** Props of {@link VMMigration}; `name` is required. */
export interface VMMigrationProps extends ResourceProps, Omit<gen.VMMigrationSpec, 'source' | 'target'> {
  readonly name: string;
  readonly source: Omit<gen.VMMigrationSpec['source'], 'vmRef' | 'providerRef'> & { readonly vm: IVirtualMachine };
  readonly target: Omit<gen.VMMigrationSpec['target'], 'providerRef' | 'classRef' | 'imageRef'> & {
    readonly provider: IProvider;
    readonly vmClass: IVMClass;
    readonly image?: IVMImage;
  };
}

/** Moves a VirtualMachine to another Provider. @stateful */
export class VMMigration extends VirtRigaudResource<gen.VMMigrationSpec> {
  declare readonly kind: 'VMMigration';
  private readonly props: VMMigrationProps;
  constructor(scope: Construct, id: string, props: VMMigrationProps) {
    super(scope, id, MigrationKind, props, true);
    this.props = props;
  }
  /** @internal */
  _toSpec(): gen.VMMigrationSpec {
    const { source, target, ...rest } = this.props;
    const { vm, ...src } = source;
    const { provider, vmClass, image, ...tgt } = target;
    return {
      ...specOf<Omit<gen.VMMigrationSpec, 'source' | 'target'>>(rest),
      source: { ...structuredClone(src), vmRef: { name: vm.name } },
      target: { ...structuredClone(tgt), providerRef: refTo(provider, this), classRef: { name: vmClass.name }, ...(image ? { imageRef: { name: image.name } } : {}) },
    };
  }
  /** @internal */
  _references() {
    const t = this.props.target;
    const refs: { field: string; target: IVirtRigaudResource }[] = [
      { field: 'spec.source.vmRef', target: this.props.source.vm },
      { field: 'spec.target.providerRef', target: t.provider },
      { field: 'spec.target.classRef', target: t.vmClass },
    ];
    if (t.image) refs.push({ field: 'spec.target.imageRef', target: t.image });
    return refs;
  }
}

/** Props of {@link VMSet}; `name` is required. */
export interface VMSetProps extends ResourceProps, Omit<gen.VMSetSpec, 'template' | 'selector'> {
  readonly name: string;
  /** What every member VM looks like. */
  readonly template: VirtualMachineOptions;
  /**
   * Labels that select the members; they are also put on the template.
   * @default { 'virtrigaud.io/vmset': name }
   */
  readonly selectorLabels?: Record<string, string>;
}

/** N identical VirtualMachines kept by the reconciler (`kubectl scale vmset`). @stateful */
export class VMSet extends VirtRigaudResource<gen.VMSetSpec> {
  declare readonly kind: 'VMSet';
  private readonly props: VMSetProps;
  constructor(scope: Construct, id: string, props: VMSetProps) {
    super(scope, id, SetKind, props, true);
    this.props = props;
  }
  /** @internal */
  _toSpec(): gen.VMSetSpec {
    const { template, selectorLabels, ...rest } = this.props;
    const labels = selectorLabels ?? { 'virtrigaud.io/vmset': this.name };
    return {
      ...specOf<Omit<gen.VMSetSpec, 'template' | 'selector'>>(rest),
      selector: { matchLabels: { ...labels } },
      template: {
        metadata: { labels: { ...labels } },
        spec: renderVirtualMachineSpec(template, template.disks ?? [], (template.networks ?? []) as never, this),
      },
    };
  }
  /** @internal */
  _references() {
    return vmReferences(this.props.template, this.props.template.networks ?? [], 'spec.template.spec');
  }
}
