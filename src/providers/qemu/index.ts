/**
 * The QEMU provider and its registration as the in-process implementation
 * `qemu`. A Provider object selects its state directory with the endpoint
 * `qemu:///<absolute state dir>` (e.g. `qemu:///var/lib/virtrigaud/qemu`);
 * `qemu:///system` means {@link DEFAULT_STATE_DIR}. Query options:
 * `?nic=user` (restricted user-mode NIC instead of none), `binary=<path>`,
 * `sandbox=0` (no seccomp filter).
 */
import { ProviderError } from '../provider';
import type { ProviderContext, ProviderRegistry } from '../registry';
import { QemuProvider, type QemuProviderOptions } from './provider';

export { INSTALL_HINT, QemuProvider, type QemuProviderOptions } from './provider';
export { QEMU_CAPABILITIES } from './views';
export { QmpClient, QmpError, withQmp } from './qmp';
export { Layout, type VmConfig, type SnapshotRecord, type DiskRecord } from './layout';
export { livePid, qemuArgs } from './process';

export const QEMU_IMPLEMENTATION = 'qemu';
export const DEFAULT_STATE_DIR = '/var/lib/virtrigaud/qemu';

/** The options an endpoint selects; remote QEMU hosts are refused (the libvirt provider covers those). */
export function qemuOptionsFromEndpoint(endpoint: string): QemuProviderOptions {
  const m = /^qemu(\+[a-z]+)?:\/\/([^/]*)(\/[^?]*)(?:\?(.*))?$/.exec(endpoint);
  if (!m) throw new ProviderError('InvalidSpec', `endpoint ${JSON.stringify(endpoint)}: the QEMU provider needs qemu:///<state directory>`);
  if (m[1] || m[2]) throw new ProviderError('InvalidSpec', `endpoint ${JSON.stringify(endpoint)}: the QEMU provider drives QEMU on its own host only (qemu:///…); use the libvirt provider for remote hosts`);
  const path = decodeURIComponent(m[3]!).replace(/\/+$/, '');
  const stateDir = path === '/system' || path === '' ? DEFAULT_STATE_DIR : path;
  const q = new URLSearchParams(m[4] ?? '');
  const nic = q.get('nic') ?? 'none';
  if (nic !== 'none' && nic !== 'user') throw new ProviderError('InvalidSpec', `endpoint option nic=${nic}: use none or user`);
  const sandbox = q.get('sandbox');
  return { stateDir, nic, ...(q.get('binary') ? { qemuBinary: q.get('binary')! } : {}), ...(sandbox !== null ? { sandbox: !['0', 'false', 'off'].includes(sandbox) } : {}) };
}

/** Registers the QEMU provider under the name `qemu`. */
export function registerQemuProvider(registry: ProviderRegistry): ProviderRegistry {
  return registry.register(QEMU_IMPLEMENTATION, (ctx: ProviderContext) => new QemuProvider(qemuOptionsFromEndpoint(ctx.endpoint)));
}
