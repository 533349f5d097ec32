/**
 * A VMSet's members as the planner sees them: the VMs the set controls,
 * read from the cache and corrected by the expectations of what this
 * reconciler just wrote (a VM it created counts as existing and not yet
 * available, one it deleted as deleting, one it reconfigured as at the
 * new revision and unavailable).
 */
import type { VirtualMachine } from '../../generated/virtual-machine';
import type { VMSet } from '../../generated/vm-set';
import type { Expectation } from '../runtime';
import { ORDINAL_LABEL, REVISION_LABEL, ordinalOf } from './naming';
import type { Member } from './plan';

export interface MemberView extends Member {
  readonly vm?: VirtualMachine;
}

const readyCondition = (vm: VirtualMachine) => (vm.status?.conditions ?? []).find((c) => c.type === 'Ready');

/** Ready: Ready=True for the VM's current generation, not being deleted. */
export function isReady(vm: VirtualMachine): boolean {
  const c = readyCondition(vm);
  return c?.status === 'True' && !vm.metadata?.deletionTimestamp && (vm.status?.observedGeneration ?? 0) === (vm.metadata?.generation ?? 0);
}

/** Milliseconds until a ready VM has been ready for minReadySeconds (0: available now; undefined: not ready). */
export function untilAvailableMs(vm: VirtualMachine, minReadySeconds: number, now: number): number | undefined {
  if (!isReady(vm)) return undefined;
  const since = Date.parse(readyCondition(vm)?.lastTransitionTime ?? '');
  if (!minReadySeconds || Number.isNaN(since)) return 0;
  return Math.max(0, since + minReadySeconds * 1000 - now);
}

export function memberViews(set: VMSet, owned: readonly VirtualMachine[], pending: ReadonlyMap<string, Expectation>, now: number): MemberView[] {
  const name = set.metadata!.name!;
  const minReady = set.spec?.minReadySeconds ?? 0;
  const out: MemberView[] = [];
  const seen = new Set<string>();
  for (const vm of owned) {
    const vmName = vm.metadata!.name!;
    // An owned VM whose name is not `<set>-<n>` (renamed labels, a hand-made owner reference) is outside every ordinal: condemned.
    const ordinal = ordinalOf(name, vmName) ?? -1;
    seen.add(vmName);
    const e = pending.get(vmName);
    const deleting = !!vm.metadata?.deletionTimestamp || e?.kind === 'delete';
    const updating = e?.kind === 'update';
    const wait = untilAvailableMs(vm, minReady, now);
    out.push({
      name: vmName,
      ordinal,
      revision: updating ? e.revision : vm.metadata?.labels?.[REVISION_LABEL],
      ready: !deleting && !updating && isReady(vm),
      available: !deleting && !updating && wait === 0,
      deleting,
      vm,
    });
  }
  for (const [vmName, e] of pending) {
    if (e.kind !== 'create' || seen.has(vmName)) continue;
    const ordinal = ordinalOf(name, vmName);
    if (ordinal !== undefined) out.push({ name: vmName, ordinal, revision: e.revision, ready: false, available: false, deleting: false });
  }
  return out.sort((a, b) => a.ordinal - b.ordinal);
}

/** The labels every member gets: the template's, its revision and its ordinal. */
export function memberLabels(template: { metadata?: { labels?: Record<string, string> } } | undefined, revision: string, ordinal: number): Record<string, string> {
  return { ...(template?.metadata?.labels ?? {}), [REVISION_LABEL]: revision, [ORDINAL_LABEL]: String(ordinal) };
}
