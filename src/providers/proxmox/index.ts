/**
 * The Proxmox VE provider and its registration as the in-process driver
 * `proxmox`. A Provider object supplies the endpoint (`https://pve:8006`),
 * the credentials Secret (`tokenId` + `tokenSecret`, or `username` +
 * `password`; optional `ca.crt`) and `spec.defaults`; the operator's
 * instance (`proxmox.nodes`, `storages`, `bridges`) limits what it may use:
 * deny by default, an empty list lets the tenant choose nothing of that kind
 * (see ./limits.ts); the operator writes `"*"` to allow any.
 */
import type { ProviderContext, ProviderRegistry } from '../registry';
import { ProxmoxProvider, type ProxmoxProviderOptions } from './provider';

export { PROXMOX_CAPABILITIES, ProxmoxProvider, type ProxmoxProviderOptions } from './provider';
export { PveClient, type PveClientOptions } from './client';
export { categoryOf } from './errors';
export { ANY, PROXMOX_ANY, ProxmoxLimits, type ProxmoxLimitLists } from './limits';

export const PROXMOX_IMPLEMENTATION = 'proxmox';

export function proxmoxOptionsFromContext(ctx: ProviderContext): ProxmoxProviderOptions {
  const c = ctx.credentials;
  const s = ctx.instance.proxmox;
  return {
    url: ctx.endpoint,
    ...(c.tokenId ? { tokenId: c.tokenId, tokenSecret: c.tokenSecret ?? '' } : { username: c.username ?? '', password: c.password ?? '' }),
    ...(c['ca.crt'] ? { ca: c['ca.crt'] } : {}),
    insecureSkipVerify: ctx.insecureSkipVerify,
    defaults: ctx.defaults,
    limits: { nodes: s?.nodes ?? [], storages: s?.storages ?? [], bridges: s?.bridges ?? [] },
  };
}

/** Registers the Proxmox provider under the name `proxmox`. */
export function registerProxmoxProvider(registry: ProviderRegistry): ProviderRegistry {
  return registry.register(PROXMOX_IMPLEMENTATION, (ctx) => new ProxmoxProvider(proxmoxOptionsFromContext(ctx)));
}
