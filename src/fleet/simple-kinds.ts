import { Construct } from 'constructs';
import type * as gen from '../generated';
import { VMClass as VMClassKind, VMImage as VMImageKind, VMNetworkAttachment as NetKind, VMPlacementPolicy as PolicyKind, Provider as ProviderKind } from '../api/v1beta1';
import type { KindDefinition } from '../schema';
import { VirtRigaudResource, ResourceProps, ExternalResource, IVirtRigaudResource } from './resource';
import type { IVMClass, IVMImage, IVMNetworkAttachment, IVMPlacementPolicy, IProvider } from './refs';

/**
 * Kinds whose spec has no references to other objects of ours: the props are
 * the spec itself (typed from the generated types) plus metadata. Their
 * `name` defaults to the construct id — never to the construct path.
 */

/** A kind whose props are its spec plus metadata; the spec is copied at construction. */
abstract class SpecResource<Spec> extends VirtRigaudResource<Spec> {
  private readonly spec: Spec;
  protected constructor(scope: Construct, id: string, definition: KindDefinition, props: ResourceProps, nameRequired: boolean) {
    super(scope, id, definition, props, nameRequired);
    this.spec = specOf(props);
  }
  /** @internal */
  _toSpec(): Spec {
    return this.spec;
  }
}

/** An object of `definition`'s kind managed elsewhere. */
function external<T extends IVirtRigaudResource>(scope: Construct, id: string, definition: KindDefinition, name: string, namespace?: string): T {
  return new ExternalResource(scope, id, definition.kind, definition.apiVersion, name, namespace) as unknown as T;
}

/** Props of {@link VMClass}: the VMClass spec plus metadata. */
export interface VMClassProps extends ResourceProps, gen.VMClassSpec {}

/** A hardware profile (CPU, memory, firmware, ...) for VirtualMachines. */
export class VMClass extends SpecResource<gen.VMClassSpec> implements IVMClass {
  declare readonly kind: 'VMClass';
  /** A VMClass managed elsewhere. */
  static fromName(scope: Construct, id: string, name: string, namespace?: string): IVMClass {
    return external<IVMClass>(scope, id, VMClassKind, name, namespace);
  }
  constructor(scope: Construct, id: string, props: VMClassProps) {
    super(scope, id, VMClassKind, props, false);
  }
}

/** Props of {@link VMImage}: the VMImage spec plus metadata. */
export interface VMImageProps extends ResourceProps, gen.VMImageSpec {}

/** A base image or template VirtualMachines boot from. */
export class VMImage extends SpecResource<gen.VMImageSpec> implements IVMImage {
  declare readonly kind: 'VMImage';
  /** A VMImage managed elsewhere. */
  static fromName(scope: Construct, id: string, name: string, namespace?: string): IVMImage {
    return external<IVMImage>(scope, id, VMImageKind, name, namespace);
  }
  constructor(scope: Construct, id: string, props: VMImageProps) {
    super(scope, id, VMImageKind, props, false);
  }
}

/** Props of {@link VMNetworkAttachment}: the VMNetworkAttachment spec plus metadata. */
export interface VMNetworkAttachmentProps extends ResourceProps, gen.VMNetworkAttachmentSpec {}

/** A network VirtualMachine NICs attach to. */
export class VMNetworkAttachment extends SpecResource<gen.VMNetworkAttachmentSpec> implements IVMNetworkAttachment {
  declare readonly kind: 'VMNetworkAttachment';
  /** A VMNetworkAttachment managed elsewhere. */
  static fromName(scope: Construct, id: string, name: string, namespace?: string): IVMNetworkAttachment {
    return external<IVMNetworkAttachment>(scope, id, NetKind, name, namespace);
  }
  constructor(scope: Construct, id: string, props: VMNetworkAttachmentProps) {
    super(scope, id, NetKind, props, false);
  }
}

/** Props of {@link VMPlacementPolicy}: the VMPlacementPolicy spec plus metadata. */
export interface VMPlacementPolicyProps extends ResourceProps, gen.VMPlacementPolicySpec {}

/** Placement rules VirtualMachines can reference. */
export class VMPlacementPolicy extends SpecResource<gen.VMPlacementPolicySpec> implements IVMPlacementPolicy {
  declare readonly kind: 'VMPlacementPolicy';
  /** A VMPlacementPolicy managed elsewhere. */
  static fromName(scope: Construct, id: string, name: string, namespace?: string): IVMPlacementPolicy {
    return external<IVMPlacementPolicy>(scope, id, PolicyKind, name, namespace);
  }
  constructor(scope: Construct, id: string, props: VMPlacementPolicyProps = {}) {
    super(scope, id, PolicyKind, props, false);
  }
}

/** Props of {@link Provider}: the Provider spec plus metadata; `name` is required. */
export interface ProviderProps extends ResourceProps, gen.ProviderSpec {
  readonly name: string;
}

/**
 * A hypervisor connection. Its name is required: VirtualMachines refer to it
 * and cannot move to another provider, so it must not change by accident.
 */
export class Provider extends SpecResource<gen.ProviderSpec> implements IProvider {
  declare readonly kind: 'Provider';
  /** A Provider managed elsewhere. */
  static fromName(scope: Construct, id: string, name: string, namespace?: string): IProvider {
    return external<IProvider>(scope, id, ProviderKind, name, namespace);
  }
  constructor(scope: Construct, id: string, props: ProviderProps) {
    super(scope, id, ProviderKind, props, true);
  }
}

const METADATA_PROPS = new Set(['name', 'namespace', 'labels', 'annotations']);

/** The spec part of props that are spec plus metadata, deep-copied so later changes to the props do not leak in. */
export function specOf<S>(props: object): S {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(props)) if (!METADATA_PROPS.has(k) && v !== undefined) out[k] = structuredClone(v);
  return out as S;
}
