/**
 * In-process provider drivers, registered by driver name (`libvirt`,
 * `qemu`, `vsphere`, `memory`). A Provider object does not pick a driver:
 * its annotation {@link IN_PROCESS_ANNOTATION} names an instance the
 * operator configured (src/reconciler/config), and the instance says
 * which driver serves it and with which host settings. Without the
 * annotation the reconciler reaches the provider pod over gRPC.
 */
import type { InProcessInstance } from '../reconciler/config/types';
import type { HostPolicy } from './hostutil/policy';
import type { Provider } from './provider';

/** Annotation on a Provider naming the operator-configured in-process instance that serves it instead of a provider pod. */
export const IN_PROCESS_ANNOTATION = 'virtrigaud.io/in-process';

/** What an in-process provider is built from: the Provider object, resolved. */
export interface ProviderContext {
  readonly namespace: string;
  readonly name: string;
  /** `spec.type` (vsphere, libvirt, ...). */
  readonly type: string;
  /** `spec.endpoint`. */
  readonly endpoint: string;
  /** Data of the credentials Secret, decoded. Never log these. */
  readonly credentials: Readonly<Record<string, string>>;
  /** `spec.defaults`. */
  readonly defaults: Readonly<Record<string, string>>;
  readonly insecureSkipVerify: boolean;
  /** The operator's instance serving this Provider: driver settings (state directory, binary, ...). */
  readonly instance: InProcessInstance;
  /** The operator's limits on images, downloads and host paths (src/providers/hostutil/policy.ts). */
  readonly hostPolicy?: HostPolicy;
}

export type ProviderFactory = (ctx: ProviderContext) => Provider | Promise<Provider>;

export class ProviderRegistry {
  private readonly factories = new Map<string, ProviderFactory>();

  register(implementation: string, factory: ProviderFactory): this {
    this.factories.set(implementation, factory);
    return this;
  }

  has(implementation: string): boolean {
    return this.factories.has(implementation);
  }

  names(): string[] {
    return [...this.factories.keys()].sort();
  }

  /** Throws when no driver is registered under that name, listing what is. */
  async build(driver: string, ctx: ProviderContext): Promise<Provider> {
    const factory = this.factories.get(driver);
    if (!factory) {
      const known = this.names();
      throw new Error(`no in-process driver "${driver}" in this reconciler (registered: ${known.length ? known.join(', ') : 'none'})`);
    }
    return factory(ctx);
  }
}
