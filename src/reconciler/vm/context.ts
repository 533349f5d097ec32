/** What the VirtualMachine reconciler works with, and the names it reads and writes on VMs. */
import type { VirtualMachine, VirtualMachineStatus } from '../../generated/virtual-machine';
import type { VMClass } from '../../generated/vm-class';
import { Kinds } from '../kinds';
import type { ProviderConnections } from '../provider-connections';
import { writeStatus, type EventRecorder, type KubeClient, type Logger } from '../runtime';
import type { SecretReader } from '../secrets';
import type { IpAllocator } from '../ipam/allocator';
import type { HookPolicy } from './hooks';
import type { Lookups } from './resolve';
import type { StatusDraft } from './status-draft';

export const VM_FINALIZER = 'virtualmachine.infra.virtrigaud.io/finalizer';

export const ANNOTATIONS = {
  /** "true": release the finalizer even when the provider cannot delete the VM (e.g. the provider is gone). */
  forceDelete: 'virtrigaud.io/force-delete',
  /** "true": create the VM again after the provider lost it (consumed once). */
  recreate: 'virtrigaud.io/recreate',
  /** Label "true": the VM exists already; never create it. */
  adopted: 'virtrigaud.io/adopted',
  /** Set while a postStart hook is owed for a power-on this reconciler issued. */
  postStartPending: 'virtrigaud.io/post-start-pending',
  /** uid of the VMSnapshot last reverted to through spec.snapshot.revertToRef. */
  revertedSnapshot: 'virtrigaud.io/reverted-snapshot',
} as const;

export interface VmLookups extends Lookups {
  /** `status.snapshots`: the ready VMSnapshots of this VM. */
  snapshotsOf(vm: VirtualMachine): VirtualMachineStatus['snapshots'];
  vmClassOf(vm: VirtualMachine): VMClass | undefined;
}

export interface VmTiming {
  /** Poll interval for provider tasks. */
  readonly pollMs: number;
  /** Steady-state re-check (describe) of a converged VM. */
  readonly resyncMs: number;
  /** Fallback re-check while a referenced object is missing. */
  readonly dependencyRetryMs: number;
  readonly errorRetryMs: number;
  /** Deadline of quick provider calls (describe, power, task status). */
  readonly callTimeoutMs: number;
  /** Deadline of long provider calls (create, reconfigure, snapshot). */
  readonly longCallTimeoutMs: number;
}

export const DEFAULT_VM_TIMING: VmTiming = {
  pollMs: 2_000,
  resyncMs: 60_000,
  dependencyRetryMs: 30_000,
  errorRetryMs: 5_000,
  callTimeoutMs: 30_000,
  longCallTimeoutMs: 300_000,
};

export interface VmReconcilerContext {
  readonly client: KubeClient;
  readonly vms: { get(key: string): VirtualMachine | undefined };
  readonly lookups: VmLookups;
  readonly connections: ProviderConnections;
  readonly secrets: SecretReader;
  readonly events: Pick<EventRecorder, 'event'>;
  readonly log: Logger;
  readonly timing: VmTiming;
  /** What lifecycle httpGet hooks may reach besides the VM (the operator's configuration). @default the VM only */
  readonly hookPolicy?: HookPolicy;
  /** Addresses of NICs on Static and Pool VMNetworkAttachments (the operator's `ipam` configuration). */
  readonly ipam: IpAllocator;
  /** Writes the draft when it differs from the stored status; updates `vm` in place. False: our view was stale, nothing written. */
  writeStatus(vm: VirtualMachine, draft: StatusDraft, opts?: { force?: boolean }): Promise<boolean>;
  /** Sets (or with undefined removes) one annotation with a merge patch; updates `vm` in place. */
  setAnnotation(vm: VirtualMachine, key: string, value: string | undefined): Promise<void>;
}

/**
 * Writes the draft through the shared writer (src/reconciler/runtime/status.ts):
 * condition messages redacted with the VM's Provider scope (a provider error
 * may quote a credential), refused when our view of the stored status was
 * stale (false: the caller looks again with fresh data). `force` writes
 * anyway (the provider id right after a create must never be dropped).
 */
export function statusWriter(client: KubeClient, redact: (s: string, vm: VirtualMachine) => string = (s) => s) {
  return async (vm: VirtualMachine, draft: StatusDraft, opts: { force?: boolean } = {}): Promise<boolean> => {
    // status.message: the one line a person reads first, the Ready condition's message.
    const ready = draft.getCondition('Ready');
    if (ready) draft.status.message = ready.message;
    return writeStatus(client, Kinds.VirtualMachine, vm, draft, { redact: (m) => redact(m, vm), unlessStale: !opts.force });
  };
}

export function annotationSetter(client: KubeClient) {
  return async (vm: VirtualMachine, key: string, value: string | undefined): Promise<void> => {
    const current = vm.metadata?.annotations?.[key];
    if (current === value) return;
    const patched = await client.patch<VirtualMachine>(Kinds.VirtualMachine, vm.metadata?.namespace, vm.metadata!.name!, { metadata: { annotations: { [key]: value ?? null } } }, { type: 'merge' });
    vm.metadata = { ...vm.metadata, annotations: patched.metadata?.annotations, resourceVersion: patched.metadata?.resourceVersion };
  };
}
