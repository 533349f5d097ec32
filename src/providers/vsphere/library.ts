/**
 * Content library items: found by library and item name, deployed into a
 * placement. VM-template items go through `vm-template/library-items`
 * (deploy), OVF items through `ovf/library-item` (deploy). Both answer
 * with the new VM's moref; the caller configures it afterwards over SOAP,
 * as the template path does in its clone spec.
 */
import { ProviderError } from '../provider';
import type { LibraryItemRef } from './library-ref';
import type { CallOpts, MoRef } from './soap';
import type { VapiClient } from './vapi';

export interface LibraryItem {
  readonly id: string;
  readonly name: string;
  /** `vm-template`, `ovf`, `iso`, … */
  readonly type: string;
  readonly contentVersion: string;
}

export interface DeployTarget {
  readonly name: string;
  readonly folder: MoRef;
  readonly pool: MoRef;
  readonly host?: MoRef;
  readonly datastore?: MoRef;
}

const OP = 'Create';

/** The item a reference names; unknown library, item or version → InvalidSpec naming it. */
export async function findLibraryItem(v: VapiClient, r: LibraryItemRef, o?: CallOpts): Promise<LibraryItem> {
  const libs = await v.call<string[] | null>('POST', '/rest/com/vmware/content/library?~action=find', { spec: { name: r.library } }, OP, o);
  if (!libs?.length) throw new ProviderError('InvalidSpec', `Create: content library ${JSON.stringify(r.library)} not found`, OP);
  for (const lib of libs) {
    const items = await v.call<string[] | null>('POST', '/rest/com/vmware/content/library/item?~action=find', { spec: { library_id: lib, name: r.item } }, OP, o);
    for (const id of items ?? []) {
      const info = await v.call<{ name?: string; type?: string; content_version?: string }>('GET', `/rest/com/vmware/content/library/item/id:${encodeURIComponent(id)}`, undefined, OP, o);
      const item: LibraryItem = { id, name: info.name ?? r.item, type: info.type ?? '', contentVersion: info.content_version ?? '' };
      if (r.version && item.contentVersion && item.contentVersion !== r.version) {
        throw new ProviderError('InvalidSpec', `Create: content library item ${JSON.stringify(`${r.library}/${r.item}`)} is at version ${item.contentVersion}, not ${r.version}`, OP);
      }
      return item;
    }
  }
  throw new ProviderError('InvalidSpec', `Create: item ${JSON.stringify(r.item)} not found in content library ${JSON.stringify(r.library)}`, OP);
}

/** Deploys the item powered off; returns the VM's moref value. */
export async function deployLibraryItem(v: VapiClient, item: LibraryItem, t: DeployTarget, o?: CallOpts): Promise<string> {
  if (item.type === 'vm-template') {
    const storage = t.datastore ? { datastore: t.datastore.value } : undefined;
    const spec = {
      name: t.name,
      placement: { folder: t.folder.value, resource_pool: t.pool.value, ...(t.host ? { host: t.host.value } : {}) },
      ...(storage ? { disk_storage: storage, vm_home_storage: storage } : {}),
      powered_on: false,
    };
    const vm = await v.call<unknown>('POST', `/rest/vcenter/vm-template/library-items/${encodeURIComponent(item.id)}?action=deploy`, { spec }, OP, o);
    if (typeof vm !== 'string' || !vm) throw new ProviderError('Internal', `Create: deploying ${item.name} returned no VM`, OP);
    return vm;
  }
  if (item.type === 'ovf') {
    const body = {
      deployment_spec: { name: t.name, accept_all_EULA: true, ...(t.datastore ? { default_datastore_id: t.datastore.value } : {}) },
      target: { resource_pool_id: t.pool.value, folder_id: t.folder.value, ...(t.host ? { host_id: t.host.value } : {}) },
    };
    type Deployment = { succeeded?: boolean; resource_id?: { id?: string }; error?: { errors?: { error?: { messages?: { default_message?: string }[] } }[] } };
    const d = await v.call<Deployment>('POST', `/rest/com/vmware/vcenter/ovf/library-item/id:${encodeURIComponent(item.id)}?~action=deploy`, body, OP, o);
    if (d?.succeeded && d.resource_id?.id) return d.resource_id.id;
    const why = (d?.error?.errors ?? []).flatMap((e) => e.error?.messages ?? []).map((m) => m.default_message).filter(Boolean).join('; ');
    // vCenter's OVF errors are mostly about the package or the target (EULA, networks, capacity).
    throw new ProviderError('InvalidSpec', `Create: OVF deploy of ${JSON.stringify(item.name)} failed${why ? `: ${why}` : ''}`, OP);
  }
  throw new ProviderError('InvalidSpec', `Create: content library item ${JSON.stringify(item.name)} is of type ${JSON.stringify(item.type)}; only vm-template and ovf items can be deployed`, OP);
}
