/**
 * Whether a provider holds a change until the VM's next restart, read from
 * Describe's `providerRaw` as each provider reports it: QEMU and
 * Firecracker `pendingRestart: "true"` (Firecracker with
 * `pendingRestartReason`), libvirt `pendingPowerCycle: <what>`, Proxmox
 * `pendingChanges: <keys>` with `pendingReason`. Returns what is pending,
 * or undefined.
 */
export function pendingRestartOf(raw: Readonly<Record<string, unknown>>): string | undefined {
  const s = (k: string) => (raw[k] === undefined || raw[k] === null ? '' : String(raw[k]));
  if (s('pendingChanges')) return `pending on the provider: ${s('pendingChanges')}${s('pendingReason') ? ` (${s('pendingReason')})` : ''}`;
  if (s('pendingPowerCycle')) return `pending on the provider: ${s('pendingPowerCycle')}`;
  if (s('pendingRestart') === 'true') return s('pendingRestartReason') || 'the provider holds the change until the VM restarts';
  return undefined;
}
