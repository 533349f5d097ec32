/**
 * Inventory lookups: datacenter, folders, cluster/host/resource pool,
 * datastore or datastore cluster (the member with the most free space),
 * networks and VMs by name. Paths are inventory paths below the
 * datacenter (`vm/web`, `host/Compute-Cluster`); names that are not found
 * by path are searched by name, since datastores inside a datastore
 * cluster, for one, have no path of their own under `datastore/`.
 */
import { ProviderError } from '../provider';
import {
  arr, bool, moRef, node, num, ref, retrieve, retrieveOne, retrieveView, text,
  type CallOpts, type MoRef, type VimClient,
} from './soap';

export interface Placement {
  readonly datastore: string;
  readonly storagePod: string;
  readonly cluster: string;
  readonly folder: string;
  readonly host: string;
  readonly resourcePool: string;
}

export interface DatastoreChoice {
  readonly datastore: MoRef;
  readonly name: string;
  /** The datastore cluster it was picked from, if any. */
  readonly storagePod?: string;
  readonly freeSpace?: number;
}

export class Inventory {
  private dc?: Promise<{ ref: MoRef; name: string }>;

  constructor(private readonly c: VimClient, private readonly datacenterName = '') {}

  /** The configured datacenter, or the first one. */
  datacenter(o?: CallOpts): Promise<{ ref: MoRef; name: string }> {
    this.dc ??= (async () => {
      const sc = await this.c.serviceContent(o);
      const all = await retrieveView(this.c, sc.rootFolder, 'Datacenter', ['name'], o);
      const named = all.map((d) => ({ ref: d.obj, name: text(d.props.name) ?? '' }));
      const hit = this.datacenterName ? named.find((d) => d.name === this.datacenterName) : named[0];
      if (!hit) {
        throw new ProviderError('InvalidSpec', this.datacenterName
          ? `datacenter ${JSON.stringify(this.datacenterName)} not found (have: ${named.map((d) => d.name).join(', ') || 'none'})`
          : 'vCenter has no datacenter', 'Inventory');
      }
      return hit;
    })();
    this.dc.catch(() => (this.dc = undefined));
    return this.dc;
  }

  /** FindByInventoryPath below the datacenter; undefined when nothing is there. */
  async path(rel: string, o?: CallOpts): Promise<MoRef | undefined> {
    const dc = await this.datacenter(o);
    const sc = await this.c.serviceContent(o);
    const clean = rel.split('/').filter(Boolean).join('/');
    return moRef(await this.c.call('FindByInventoryPath', sc.searchIndex, { inventoryPath: `${dc.name}/${clean}` }, o));
  }

  /** Objects of `type` named `name` anywhere in the datacenter. */
  async byName(type: string, name: string, o?: CallOpts): Promise<MoRef[]> {
    const dc = await this.datacenter(o);
    const all = await retrieveView(this.c, dc.ref, type, ['name'], o);
    return all.filter((x) => text(x.props.name) === name).map((x) => x.obj);
  }

  /** The VM folder: `/vm/web`, `vm/web` and `web` all name `<dc>/vm/web`. */
  async folder(spec: string, o?: CallOpts): Promise<MoRef> {
    const parts = spec.split('/').filter(Boolean);
    if (parts[0] === 'vm') parts.shift();
    const found = await this.path(['vm', ...parts].join('/'), o);
    if (!found || (found.type !== 'Folder')) throw new ProviderError('InvalidSpec', `VM folder ${JSON.stringify(spec)} not found`, 'Create');
    return found;
  }

  /** Resource pool (and host) for a clone: the cluster's root pool or a named pool in it. */
  async compute(p: Placement, o?: CallOpts): Promise<{ pool: MoRef; host?: MoRef }> {
    let cluster: MoRef | undefined;
    if (p.cluster) {
      cluster = (await this.path(`host/${p.cluster}`, o)) ?? (await this.byName('ClusterComputeResource', p.cluster, o))[0];
      if (!cluster) throw new ProviderError('InvalidSpec', `cluster ${JSON.stringify(p.cluster)} not found`, 'Create');
    } else {
      const dc = await this.datacenter(o);
      cluster = (await retrieveView(this.c, dc.ref, 'ComputeResource', ['name'], o))[0]?.obj;
      if (!cluster) throw new ProviderError('InvalidSpec', 'no cluster or host to place the VM on', 'Create');
    }
    const props = await retrieveOne(this.c, cluster, ['resourcePool', 'host', 'name'], o);
    let pool = moRef(props.resourcePool);
    const clusterName = text(props.name) ?? p.cluster;
    if (p.resourcePool) {
      const parts = p.resourcePool.split('/').filter(Boolean).filter((x) => x !== 'Resources');
      pool = await this.path(`host/${clusterName}/Resources/${parts.join('/')}`, o);
      if (!pool) throw new ProviderError('InvalidSpec', `resource pool ${JSON.stringify(p.resourcePool)} not found in ${clusterName}`, 'Create');
    }
    if (!pool) throw new ProviderError('InvalidSpec', `${clusterName} has no resource pool`, 'Create');
    if (!p.host) return { pool };
    const host = (await this.path(`host/${clusterName}/${p.host}`, o)) ?? (await this.byName('HostSystem', p.host, o))[0];
    if (!host) throw new ProviderError('InvalidSpec', `host ${JSON.stringify(p.host)} not found`, 'Create');
    return { pool, host };
  }

  /** The datastore by the precedence placement datastore > placement storagePod > defaults (caller-resolved). */
  async datastore(p: Placement, o?: CallOpts): Promise<DatastoreChoice | undefined> {
    if (p.datastore) {
      const ds = (await this.path(`datastore/${p.datastore}`, o)) ?? (await this.byName('Datastore', p.datastore, o))[0];
      if (!ds || ds.type !== 'Datastore') throw new ProviderError('InvalidSpec', `datastore ${JSON.stringify(p.datastore)} not found`, 'Create');
      return { datastore: ds, name: p.datastore };
    }
    if (p.storagePod) return this.fromStoragePod(p.storagePod, o);
    return undefined;
  }

  /** The accessible member of a datastore cluster with the most free space. */
  async fromStoragePod(name: string, o?: CallOpts): Promise<DatastoreChoice> {
    const pod = (await this.path(`datastore/${name}`, o)) ?? (await this.byName('StoragePod', name, o))[0];
    if (!pod || pod.type !== 'StoragePod') throw new ProviderError('InvalidSpec', `datastore cluster (storagePod) ${JSON.stringify(name)} not found`, 'Create');
    const members = arr(node((await retrieveOne(this.c, pod, ['childEntity'], o)).childEntity)?.ManagedObjectReference)
      .map(moRef).filter((r): r is MoRef => r?.type === 'Datastore');
    const stats = (await retrieve(this.c, members, 'Datastore', ['name', 'summary'], o)).map((d) => {
      const s = node(d.props.summary) ?? {};
      return {
        datastore: d.obj, name: text(d.props.name) ?? d.obj.value, freeSpace: num(s.freeSpace) ?? 0,
        usable: bool(s.accessible) !== false && (text(s.maintenanceMode) ?? 'normal') === 'normal',
      };
    }).filter((d) => d.usable);
    stats.sort((a, b) => b.freeSpace - a.freeSpace || (a.name < b.name ? -1 : 1));
    const best = stats[0];
    if (!best) throw new ProviderError('InvalidSpec', `datastore cluster ${JSON.stringify(name)} has no accessible datastore`, 'Create');
    return { datastore: best.datastore, name: best.name, storagePod: name, freeSpace: best.freeSpace };
  }

  /** A network (standard portgroup, distributed portgroup or opaque network) by name or path. */
  async network(name: string, o?: CallOpts): Promise<MoRef> {
    const hit = (await this.path(`network/${name}`, o))
      ?? (await this.byName('Network', name, o))[0];
    if (!hit) throw new ProviderError('InvalidSpec', `network ${JSON.stringify(name)} not found`, 'Create');
    return hit;
  }

  /** The switch UUID and portgroup key a distributed portgroup backing needs. */
  async dvPortgroup(pg: MoRef, o?: CallOpts): Promise<{ switchUuid: string; portgroupKey: string }> {
    const props = await retrieveOne(this.c, pg, ['key', 'config.distributedVirtualSwitch'], o);
    const dvs = moRef(props['config.distributedVirtualSwitch']);
    const key = text(props.key);
    if (!dvs || !key) throw new ProviderError('Internal', `portgroup ${pg.value} has no switch`, 'Create');
    const uuid = text((await retrieveOne(this.c, dvs, ['uuid'], o)).uuid);
    if (!uuid) throw new ProviderError('Internal', `switch ${dvs.value} has no uuid`, 'Create');
    return { switchUuid: uuid, portgroupKey: key };
  }

  /** VMs (and templates) named `name` in the datacenter. */
  vmsNamed(name: string, o?: CallOpts): Promise<MoRef[]> {
    return this.byName('VirtualMachine', name, o);
  }

  /** The VM `name` directly in `folder`, if any (create's idempotency check). */
  async vmInFolder(folder: MoRef, name: string, o?: CallOpts): Promise<MoRef | undefined> {
    const sc = await this.c.serviceContent(o);
    const hit = moRef(await this.c.call('FindChild', sc.searchIndex, { entity: ref(folder), name }, o));
    return hit?.type === 'VirtualMachine' ? hit : undefined;
  }
}
