/**
 * The libvirt provider and its registration as the in-process
 * driver `libvirt`. A Provider object is served by it when its annotation
 * `virtrigaud.io/in-process` names an operator instance of this driver;
 * its `spec.endpoint` is the libvirt URI (one the instance allows), `spec.defaults.datastore` the storage pool and
 * `spec.defaults.network` the network of NICs that name none.
 * See docs/providers/libvirt.md.
 */
import type { ProviderContext, ProviderRegistry } from '../registry';
import { LibvirtProvider, type LibvirtProviderOptions } from './provider';

export { LIBVIRT_CAPABILITIES, LibvirtProvider, type LibvirtProviderOptions } from './provider';
export { buildDomainXml, parseDomainXml, type DomainSpec, type DomainInfo } from './domain-xml';
export { classifyLibvirtError } from './virsh';
export { openConnection } from './connection';

export const LIBVIRT_IMPLEMENTATION = 'libvirt';

export function libvirtOptionsFromContext(ctx: ProviderContext): LibvirtProviderOptions {
  return {
    // The reconciler has checked the endpoint against the instance's allowed URIs.
    uri: ctx.endpoint,
    credentials: ctx.credentials,
    insecureSkipVerify: ctx.insecureSkipVerify,
    ...(ctx.defaults.datastore ? { pool: ctx.defaults.datastore } : {}),
    ...(ctx.defaults.network ? { defaultNetwork: ctx.defaults.network } : {}),
    ...(ctx.hostPolicy ? { hostPolicy: ctx.hostPolicy } : {}),
    // Through an operator instance, NICs reach only the networks and bridges it lists.
    ...(ctx.instance.libvirt ? { nicPolicy: { networks: ctx.instance.libvirt.networks, bridges: ctx.instance.libvirt.bridges } } : {}),
  };
}

/** Registers the libvirt provider under the name `libvirt` (`overrides` e.g. for tests). */
export function registerLibvirtProvider(registry: ProviderRegistry, overrides: Partial<LibvirtProviderOptions> = {}): ProviderRegistry {
  return registry.register(LIBVIRT_IMPLEMENTATION, (ctx) => new LibvirtProvider({ ...libvirtOptionsFromContext(ctx), ...overrides }));
}
