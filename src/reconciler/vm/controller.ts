/** The VirtualMachine controller: the reconciler, its caches and the watches that wake it. */
import type { VirtualMachine } from '../../generated/virtual-machine';
import { Validator } from '../../validate';
import type { OperatorInformers } from '../informers';
import { VM_INDEX } from '../informers';
import { refKey } from '../kinds';
import type { ControllerDeps } from '../deps';
import { Controller, defaultPredicate, objectKey, type EventRecorder, type Logger, type Result } from '../runtime';
import type { SecretReader } from '../secrets';
import { annotationSetter, DEFAULT_VM_TIMING, statusWriter, type VmLookups, type VmTiming } from './context';
import type { HookPolicy } from './hooks';
import { IpAllocator } from '../ipam/allocator';
import { VmReconciler } from './reconciler';
import { StatusDraft } from './status-draft';

export interface VmControllerOptions extends ControllerDeps {
  readonly secrets: SecretReader;
  readonly timing?: Partial<VmTiming>;
  /** @default 10 */
  readonly workers?: number;
  /** The operator's limits on lifecycle httpGet targets. @default the VM's own addresses only */
  readonly hookPolicy?: HookPolicy;
  /** VMs of one Provider reconciled at once at most (fair share of `workers`). @default 4 */
  readonly perProviderConcurrency?: number;
  /** Address allocation for Static and Pool attachments. @default no pools, Leases in virtrigaud-system */
  readonly ipam?: IpAllocator;
}

/** The work-queue shard of VMs whose Provider is not in the cache (or that are gone themselves). */
export const UNKNOWN_PROVIDER_SHARD = '<unknown>';

/** The shard of a VM key: its Provider's `namespace/name` when that Provider is known. */
export function providerShard(i: Pick<OperatorInformers, 'vms' | 'providers'>): (key: string) => string {
  return (key) => {
    const vm = i.vms.get(key);
    const ref = vm?.spec?.providerRef;
    if (!ref?.name) return UNKNOWN_PROVIDER_SHARD;
    const provider = refKey(ref, vm!.metadata?.namespace ?? '');
    // Only existing Providers name a shard, so the shards (and their metric series) stay as few as the Providers.
    return i.providers.get(provider) ? provider : UNKNOWN_PROVIDER_SHARD;
  };
}

export function lookupsFrom(i: OperatorInformers): VmLookups {
  return {
    provider: (k) => i.providers.get(k),
    vmClass: (k) => i.classes.get(k),
    vmImage: (k) => i.images.get(k),
    networkAttachment: (k) => i.networks.get(k),
    placementPolicy: (k) => i.placements.get(k),
    snapshot: (k) => i.snapshots.get(k),
    namespaceLabels: (ns) => i.namespaces?.get(ns)?.metadata?.labels,
    vmClassOf: (vm) => (vm.spec?.classRef ? i.classes.get(`${vm.spec.classRef.namespace || vm.metadata?.namespace}/${vm.spec.classRef.name}`) : undefined),
    snapshotsOf: (vm) => {
      const ready = i.snapshots
        .byIndex('vm', `${vm.metadata?.namespace}/${vm.metadata?.name}`)
        .filter((s) => s.status?.phase === 'Ready' && s.status.snapshotID)
        .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
      if (!ready.length) return undefined;
      return ready.map((s) => ({
        id: s.status!.snapshotID!,
        name: s.metadata!.name!,
        creationTime: s.status?.creationTime ?? s.metadata?.creationTimestamp?.toString() ?? '',
        ...(s.spec?.snapshotConfig?.description ? { description: s.spec.snapshotConfig.description } : {}),
        ...(s.spec?.snapshotConfig?.includeMemory !== undefined ? { hasMemory: s.spec.snapshotConfig.includeMemory } : {}),
      }));
    },
  };
}

export function createVmController(o: VmControllerOptions): Controller {
  const log = o.logger.child({ controller: 'virtualmachine' });
  const validator = new Validator();
  // The recorder's redaction: the VM's Provider scope (src/reconciler/secrets.ts), for its Events and conditions alike.
  const redact = (text: string, vm: VirtualMachine) => o.events.redact(vm, text);
  const ipam = o.ipam ?? new IpAllocator(o.client, 'virtrigaud-system', []);
  const reconciler = new VmReconciler({
    client: o.client,
    vms: o.informers.vms,
    lookups: lookupsFrom(o.informers),
    connections: o.connections,
    secrets: o.secrets,
    events: loggedEvents(o.events, log, redact),
    log,
    timing: { ...DEFAULT_VM_TIMING, ...o.timing },
    ...(o.hookPolicy ? { hookPolicy: o.hookPolicy } : {}),
    ipam,
    writeStatus: statusWriter(o.client, redact),
    setAnnotation: annotationSetter(o.client),
  });
  const controller = new Controller({
    name: 'virtualmachine',
    workers: o.workers ?? 10,
    // Fair share per Provider: one slow or failing hypervisor holds at most perProviderConcurrency workers.
    shardOf: providerShard(o.informers),
    perShardConcurrency: o.perProviderConcurrency ?? 4,
    logger: o.logger,
    metrics: o.metrics,
    reconcile: async (key, signal): Promise<Result | void> => {
      // Objects stored under an older schema are not re-validated by the API server: check them with the same validator.
      const vm = o.informers.vms.get(key);
      if (vm && !vm.metadata?.deletionTimestamp) {
        const { status: _status, ...withoutStatus } = vm;
        const verdict = validator.validateObject(withoutStatus);
        if (!verdict.valid) return reportInvalid(o, vm, verdict.errors.map((e) => `${e.field}: ${e.message}`).join('; '));
      }
      return reconciler.reconcile(key, signal);
    },
  });
  const i = o.informers;
  controller.watch(i.vms);
  const wake = (index: string) => (obj: { metadata?: { namespace?: string; name?: string } }) =>
    i.vms.byIndex(index, `${obj.metadata?.namespace}/${obj.metadata?.name}`).map((vm) => objectKey(vm));
  // Referenced objects wake their VMs on any change; Provider status matters too (runtime phase, health).
  const anyChange = (obj: any, old?: any) => !old || obj?.metadata?.resourceVersion !== old?.metadata?.resourceVersion;
  controller.watch(i.providers, { mapFn: wake(VM_INDEX.provider), predicate: providerChanged });
  controller.watch(i.classes, { mapFn: wake(VM_INDEX.class) });
  // An image's spec, and its per-Provider preparation (what a new VM waits for: vmimage/targets.ts imageGate).
  const imageChanged = (img: any, old?: any) => defaultPredicate(img, old) || JSON.stringify(img?.status?.providerStatus ?? null) !== JSON.stringify(old?.status?.providerStatus ?? null);
  controller.watch(i.images, { mapFn: wake(VM_INDEX.image), predicate: imageChanged });
  controller.watch(i.networks, { mapFn: wake(VM_INDEX.network) });
  controller.watch(i.placements, { mapFn: wake(VM_INDEX.placement) });
  // A snapshot wakes the VMs reverting to it and its own VM (status.snapshots).
  controller.watch(i.snapshots, {
    mapFn: (s) => [...new Set([...wake(VM_INDEX.snapshot)(s), ...(s.spec?.vmRef?.name ? [`${s.metadata?.namespace}/${s.spec.vmRef.name}`] : [])])],
    predicate: anyChange,
  });
  // A released address may be what a VM on a full pool, or one waiting for a static address, waits for.
  const waitingForAddress = (vm: VirtualMachine) => vm.status?.conditions?.some((c) => c.type === 'Ready' && (c.reason === 'IPPoolExhausted' || c.reason === 'AddressInUse'));
  ipam.onRelease(() => {
    for (const vm of i.vms.list()) if (waitingForAddress(vm)) controller.queue.add(objectKey(vm));
  });
  return controller;
}

/** Every Event is also a log line, so the log tells the same story as `kubectl get events`. */
export function loggedEvents(recorder: Pick<EventRecorder, 'event'>, log: Logger, redact: (s: string, obj: any) => string): Pick<EventRecorder, 'event'> {
  return {
    event(obj: any, type: 'Normal' | 'Warning', reason: string, raw: string) {
      const message = redact(raw, obj);
      recorder.event(obj, type, reason, message);
      const fields = { object: `${obj?.metadata?.namespace}/${obj?.metadata?.name}`, reason };
      if (type === 'Warning') log.warn(message, fields);
      else log.info(message, fields);
    },
  };
}

/** Provider changes that matter to its VMs: spec, annotations, deletion, and the runtime/health part of status. */
function providerChanged(obj: any, old?: any): boolean {
  if (!old) return true;
  const pick = (p: any) => JSON.stringify([p?.metadata?.generation, p?.metadata?.annotations, p?.metadata?.deletionTimestamp, p?.status?.runtime?.phase, p?.status?.runtime?.endpoint, p?.status?.healthy]);
  return pick(obj) !== pick(old);
}

async function reportInvalid(o: VmControllerOptions, cached: VirtualMachine, errors: string): Promise<Result> {
  const vm = structuredClone(cached);
  const draft = new StatusDraft(vm);
  const message = `the stored object does not pass the current schema: ${errors}`;
  if (draft.conditionChanges('Ready', false, 'InvalidSpec')) o.events.event(vm, 'Warning', 'InvalidSpec', message);
  draft.condition('Ready', false, 'InvalidSpec', message);
  await statusWriter(o.client)(vm, draft);
  return {};
}
