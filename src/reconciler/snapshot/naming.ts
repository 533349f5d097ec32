/**
 * How a VMSnapshot is recognised on its provider: the name hint carries a
 * token of the VMSnapshot's uid, so a snapshot taken by an attempt that
 * died before recording its id is found again instead of taken twice.
 */
import type { VMSnapshot } from '../../generated/vm-snapshot';
import { isProviderError, type CallOptions, type Provider } from '../../providers/provider';

/** The part of a VMSnapshot's uid its provider-side name carries (lowercase hex). */
export function uidToken(uid: string | undefined): string {
  return (uid ?? '').replace(/[^0-9a-fA-F]/g, '').slice(0, 10).toLowerCase();
}

/**
 * The name hint of SnapshotCreate: the requested name (or the VMSnapshot's)
 * and a token of the VMSnapshot's uid, so that the snapshot is recognised
 * on the provider after a crash, and two VMSnapshots never share a hint.
 * At most 39 characters: the qemu provider keeps 40 of a hint.
 */
export function snapshotNameHint(snap: VMSnapshot): string {
  const base = (snap.spec?.snapshotConfig?.name || snap.metadata?.name || 'snapshot').slice(0, 28).replace(/[-_.]+$/, '');
  const token = uidToken(snap.metadata?.uid);
  return token ? `${base}-${token}` : base;
}

/**
 * The id of a snapshot an earlier attempt took for `snap` and never
 * recorded: one of the VM's snapshots whose id carries the uid token of the
 * name hint (providers derive snapshot ids from the hint) and that no other
 * VMSnapshot claims. Undefined when there is none, or when the provider
 * cannot list the VM's snapshots (GetDiskInfo unimplemented, no disk).
 */
export async function findUnrecordedSnapshot(provider: Provider, vmId: string, snap: VMSnapshot, claimed: ReadonlySet<string>, call: CallOptions): Promise<string | undefined> {
  const token = uidToken(snap.metadata?.uid);
  if (!token) return undefined;
  let ids: readonly string[];
  try {
    ids = (await provider.getDiskInfo(vmId, '', '', call)).snapshots;
  } catch (err) {
    if (isProviderError(err, 'Unimplemented') || isProviderError(err, 'NotFound')) return undefined;
    throw err;
  }
  return ids.find((id) => id.toLowerCase().includes(token) && !claimed.has(id));
}
