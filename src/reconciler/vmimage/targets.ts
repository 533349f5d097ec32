/**
 * Where a VMImage is prepared: on the Provider of every VirtualMachine
 * that uses it (and the Provider `source.vsphere.providerRef` names), once
 * per Provider however many VMs share it. A VM counts only when its own
 * Provider reference is allowed (the VM reconciler's rule) and the image
 * allows the VM's namespace, so no tenant can make the image controller
 * call a Provider the tenant could not use itself.
 */
import { createHash } from 'node:crypto';
import type { Provider as ProviderObject } from '../../generated/provider';
import type { VMImage, VMImageStatus } from '../../generated/vm-image';
import { permitsReference } from '../consent';
import type { OperatorInformers } from '../informers';
import { VM_INDEX } from '../informers';
import { objectKey } from '../runtime';
import { providerOf } from '../vm/resolve';

export type ImageEntry = NonNullable<VMImageStatus['providerStatus']>[string];

/** The `status.providerStatus` key of a Provider: its name, or `namespace/name` when it is not in the image's namespace. */
export function entryKey(image: VMImage, provider: ProviderObject): string {
  const pns = provider.metadata?.namespace ?? '';
  return pns === (image.metadata?.namespace ?? '') ? provider.metadata!.name! : `${pns}/${provider.metadata!.name}`;
}

/** The Providers to prepare `image` on, by entry key. */
export function prepareTargets(image: VMImage, informers: Pick<OperatorInformers, 'vms' | 'providers' | 'namespaces'>): Map<string, ProviderObject> {
  const labels = (n: string) => informers.namespaces?.get(n)?.metadata?.labels;
  const out = new Map<string, ProviderObject>();
  for (const vm of informers.vms.byIndex(VM_INDEX.image, objectKey(image))) {
    if (vm.metadata?.deletionTimestamp || vm.status?.id) continue;
    if (!permitsReference(image, vm.metadata?.namespace ?? '', labels)) continue;
    const found = providerOf(vm, { provider: (k) => informers.providers.get(k), namespaceLabels: labels });
    if ('provider' in found) out.set(entryKey(image, found.provider), found.provider);
  }
  const named = image.spec?.source?.vsphere?.providerRef?.name;
  const own = named ? informers.providers.get(`${image.metadata?.namespace}/${named}`) : undefined;
  if (own) out.set(entryKey(image, own), own);
  return out;
}

/**
 * The name the image gets on a provider: from the image's uid and source,
 * so a changed source is a new image and VMs built on the old one keep it;
 * with `prepare.force`, the generation too (every change imports afresh).
 * No user text in it: it becomes a volume name on the host.
 */
export function targetName(image: VMImage): string {
  const parts = [image.metadata?.uid ?? '', JSON.stringify(image.spec?.source ?? {})];
  if (image.spec?.prepare?.force) parts.push(String(image.metadata?.generation ?? 0));
  return `vmimg-${createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16)}`;
}

/** How a VM may use `image` on `provider` now (the VM reconciler's gate before Create). */
export type ImageGate =
  | { readonly state: 'use'; readonly prepared?: { readonly id: string; readonly path: string } }
  | { readonly state: 'wait' | 'failed'; readonly message: string };

export function imageGate(image: VMImage, provider: ProviderObject): ImageGate {
  const key = entryKey(image, provider);
  const entry = image.status?.providerStatus?.[key];
  const name = `VMImage "${image.metadata?.namespace}/${image.metadata?.name}"`;
  if (!entry || entry.observedGeneration !== image.metadata?.generation) return { state: 'wait', message: `${name} is not prepared on Provider ${key} yet` };
  switch (entry.phase) {
    case 'Ready':
      return { state: 'use', prepared: entry.id ? { id: entry.id, path: entry.path ?? '' } : undefined };
    case 'Deferred':
      return { state: 'use' };
    case 'Failed':
      return { state: 'failed', message: `${name} could not be prepared on Provider ${key}: ${entry.message ?? 'failed'}` };
    default:
      return { state: 'wait', message: `${name} is being prepared on Provider ${key}${entry.message ? `: ${entry.message}` : ''}` };
  }
}
