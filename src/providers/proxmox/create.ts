/**
 * Create by cloning a template: vmid from `/cluster/nextid` (serialised in
 * this process, and retried when another client took the id first), the
 * clone task awaited, then the size, NICs, cloud-init and data disks set by
 * `PUT /config` (synchronous). A create that fails after the clone removes
 * what it made.
 */
import { ProviderError, type CreateRequest } from '../provider';
import { requestUid } from '../uid';
import type { PveClient } from './client';
import { cloudInit, description, isCreating, needsSnippet, netConfig, requireSize, sizeConfig, snippetName, uidOf } from './config';
import { isMissing } from './errors';
import type { ProxmoxLimits } from './limits';
import { awaitUpid } from './tasks';
import { diskSizeGiB, disksOf, resources, vmPath, type Config, type Resource, type VmRef } from './vm';

export interface CreateContext {
  readonly client: PveClient;
  readonly limits: ProxmoxLimits;
  readonly defaults: Readonly<Record<string, string>>;
  /** Serialises nextid + clone POST in this process. */
  readonly idLock: { chain: Promise<unknown> };
}

const TAG = /^[a-z0-9_][a-z0-9_.+-]*$/;

export async function findTemplate(c: PveClient, ref: string, op: string): Promise<Resource> {
  const all = await resources(c, op);
  const t = all.find((r) => r.template === 1 && (String(r.vmid) === ref || r.name === ref));
  if (!t) throw new ProviderError('InvalidSpec', `${op}: image: no Proxmox VE template ${JSON.stringify(ref)} (give a template's VMID or name)`, op);
  return t;
}

/** Clones `src` to a fresh vmid; returns the new VM. */
export async function cloneTo(ctx: CreateContext, src: VmRef, name: string, params: Record<string, string | number>, op: string): Promise<VmRef> {
  const run = async (): Promise<{ ref: VmRef; upid: unknown }> => {
    for (let attempt = 0; ; attempt++) {
      const newid = Number(await ctx.client.get<string>('/cluster/nextid', {}, op));
      try {
        const upid = await ctx.client.post(`${vmPath(src)}/clone`, { newid, name, ...params }, op);
        return { ref: { node: String(params.target ?? src.node), vmid: newid }, upid };
      } catch (e) {
        if (attempt < 5 && e instanceof ProviderError && /already exists|unable to create VM \d+/.test(e.message)) continue;
        throw e;
      }
    }
  };
  const next = ctx.idLock.chain.then(run, run);
  ctx.idLock.chain = next.catch(() => undefined);
  const { ref, upid } = await next;
  await awaitUpid(ctx.client, upid, op);
  return ref;
}

/**
 * The node a new VM is cloned onto: the tenant's `spec.placement.cluster`,
 * else the Provider's `spec.defaults.cluster`, else the template's own node.
 * With no nodes listed only the template's node passes.
 */
export function targetNode(ctx: CreateContext, req: Pick<CreateRequest, 'placement'>, templateNode: string, op: string): string {
  const named = req.placement?.Cluster ? { v: req.placement.Cluster, field: 'spec.placement.cluster' } : ctx.defaults.cluster ? { v: ctx.defaults.cluster, field: 'Provider spec.defaults.cluster' } : undefined;
  if (!named) return templateNode;
  ctx.limits.check('node', named.v, op, named.field, templateNode);
  return named.v;
}

/**
 * The storage for a VM's disks (clone target and data disks): the tenant's
 * `spec.placement.datastore`, else the Provider's `spec.defaults.datastore`,
 * else the operator's first listed storage; '' (the template's storage)
 * when none. A named storage must be one the operator lists.
 */
export function diskStorage(ctx: CreateContext, placement: CreateRequest['placement'] | null | undefined, op: string): string {
  const named = placement?.Datastore ? { v: placement.Datastore, field: 'spec.placement.datastore' } : ctx.defaults.datastore ? { v: ctx.defaults.datastore, field: 'Provider spec.defaults.datastore' } : undefined;
  if (!named) return ctx.limits.first('storage') ?? '';
  ctx.limits.check('storage', named.v, op, named.field);
  return named.v;
}

export async function createVm(ctx: CreateContext, req: CreateRequest): Promise<VmRef> {
  const op = 'Create';
  requireSize(op, req.class.CPU, req.class.MemoryMiB);
  const uid = requestUid(req, op);
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(req.name)) throw new ProviderError('InvalidSpec', `${op}: name ${JSON.stringify(req.name)} is not a valid Proxmox VM name (a DNS name)`, op);
  const all = await resources(ctx.client, op);
  const tmpl = await findTemplate(ctx.client, req.image.TemplateName, op);
  // The template's node is where PVE says the template lives: nothing of the tenant's names it.
  ctx.limits.check('node', tmpl.node, op, `image (template ${tmpl.vmid} is on node ${tmpl.node})`, tmpl.node);
  const target = targetNode(ctx, req, tmpl.node, op);
  const storage = diskStorage(ctx, req.placement, op);
  const clone = await cloneParams(ctx, req, { node: tmpl.node, vmid: tmpl.vmid }, storage, op);
  const nets = netConfig(req.networks, ctx.limits, ctx.defaults.network, op);
  const ci: Record<string, string> = cloudInit(req.userData);
  if (req.userData && needsSnippet(req.userData)) ci.cicustom = `user=${await snippetVolume(ctx, target, req.userData, op)}`;
  // A VM of this name: ours from an earlier attempt (same uid) is resumed, anyone else's is refused.
  let ref: VmRef | undefined;
  for (const r of all.filter((x) => x.name === req.name && x.template !== 1)) {
    const cfg = await ctx.client.get<Config>(`${vmPath(r)}/config`, {}, op).catch((e: unknown) => { if (isMissing(e)) return undefined; throw e; });
    if (!cfg) continue;
    const desc = String(cfg.description ?? '');
    if (!uid || uidOf(desc) !== uid) throw new ProviderError('InvalidSpec', `${op}: a VM named ${JSON.stringify(req.name)} already exists (${r.node}/${r.vmid}${uidOf(desc) ? `, uid ${uidOf(desc)}` : ''})`, op);
    if (!isCreating(desc)) return { node: r.node, vmid: r.vmid };
    if (cfg.lock) throw new ProviderError('Retryable', `${op}: VM ${r.node}/${r.vmid} (uid ${uid}) from an earlier attempt is locked (${cfg.lock}); its clone has not finished`, op);
    ref = { node: r.node, vmid: r.vmid };
  }
  if (!ref) {
    const params: Record<string, string | number> = { ...clone, description: description(uid, true) };
    if (target !== tmpl.node) params.target = target;
    // An error while waiting for the clone leaves the clone marked "creating": the next Create resumes it.
    ref = await cloneTo(ctx, { node: tmpl.node, vmid: tmpl.vmid }, req.name, params, op);
  }
  try {
    const tags = req.tags.filter((t) => TAG.test(t)).join(';');
    await ctx.client.put(`${vmPath(ref)}/config`, { ...sizeConfig(req.class), ...nets, ...ci, ...(tags ? { tags } : {}) }, op);
    await addDisks(ctx, ref, req.disks, storage, op);
    // Last: only a finished VM carries its uid without the "creating" mark.
    await ctx.client.put(`${vmPath(ref)}/config`, { description: description(uid) }, op);
  } catch (e) {
    // Transient trouble keeps the clone for the next attempt to resume; a refused configuration removes it.
    if (!(e instanceof ProviderError && e.category === 'Retryable')) {
      await ctx.client.delete(vmPath(ref), { purge: 1, 'destroy-unreferenced-disks': 1 }, op).then((u) => awaitUpid(ctx.client, u, op)).catch(() => undefined);
    }
    throw e;
  }
  return ref;
}

/**
 * The volume of the snippet holding `userData` (`<storage>:snippets/<name>`)
 * on a storage of `node` with the snippets content type. PVE's API cannot
 * write snippets, so it must be there already: until it is, the create is
 * Retryable and says which file to place where (never the content: it may
 * hold secrets).
 */
export async function snippetVolume(ctx: CreateContext, node: string, userData: string, op: string): Promise<string> {
  const name = snippetName(userData);
  const stores = (await ctx.client.get<{ storage: string; active?: number; enabled?: number }[]>(`/nodes/${node}/storage`, { content: 'snippets' }, op))
    .filter((s) => s.active !== 0 && s.enabled !== 0).map((s) => s.storage);
  if (!stores.length) throw new ProviderError('InvalidSpec', `${op}: userData: this user-data needs a cicustom snippet, and node ${node} has no storage with the snippets content type (the operator enables it: pvesm set <storage> --content ...,snippets)`, op);
  for (const s of stores) {
    const items = await ctx.client.get<{ volid: string }[]>(`/nodes/${node}/storage/${encodeURIComponent(s)}/content`, { content: 'snippets' }, op);
    const volid = `${s}:snippets/${name}`;
    if (items.some((i) => i.volid === volid)) return volid;
  }
  throw new ProviderError('Retryable', `${op}: userData: this user-data needs a cicustom snippet; place it as snippets/${name} on storage ${stores[0]} of node ${node} (PVE's API cannot write snippets; the name is the content's sha256)`, op);
}

/**
 * Full or linked clone, and the storage and format of a full one. A linked
 * clone (`fullClone: false`) shares the template's base volumes, so it takes
 * neither a storage nor a format (PVE refuses both).
 */
export async function cloneParams(ctx: CreateContext, req: CreateRequest, tmpl: VmRef, storage: string, op: string): Promise<Record<string, string | number>> {
  const img = req.image;
  const linked = img.FullClone === false;
  let store = storage;
  if (img.Storage) {
    ctx.limits.check('storage', img.Storage, op, 'image source.proxmox.storage');
    if (!req.placement?.Datastore && !ctx.defaults.datastore) store = img.Storage;
  }
  if (linked) {
    if (img.Storage) throw new ProviderError('InvalidSpec', `${op}: image source.proxmox.storage: Invalid value: ${JSON.stringify(img.Storage)}: a linked clone (fullClone: false) stays on its template's storage`, op);
    // The boot disk stays with the template's base volume; data disks still go to the VM's storage.
    return { full: 0 };
  }
  const format = ['raw', 'qcow2', 'vmdk'].includes(img.Format) ? img.Format : '';
  return { full: 1, ...(store ? { storage: store } : {}), ...(format && (await fileStorage(ctx, tmpl, store, op)) ? { format } : {}) };
}

/** Storage types whose volumes are files in a format of choice; the others (LVM, ZFS, RBD...) are raw only. */
const FILE_STORAGES = new Set(['dir', 'nfs', 'cifs', 'glusterfs', 'cephfs', 'btrfs']);

/**
 * True when the clone's disks land on a file storage, where a format
 * (`source.proxmox.format`, qcow2 by the CRD's default) can be chosen. On a
 * block storage PVE refuses any format but raw, so none is sent there.
 */
async function fileStorage(ctx: CreateContext, tmpl: VmRef, store: string, op: string): Promise<boolean> {
  let sid = store;
  if (!sid) {
    const cfg = await ctx.client.get<Config>(`${vmPath(tmpl)}/config`, {}, op);
    sid = disksOf(cfg)[0]?.value.split(':')[0] ?? '';
  }
  if (!sid) return false;
  const list = await ctx.client.get<{ storage: string; type: string }[]>(`/nodes/${tmpl.node}/storage`, {}, op);
  return FILE_STORAGES.has(list.find((x) => x.storage === sid)?.type ?? '');
}

/** Data disks after the boot disk: added when missing, grown when smaller (PVE never shrinks). */
export async function addDisks(ctx: CreateContext, ref: VmRef, disks: readonly { SizeGiB: number; Name: string }[], storage: string, op: string): Promise<void> {
  const cfg = await ctx.client.get<Config>(`${vmPath(ref)}/config`, {}, op);
  const have = disksOf(cfg);
  const boot = have[0];
  const bus = boot?.key.replace(/\d+$/, '') ?? 'scsi';
  let store = storage || boot?.value.split(':')[0] || '';
  if (!store && disks.some((_, i) => cfg[`${bus}${i + 1}`] === undefined)) {
    // No storage named and no boot disk to follow: PVE's usual pool only if the operator allows any storage.
    if (!ctx.limits.allowsAny('storage')) throw new ProviderError('InvalidSpec', `${op}: disks: Forbidden: the VM has no disk whose storage new disks could share and the operator allows no storages (the operator configures proxmox.storages in the reconciler config)`, op);
    store = 'local-lvm';
  }
  for (const [i, d] of disks.entries()) {
    if (!Number.isInteger(d.SizeGiB) || d.SizeGiB < 1) throw new ProviderError('InvalidSpec', `${op}: disks[${i}].sizeGiB: Invalid value: ${d.SizeGiB}: must be a whole number of GiB, at least 1`, op);
    const key = `${bus}${i + 1}`;
    const cur = cfg[key];
    if (cur === undefined) {
      // Allocating a volume can take long: the asynchronous POST /config (a qmconfig task), awaited.
      await awaitUpid(ctx.client, await ctx.client.post(`${vmPath(ref)}/config`, { [key]: `${store}:${d.SizeGiB}` }, op), op);
    } else if (diskSizeGiB(cur) < d.SizeGiB) {
      // PUT /resize answers with a task (qmresize) on PVE 8 and 9: awaited, so its error is this call's.
      await awaitUpid(ctx.client, await ctx.client.put(`${vmPath(ref)}/resize`, { disk: key, size: `${d.SizeGiB}G` }, op), op);
    }
  }
}

export { isMissing };
