/**
 * In-process providers, registered by implementation name. A Provider
 * object selects one with the annotation {@link IN_PROCESS_ANNOTATION}
 * (e.g. `memory`, `libvirt`, `qemu`); without it the reconciler reaches the
 * provider pod over gRPC.
 */
import type { Provider } from './provider';

/** Annotation on a Provider naming the in-process implementation to use instead of a provider pod. */
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

  /** Throws when nothing is registered under that name, listing what is. */
  async build(implementation: string, ctx: ProviderContext): Promise<Provider> {
    const factory = this.factories.get(implementation);
    if (!factory) {
      const known = this.names();
      throw new Error(`no in-process provider "${implementation}" (registered: ${known.length ? known.join(', ') : 'none'})`);
    }
    return factory(ctx);
  }
}
