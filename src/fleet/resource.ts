import { ApiObject, Lazy } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import type { KindDefinition } from '../schema';
import { addSynthChecks } from './checks';

/** Anything of ours that can be referenced: a construct in this app, or an object managed elsewhere. */
export interface IVirtRigaudResource extends IConstruct {
  readonly kind: string;
  readonly apiVersion: string;
  /** `metadata.name`. */
  readonly name: string;
  /** `metadata.namespace`; undefined means the namespace of the chart (or of whoever applies it). */
  readonly namespace?: string;
  /** True for objects declared with `fromName`: not synthesized here, not checked. */
  readonly external: boolean;
}

/** Metadata every L2 construct takes. */
export interface ResourceProps {
  /**
   * `metadata.name`. See the naming rule in the README: it never comes from
   * the construct path, so moving or renaming a construct does not replace
   * the object.
   */
  readonly name?: string;
  /** @default - the chart's namespace */
  readonly namespace?: string;
  /** @default {} */
  readonly labels?: Record<string, string>;
  /** @default {} */
  readonly annotations?: Record<string, string>;
}

/** Lower-case DNS-1123 subdomain: what a name may look like. */
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Base of the L2 constructs: one `Resource` child (an ApiObject of our kind)
 * whose spec is produced at synth time, so `add*` methods can still change it.
 */
export abstract class VirtRigaudResource<Spec> extends Construct implements IVirtRigaudResource {
  readonly kind: string;
  readonly apiVersion: string;
  readonly name: string;
  readonly namespace?: string;
  readonly external = false;
  /** The L1 object (`ApiObject`), for escape hatches such as JSON patches. */
  readonly apiObject: ApiObject;

  protected constructor(scope: Construct, id: string, readonly definition: KindDefinition, props: ResourceProps, nameRequired: boolean) {
    super(scope, id);
    if (props.name === undefined && nameRequired) {
      throw new Error(`${definition.kind} ${this.node.path}: 'name' is required: a ${definition.kind}'s name is its identity on the hypervisor side, so it is never derived from the construct path`);
    }
    const name = props.name ?? id;
    if (!NAME.test(name) || name.length > 253) {
      throw new Error(`${definition.kind} ${this.node.path}: name ${JSON.stringify(name)} is not a lower-case DNS-1123 subdomain${props.name === undefined ? ' (it defaults to the construct id; pass name)' : ''}`);
    }
    this.kind = definition.kind;
    this.apiVersion = definition.apiVersion;
    this.name = name;
    this.namespace = props.namespace;
    const metadata: Record<string, unknown> = { name };
    if (props.namespace) metadata.namespace = props.namespace;
    if (props.labels && Object.keys(props.labels).length) metadata.labels = { ...props.labels };
    if (props.annotations && Object.keys(props.annotations).length) metadata.annotations = { ...props.annotations };
    this.apiObject = new ApiObject(this, 'Resource', {
      apiVersion: definition.apiVersion,
      kind: definition.kind,
      metadata,
      spec: Lazy.any({ produce: () => this._toSpec() }),
    } as never);
    addSynthChecks(this);
  }

  /**
   * The spec as it will be synthesized.
   * @internal
   */
  abstract _toSpec(): Spec;

  /** Other resources this one refers to, with the field that refers to them. @internal */
  _references(): { field: string; target: IVirtRigaudResource }[] {
    return [];
  }
}

/** A resource managed elsewhere, referenced by name (`fromName`). */
export class ExternalResource extends Construct implements IVirtRigaudResource {
  readonly external = true;
  constructor(scope: Construct, id: string, readonly kind: string, readonly apiVersion: string, readonly name: string, readonly namespace?: string) {
    super(scope, id);
    if (!NAME.test(name)) throw new Error(`${kind} ${this.node.path}: name ${JSON.stringify(name)} is not a lower-case DNS-1123 subdomain`);
  }
}

/** `{ name, namespace? }` for a reference field; the namespace only when it differs from the referrer's. */
export function refTo(target: IVirtRigaudResource, from: { namespace?: string }): { name: string; namespace?: string } {
  return target.namespace && target.namespace !== from.namespace ? { name: target.name, namespace: target.namespace } : { name: target.name };
}
