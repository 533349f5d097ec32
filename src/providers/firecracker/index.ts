/**
 * The Firecracker provider and its registration as the in-process driver
 * `firecracker`. Everything that touches the host (state directory,
 * binary, network namespace, allowed networks and their rate limits, SMT)
 * is the operator's instance configuration, never the Provider object's.
 */
import { ProviderError } from '../provider';
import type { ProviderContext, ProviderRegistry } from '../registry';
import { FirecrackerProvider, type FirecrackerProviderOptions } from './provider';

export { FirecrackerProvider, type FirecrackerProviderOptions } from './provider';
export { FAULT_RULES, FirecrackerApiError, faultCategory, fcApi, toProviderError } from './api';
export { Layout, type VmConfig } from './layout';
export { livePid } from './process';
export { checkVersion, INSTALL_HINT, MIN_VERSION, parseVersion } from './version';
export { FIRECRACKER_CAPABILITIES } from './views';

export const FIRECRACKER_IMPLEMENTATION = 'firecracker';

export function firecrackerOptionsFromContext(ctx: ProviderContext): FirecrackerProviderOptions {
  const f = ctx.instance.firecracker;
  if (!f) throw new ProviderError('InvalidSpec', `in-process instance "${ctx.instance.name}" has no firecracker settings`);
  return {
    stateDir: f.stateDir, networks: f.networks, smt: f.smt,
    ...(f.binary ? { binary: f.binary } : {}), ...(f.netns ? { netns: f.netns } : {}), ...(ctx.hostPolicy ? { hostPolicy: ctx.hostPolicy } : {}),
  };
}

export function registerFirecrackerProvider(registry: ProviderRegistry): ProviderRegistry {
  return registry.register(FIRECRACKER_IMPLEMENTATION, (ctx: ProviderContext) => new FirecrackerProvider(firecrackerOptionsFromContext(ctx)));
}
