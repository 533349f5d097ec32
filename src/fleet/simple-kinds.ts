import { Construct } from 'constructs';
import type * as gen from '../generated';
import { VMClass as VMClassKind, VMImage as VMImageKind, VMNetworkAttachment as NetKind, VMPlacementPolicy as PolicyKind, Provider as ProviderKind } from '../api/v1beta1';
import { VirtRigaudResource, ResourceProps, ExternalResource } from './resource';
import type { IVMClass, IVMImage, IVMNetworkAttachment, IVMPlacementPolicy, IProvider } from './refs';

/**
 * Kinds whose spec has no references to other objects of ours: the props are
 * the spec itself (typed from the generated types) plus metadata. Their
 * `name` defaults to the construct id — never to the construct path.
 */

/** Props of {@link VMClass}: the VMClass spec plus metadata. */
export interface VMClassProps extends ResourceProps, gen.VMClassSpec {}

/** A hardware profile (CPU, memory, firmware, ...) for VirtualMachines. */
export class VMClass extends VirtRigaudResource<gen.VMClassSpec> implements IVMClass {
  declare readonly kind: 'VMClass';
  /** A VMClass managed elsewhere. */
  static fromName(scope: Construct, id: string, name: string, namespace?: string): IVMClass {
    return new ExternalResource(scope, id, 'VMClass', VMClassKind.apiVersion, name, namespace) as IVMClass;
  }
  private readonly spec: gen.VMClassSpec;
  constructor(scope: Construct, id: string, props: VMClassProps) {
    super(scope, id, VMClassKind, props, false);
    this.spec = specOf(props);
  }
  /** @internal */
  _toSpec(): gen.VMClassSpec {
    return this.spec;
  }
}

/** Props of {@link VMImage}: the VMImage spec plus metadata. */
export interface VMImageProps extends ResourceProps, gen.VMImageSpec {}

/** A base image or template VirtualMachines boot from. */
export class VMImage extends VirtRigaudResource<gen.VMImageSpec> implements IVMImage {
  declare readonly kind: 'VMImage';
  /** A VMImage managed elsewhere. */
  static fromName(scope: Construct, id: string, name: string, namespace?: string): IVMImage {
    return new ExternalResource(scope, id, 'VMImage', VMImageKind.apiVersion, name, namespace) as IVMImage;
  }
  private readonly spec: gen.VMImageSpec;
  constructor(scope: Construct, id: string, props: VMImageProps) {
    super(scope, id, VMImageKind, props, false);
    this.spec = specOf(props);
  }
  /** @internal */
  _toSpec(): gen.VMImageSpec {
    return this.spec;
  }
}

/** Props of {@link VMNetworkAttachment}: the VMNetworkAttachment spec plus metadata. */
export interface VMNetworkAttachmentProps extends ResourceProps, gen.VMNetworkAttachmentSpec {}

/** A network VirtualMachine NICs attach to. */
export class VMNetworkAttachment extends VirtRigaudResource<gen.VMNetworkAttachmentSpec> implements IVMNetworkAttachment {
  declare readonly kind: 'VMNetworkAttachment';
  /** A VMNetworkAttachment managed elsewhere. */
  static fromName(scope: Construct, id: string, name: string, namespace?: string): IVMNetworkAttachment {
    return new ExternalResource(scope, id, 'VMNetworkAttachment', NetKind.apiVersion, name, namespace) as IVMNetworkAttachment;
  }
  private readonly spec: gen.VMNetworkAttachmentSpec;
  constructor(scope: Construct, id: string, props: VMNetworkAttachmentProps) {
    super(scope, id, NetKind, props, false);
    this.spec = specOf(props);
  }
  /** @internal */
  _toSpec(): gen.VMNetworkAttachmentSpec {
    return this.spec;
  }
}

/** Props of {@link VMPlacementPolicy}: the VMPlacementPolicy spec plus metadata. */
export interface VMPlacementPolicyProps extends ResourceProps, gen.VMPlacementPolicySpec {}

/** Placement rules VirtualMachines can reference. */
export class VMPlacementPolicy extends VirtRigaudResource<gen.VMPlacementPolicySpec> implements IVMPlacementPolicy {
  declare readonly kind: 'VMPlacementPolicy';
  /** A VMPlacementPolicy managed elsewhere. */
  static fromName(scope: Construct, id: string, name: string, namespace?: string): IVMPlacementPolicy {
    return new ExternalResource(scope, id, 'VMPlacementPolicy', PolicyKind.apiVersion, name, namespace) as IVMPlacementPolicy;
  }
  private readonly spec: gen.VMPlacementPolicySpec;
  constructor(scope: Construct, id: string, props: VMPlacementPolicyProps = {}) {
    super(scope, id, PolicyKind, props, false);
    this.spec = specOf(props);
  }
  /** @internal */
  _toSpec(): gen.VMPlacementPolicySpec {
    return this.spec;
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
export class Provider extends VirtRigaudResource<gen.ProviderSpec> implements IProvider {
  declare readonly kind: 'Provider';
  /** A Provider managed elsewhere. */
  static fromName(scope: Construct, id: string, name: string, namespace?: string): IProvider {
    return new ExternalResource(scope, id, 'Provider', ProviderKind.apiVersion, name, namespace) as IProvider;
  }
  private readonly spec: gen.ProviderSpec;
  constructor(scope: Construct, id: string, props: ProviderProps) {
    super(scope, id, ProviderKind, props, true);
    this.spec = specOf(props);
  }
  /** @internal */
  _toSpec(): gen.ProviderSpec {
    return this.spec;
  }
}

const METADATA_PROPS = new Set(['name', 'namespace', 'labels', 'annotations']);

/** The spec part of props that are spec plus metadata, deep-copied so later changes to the props do not leak in. */
export function specOf<S>(props: object): S {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(props)) if (!METADATA_PROPS.has(k) && v !== undefined) out[k] = structuredClone(v);
  return out as S;
}
