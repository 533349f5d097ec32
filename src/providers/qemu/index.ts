/**
 * The QEMU provider and its registration as the in-process driver `qemu`.
 * Everything that touches the host (state directory, QEMU binary, seccomp
 * sandbox, NIC mode, accelerator) is the operator's instance configuration.
 */
import { ProviderError } from '../provider';
import type { ProviderContext, ProviderRegistry } from '../registry';
import { QemuProvider, type QemuProviderOptions } from './provider';

export { INSTALL_HINT, QemuProvider, type QemuProviderOptions } from './provider';
export { QEMU_CAPABILITIES } from './views';
export { QmpClient, QmpError, withQmp } from './qmp';
export { Layout, type VmConfig, type SnapshotRecord, type DiskRecord } from './layout';
export { livePid, qemuArgs, resolveAccel, type AccelSetting, type LaunchOptions, type ResolvedAccel } from './process';

export const QEMU_IMPLEMENTATION = 'qemu';

/**
 * The options of an in-process QEMU instance: all from the operator's
 * configuration (state directory, binary, sandbox, NIC mode, accelerator),
 * none from the Provider object, whose endpoint is always `qemu:///system`
 * (nor from a VM or VMClass: the QEMU provider reads no extraConfig).
 */
export function qemuOptionsFromContext(ctx: ProviderContext): QemuProviderOptions {
  const q = ctx.instance.qemu;
  if (!q) throw new ProviderError('InvalidSpec', `in-process instance "${ctx.instance.name}" has no qemu settings`);
  return { stateDir: q.stateDir, nic: q.nic, sandbox: q.sandbox, accel: q.accel ?? 'auto', ...(q.binary ? { qemuBinary: q.binary } : {}), ...(ctx.hostPolicy ? { hostPolicy: ctx.hostPolicy } : {}) };
}

/** Registers the QEMU provider under the name `qemu`. */
export function registerQemuProvider(registry: ProviderRegistry): ProviderRegistry {
  return registry.register(QEMU_IMPLEMENTATION, (ctx: ProviderContext) => new QemuProvider(qemuOptionsFromContext(ctx)));
}
