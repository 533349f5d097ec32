/**
 * What a VirtualMachine references, looked up in the informer caches:
 * Provider, VMClass, VMImage, VMNetworkAttachments, VMPlacementPolicy and
 * the cloud-init Secrets. Anything missing is named, all at once, so the
 * condition tells the user everything they still have to create.
 */
import type { Provider as ProviderObject } from '../../generated/provider';
import type { VirtualMachine } from '../../generated/virtual-machine';
import type { VMClass } from '../../generated/vm-class';
import type { VMImage } from '../../generated/vm-image';
import type { VMNetworkAttachment } from '../../generated/vm-network-attachment';
import type { VMPlacementPolicy } from '../../generated/vm-placement-policy';
import type { VMSnapshot } from '../../generated/vm-snapshot';
import { permitsReference } from '../consent';
import { refKey } from '../kinds';
import { mergeUserData } from './payload';
import { SecretNotFound, type SecretReader } from '../secrets';

/** Read access to the caches of the kinds a VM references (keys are `namespace/name`). */
export interface Lookups {
  provider(key: string): ProviderObject | undefined;
  vmClass(key: string): VMClass | undefined;
  vmImage(key: string): VMImage | undefined;
  networkAttachment(key: string): VMNetworkAttachment | undefined;
  placementPolicy(key: string): VMPlacementPolicy | undefined;
  snapshot(key: string): VMSnapshot | undefined;
  /** Labels of a namespace (for `allowedNamespaces.from: Selector`); undefined when not known. */
  namespaceLabels(ns: string): Readonly<Record<string, string>> | undefined;
}

export interface Dependencies {
  readonly provider: ProviderObject;
  readonly vmClass: VMClass;
  readonly image?: VMImage;
  readonly attachments: ReadonlyMap<string, VMNetworkAttachment>;
  readonly placementPolicy?: VMPlacementPolicy;
}

/** `notPermitted`: references into other namespaces whose target does not allow this VM's namespace. */
export type Resolution = { ok: true; deps: Dependencies } | { ok: false; missing: string[]; notPermitted: string[] };

export function resolveDependencies(vm: VirtualMachine, lookups: Lookups): Resolution {
  const ns = vm.metadata?.namespace ?? '';
  const spec = vm.spec;
  const missing: string[] = [];
  const notPermitted: string[] = [];
  const find = <T>(kind: string, key: string | undefined, get: (k: string) => T | undefined): T | undefined => {
    if (key === undefined) return undefined;
    const found = get(key);
    if (!found) missing.push(`${kind} "${key}"`);
    return found;
  };
  // A reference into another namespace counts only with the target's consent (spec.allowedNamespaces).
  const shared = <T extends Parameters<typeof permitsReference>[0]>(kind: string, key: string | undefined, get: (k: string) => T | undefined): T | undefined => {
    const found = find(kind, key, get);
    if (found && !permitsReference(found, ns, (n) => lookups.namespaceLabels(n))) {
      notPermitted.push(`${kind} "${key}" does not allow references from namespace ${ns} (its spec.allowedNamespaces)`);
      return undefined;
    }
    return found;
  };
  const provider = shared('Provider', spec?.providerRef && refKey(spec.providerRef, ns), (k) => lookups.provider(k));
  const vmClass = shared('VMClass', spec?.classRef && refKey(spec.classRef, ns), (k) => lookups.vmClass(k));
  const image = shared('VMImage', spec?.imageRef && refKey(spec.imageRef, ns), (k) => lookups.vmImage(k));
  const attachments = new Map<string, VMNetworkAttachment>();
  for (const nic of spec?.networks ?? []) {
    if (!nic.networkRef) continue;
    // Looked up in the VM's namespace: networkRef.namespace is not honoured (§3.2).
    const found = find('VMNetworkAttachment', `${ns}/${nic.networkRef.name}`, (k) => lookups.networkAttachment(k));
    if (found) attachments.set(nic.networkRef.name, found);
  }
  const placementPolicy = find('VMPlacementPolicy', spec?.placementRef && `${ns}/${spec.placementRef.name}`, (k) => lookups.placementPolicy(k));
  if (!spec?.providerRef) missing.push('spec.providerRef');
  if (!spec?.classRef) missing.push('spec.classRef');
  if (missing.length || notPermitted.length || !provider || !vmClass) return { ok: false, missing, notPermitted };
  return { ok: true, deps: { provider, vmClass, image, attachments, placementPolicy } };
}

const USER_DATA_KEYS = ['userdata', 'user-data', 'cloud-init', 'cloud-config'];
const META_DATA_KEYS = ['metadata', 'meta-data', 'meta_data'];
const IGNITION_KEYS = ['ignition', 'config.ign', 'userdata'];

/** cloud-init user-data and meta-data, merged from inline text and Secrets (VM-11). */
export async function readCloudInit(vm: VirtualMachine, secrets: SecretReader): Promise<{ userData?: string; metaData?: string; userDataFormat?: 'ignition' }> {
  const ns = vm.metadata?.namespace ?? '';
  const ud = vm.spec?.userData?.cloudInit;
  const md = vm.spec?.metaData?.cloudInit;
  const ign = vm.spec?.userData?.ignition;
  // Remembered for redaction under the VM's Provider: its errors may quote the user data.
  const scope = vm.spec?.providerRef?.name ? refKey(vm.spec.providerRef, ns) : '';
  const fromSecret = async (name: string | undefined, keys: string[]) => (name ? secrets.readFirstKey(ns, name, keys, scope) : undefined);
  const mdSecret = await fromSecret(md?.secretRef?.name, META_DATA_KEYS);
  const metaData = md?.inline !== undefined && mdSecret !== undefined ? `${md.inline}\n${mdSecret}` : (md?.inline ?? mdSecret);
  const meta = metaData !== undefined ? { metaData } : {};
  if (ign) {
    // One JSON document: nothing to merge, so inline and a Secret together are a mistake to name.
    if (ign.inline !== undefined && ign.secretRef) throw new Error('spec.userData.ignition: Invalid value: set inline or secretRef, not both (an Ignition config is one document)');
    const doc = ign.inline ?? (await fromSecret(ign.secretRef?.name, IGNITION_KEYS));
    return { ...(doc !== undefined ? { userData: doc, userDataFormat: 'ignition' as const } : {}), ...meta };
  }
  const userData = mergeUserData(ud?.inline, await fromSecret(ud?.secretRef?.name, USER_DATA_KEYS));
  return { ...(userData !== undefined ? { userData } : {}), ...meta };
}

export { SecretNotFound };

/**
 * The Provider a VM names, only when it exists and allows the VM's
 * namespace; otherwise why not (`reason` for a condition). Used wherever a
 * VM's provider is acted on (finalizer, snapshots), not only at create.
 */
export function providerOf(vm: VirtualMachine, lookups: Pick<Lookups, 'provider' | 'namespaceLabels'>): { provider: ProviderObject } | { reason: 'ProviderNotFound' | 'ReferenceNotPermitted'; message: string } {
  const ns = vm.metadata?.namespace ?? '';
  const ref = vm.spec?.providerRef;
  const key = ref ? refKey(ref, ns) : '(none)';
  const provider = ref ? lookups.provider(key) : undefined;
  if (!provider) return { reason: 'ProviderNotFound', message: `Provider "${key}" not found` };
  if (!permitsReference(provider, ns, (n) => lookups.namespaceLabels(n))) {
    return { reason: 'ReferenceNotPermitted', message: `Provider "${key}" does not allow references from namespace ${ns} (its spec.allowedNamespaces)` };
  }
  return { provider };
}
