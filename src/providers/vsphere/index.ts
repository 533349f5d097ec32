/**
 * The vSphere provider and its registration as the in-process
 * implementation `vsphere`. A Provider object supplies the endpoint
 * (`https://vcenter/sdk`, optionally `?datacenter=NAME`), the credentials
 * Secret (`username`, `password`, optional `ca.crt`), `spec.defaults` and
 * `spec.insecureSkipVerify`.
 */
import type { ProviderContext, ProviderRegistry } from '../registry';
import { VsphereProvider, type VsphereProviderOptions } from './provider';

export { VSPHERE_CAPABILITIES, VsphereProvider, type VsphereProviderOptions } from './provider';
export { Inventory, type DatastoreChoice, type Placement } from './inventory';
export { placementOf } from './create';
export { CONTENT_LIBRARY_SCHEME, formatLibraryRef, parseLibraryRef, type LibraryItemRef } from './library-ref';

export const VSPHERE_IMPLEMENTATION = 'vsphere';

export function vsphereOptionsFromContext(ctx: ProviderContext): VsphereProviderOptions {
  const cred = ctx.credentials;
  return {
    endpoint: ctx.endpoint,
    username: cred.username ?? '',
    password: cred.password ?? '',
    ...(cred['ca.crt'] ? { ca: cred['ca.crt'] } : {}),
    insecureSkipVerify: ctx.insecureSkipVerify,
    defaults: ctx.defaults,
  };
}

/** Registers the vSphere provider under the name `vsphere`. */
export function registerVsphereProvider(registry: ProviderRegistry): ProviderRegistry {
  return registry.register(VSPHERE_IMPLEMENTATION, (ctx) => new VsphereProvider(vsphereOptionsFromContext(ctx)));
}
