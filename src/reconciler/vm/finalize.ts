/**
 * Deleting a VirtualMachine through its finalizer: preStop hook, power off,
 * delete on the provider (its task awaited), then release. When the
 * provider cannot be reached the finalizer stays, so no VM is orphaned on
 * the hypervisor, unless the user says so with `virtrigaud.io/force-delete`.
 */
import type { VirtualMachine } from '../../generated/virtual-machine';
import { isProviderError, type Provider } from '../../providers/provider';
import { Kinds } from '../kinds';
import { hasFinalizer, removeFinalizer, type Result } from '../runtime';
import { releaseAddresses } from '../ipam/nics';
import { ANNOTATIONS, VM_FINALIZER, type VmReconcilerContext } from './context';
import { runHook } from './hooks';
import { StatusDraft } from './status-draft';
import { pollTask } from '../task';
import { findByUid, isForeign } from './identity';
import { providerOf } from './resolve';

export async function finalizeVM(ctx: VmReconcilerContext, vm: VirtualMachine, signal: AbortSignal): Promise<Result | void> {
  if (!hasFinalizer(vm, VM_FINALIZER)) return;
  const draft = new StatusDraft(vm);
  const id = draft.id;
  const force = vm.metadata?.annotations?.[ANNOTATIONS.forceDelete] === 'true';
  const release = async (reason: string, message: string, type: 'Normal' | 'Warning' = 'Normal') => {
    // Its addresses go with the VM; a force-deleted VM may still run with them, so its Leases stay (docs/reconciler.md).
    if (reason !== 'ForceDeleted') await releaseAddresses(ctx.ipam, vm);
    ctx.events.event(vm, type, reason, message);
    await removeFinalizer(ctx.client, Kinds.VirtualMachine, vm, VM_FINALIZER);
  };

  const blocked = async (reason: string, message: string): Promise<Result> => {
    if (force) {
      await release('ForceDeleted', `${message}; released because of annotation ${ANNOTATIONS.forceDelete}="true" (VM ${id} may remain on the hypervisor)`, 'Warning');
      return {};
    }
    const full = `${message}; the VM stays until it can be deleted (annotation ${ANNOTATIONS.forceDelete}="true" releases it without deleting it)`;
    if (draft.conditionChanges('Ready', false, reason)) ctx.events.event(vm, 'Warning', reason, full);
    draft.status.phase = 'Deleting';
    draft.condition('Ready', false, reason, full);
    await ctx.writeStatus(vm, draft);
    return { requeue: true };
  };

  // Without an id and without a recorded create intent, nothing was ever asked of a provider.
  const intent = draft.status.phase === 'Provisioning' || draft.status.phase === 'Deleting';
  if (!id && !intent) return release('Deleted', 'no VM was created on the provider; nothing to delete');

  const found = providerOf(vm, ctx.lookups);
  if (!('provider' in found)) {
    // Consent withdrawn after a create: the VM may exist there, so it is not released silently (no orphan).
    return blocked(found.reason, found.reason === 'ReferenceNotPermitted' ? `${found.message}, but a VM may have been created through it before` : found.message);
  }
  const providerObj = found.provider;
  let provider: Provider;
  try {
    provider = await ctx.connections.get(providerObj);
  } catch (err) {
    return blocked('ProviderNotReady', `cannot reach the provider: ${(err as Error).message}`);
  }

  try {
    const call = { signal, timeoutMs: ctx.timing.callTimeoutMs };
    if (!id) {
      // Deleted in the crash window of a create (intent recorded, id not): the VM may exist. Look it up by uid.
      const recovered = await findByUid(provider, vm, { signal, timeoutMs: ctx.timing.longCallTimeoutMs });
      if (!recovered) return release('Deleted', 'no VM with this object\'s uid exists on the provider; nothing to delete');
      draft.status.id = recovered;
      ctx.events.event(vm, 'Normal', 'Recovered', `found VM ${recovered} created by an interrupted create; deleting it`);
      await ctx.writeStatus(vm, draft, { force: true });
      return { requeueAfterMs: 1 };
    }
    if (draft.status.phase !== 'Deleting') {
      draft.status.phase = 'Deleting';
      draft.condition('Ready', false, 'Deleting', `deleting VM ${id}`);
      ctx.events.event(vm, 'Normal', 'Deleting', `deleting VM ${id}`);
      await ctx.writeStatus(vm, draft);
    }
    if (draft.status.lastTaskRef) {
      const st = await pollTask(provider, draft.status.lastTaskRef, call);
      if (!st.done) return { requeueAfterMs: ctx.timing.pollMs };
      draft.status.lastTaskRef = undefined;
      if (st.error) ctx.events.event(vm, 'Warning', 'TaskFailed', `provider task failed: ${st.error}`);
    }
    const desc = await provider.describe(id, call);
    if (!desc.exists) return release('Deleted', `VM ${id} deleted from the provider`);
    if (isForeign(desc.uid, vm)) return release('Deleted', `VM ${id} on the provider belongs to another VirtualMachine (uid ${desc.uid}); left untouched`, 'Warning');
    if (desc.powerState === 'On') {
      const outcome = await runHook('preStop', vm, provider, desc.ips, signal, ctx.hookPolicy);
      if (outcome) ctx.events.event(vm, outcome.ok ? 'Normal' : 'Warning', outcome.ok ? 'PreStopHook' : 'PreStopHookFailed', outcome.detail);
      const task = await provider.power(id, 'Off', 0, call);
      draft.status.lastTaskRef = task?.id || undefined;
      await ctx.writeStatus(vm, draft);
      return { requeueAfterMs: task?.id ? ctx.timing.pollMs : 1 };
    }
    const task = await provider.delete(id, { signal, timeoutMs: ctx.timing.longCallTimeoutMs });
    draft.status.lastTaskRef = task?.id || undefined;
    await ctx.writeStatus(vm, draft);
    return { requeueAfterMs: task?.id ? ctx.timing.pollMs : 1 };
  } catch (err) {
    if (isProviderError(err, 'NotFound')) return release('Deleted', `VM ${id} is gone from the provider`);
    return blocked('ProviderError', `deleting VM ${id}: ${(err as Error).message}`);
  }
}
