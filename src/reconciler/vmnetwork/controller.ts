/**
 * The VMNetworkAttachment controller: status only (an attachment has
 * nothing to create on a hypervisor; NICs are made with their VMs). It
 * counts the VMs whose NICs use the attachment, lists the addresses they
 * hold (from the allocator's Leases), names the Providers it is in use on,
 * and says in `Ready` whether its `ipAllocation` can be served (an unknown
 * pool, one not offered to the namespace, a static address inside an
 * operator pool are `Ready=False` with the rule). Writes only on change.
 */
import type { VMNetworkAttachment, VMNetworkAttachmentStatus } from '../../generated/vm-network-attachment';
import type { ControllerDeps } from '../deps';
import { VM_INDEX } from '../informers';
import type { IpAllocator } from '../ipam/allocator';
import { addressSource, AddressingError } from '../ipam/nics';
import { Kinds, refKey } from '../kinds';
import { Controller, OwnWrites, StatusDraft, type Result } from '../runtime';

export interface VmNetworkControllerOptions extends ControllerDeps {
  readonly ipam: IpAllocator;
}

export function createVmNetworkController(o: VmNetworkControllerOptions): Controller {
  const i = o.informers;
  // Our last write while the cache lags (a write with the cached resourceVersion would be a 409).
  const own = new OwnWrites<VMNetworkAttachmentStatus>();
  const reconcile = async (key: string): Promise<Result | void> => {
    const cached = i.networks.get(key);
    if (!cached || cached.metadata?.deletionTimestamp) {
      own.forget(key);
      return;
    }
    const att: VMNetworkAttachment = structuredClone(cached);
    own.apply(key, att);
    const ns = att.metadata?.namespace ?? '';
    const vms = i.vms.byIndex(VM_INDEX.network, key);
    const draft = new StatusDraft<VMNetworkAttachmentStatus>(att);
    draft.status.connectedVMs = vms.length;
    const providers = [...new Set(vms.filter((vm) => vm.status?.id && vm.spec?.providerRef).map((vm) => refKey(vm.spec!.providerRef!, ns)))].sort();
    draft.status.availableOn = providers.length ? providers.map((p) => (p.startsWith(`${ns}/`) ? p.slice(ns.length + 1) : p)) : undefined;
    let refusal: AddressingError | undefined;
    let allocations: NonNullable<VMNetworkAttachmentStatus['ipAllocations']> = [];
    try {
      const source = addressSource(o.ipam, att, ns);
      if (source) {
        const connected = new Set(vms.map((vm) => `${ns}/${vm.metadata?.name}`));
        const leases = (await o.ipam.leasesIn(source.scope)).filter((l) => connected.has(l.vm) && (source.kind === 'Pool' || l.address === source.ip));
        allocations = leases
          .map((l) => ({ ip: l.address, vm: l.vm.slice(ns.length + 1), ...(l.since ? { allocatedAt: l.since } : {}) }))
          .sort((a, b) => a.ip.localeCompare(b.ip, undefined, { numeric: true }) || a.vm.localeCompare(b.vm));
      }
    } catch (err) {
      if (!(err instanceof AddressingError)) throw err;
      refusal = err;
    }
    draft.status.ipAllocations = allocations.length ? allocations : undefined;
    const summary = `${vms.length} VM${vms.length === 1 ? '' : 's'} connected${allocations.length ? `, ${allocations.length} address${allocations.length === 1 ? '' : 'es'} allocated` : ''}`;
    if (refusal) {
      draft.status.phase = 'Failed';
      draft.status.ready = false;
      draft.report(o.events, 'Ready', false, refusal.reason, refusal.message);
    } else {
      draft.status.phase = 'Ready';
      draft.status.ready = true;
      draft.condition('Ready', true, 'Configured', summary);
    }
    draft.status.message = draft.getCondition('Ready')?.message;
    draft.status.observedGeneration = att.metadata?.generation;
    await own.write(o.client, Kinds.VMNetworkAttachment, key, att, draft, { redact: (m) => o.events.redact(att, m) });
  };
  const controller = new Controller({ name: 'vmnetworkattachment', workers: 2, logger: o.logger, metrics: o.metrics, reconcile });
  controller.watch(i.networks);
  // A VM that starts or stops using an attachment, gets created on its Provider, or goes.
  const keysOf = (vm: { spec?: { networks?: { networkRef?: { name: string } }[] }; metadata?: { namespace?: string } }) =>
    (vm.spec?.networks ?? []).flatMap((n) => (n.networkRef ? [`${vm.metadata?.namespace}/${n.networkRef.name}`] : []));
  controller.watch(i.vms, {
    mapFn: (vm) => keysOf(vm),
    predicate: (vm, old) => !old || vm === old || JSON.stringify(keysOf(vm)) !== JSON.stringify(keysOf(old)) || !!vm.status?.id !== !!old.status?.id,
  });
  // Addresses claimed or released: the allocating attachments of those VMs' namespaces list them (an attachment lists its own namespace's VMs only).
  const allocating = (namespaces: ReadonlySet<string>) => {
    for (const a of i.networks.list()) {
      const t = a.spec?.ipAllocation?.type;
      if ((t === 'Static' || t === 'Pool') && namespaces.has(a.metadata?.namespace ?? '')) controller.queue.add(`${a.metadata?.namespace}/${a.metadata?.name}`);
    }
  };
  o.ipam.onClaim(allocating);
  o.ipam.onRelease(allocating);
  return controller;
}
