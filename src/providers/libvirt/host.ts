/**
 * Domain-level virsh calls shared by the provider's operations: state,
 * XML, metadata, addresses. A VM's provider id is its libvirt domain UUID
 * (stable across renames; virsh accepts it wherever a name goes).
 */
import { ProviderError } from '../provider';
import { METADATA_KEY, METADATA_NS, metadataXml, parseDomainXml, type DomainInfo, type VmMetadata } from './domain-xml';
import type { Pool } from './storage';
import { keyValues, type Virsh, type VirshOptions } from './virsh';

export type DomState = 'running' | 'paused' | 'shut off' | 'shutdown' | 'crashed' | 'pmsuspended' | 'blocked' | 'idle' | 'in shutdown' | string;

export class Host {
  constructor(
    readonly virsh: Virsh,
    readonly pool: Pool,
    /** True when the libvirt host is not this machine. */
    readonly remote: boolean,
  ) {}

  /** `running`, `shut off`, ... and libvirt's reason (`booted`, `destroyed`, ...). */
  async state(id: string, o: VirshOptions = {}): Promise<{ state: DomState; reason: string }> {
    const out = (await this.virsh.run(['domstate', '--reason', id], o)).trim();
    const m = /^(.*?)\s*(?:\((.*)\))?$/.exec(out);
    return { state: m?.[1] ?? out, reason: m?.[2] ?? '' };
  }

  async running(id: string, o: VirshOptions = {}): Promise<boolean> {
    return (await this.state(id, o)).state === 'running';
  }

  /** The domain as it is now (`inactive`: as it will be at the next boot). */
  async info(id: string, o: VirshOptions & { inactive?: boolean } = {}): Promise<DomainInfo> {
    return parseDomainXml(await this.dumpxml(id, o));
  }

  async dumpxml(id: string, o: VirshOptions & { inactive?: boolean } = {}): Promise<string> {
    return this.virsh.run(['dumpxml', ...(o.inactive ? ['--inactive'] : []), id], o);
  }

  /** The UUID of a domain name (or UUID), undefined when there is none. */
  async uuid(nameOrId: string, o: VirshOptions = {}): Promise<string | undefined> {
    // `domuuid` resolves names only; `dominfo` takes a name, id or UUID.
    const out = await this.virsh.maybe(['dominfo', nameOrId], o);
    return (out && keyValues(out).UUID) || undefined;
  }

  /** Throws NotFound unless the domain exists; returns its UUID. */
  async mustExist(id: string, o: VirshOptions = {}): Promise<string> {
    const uuid = await this.uuid(id, o);
    if (!uuid) throw new ProviderError('NotFound', `libvirt domain ${id} not found`, o.operation);
    return uuid;
  }

  /** Rewrites our `<metadata>` element (persistent config, and live when running). */
  async setMetadata(id: string, meta: VmMetadata, o: VirshOptions = {}): Promise<void> {
    const live = (await this.running(id, o)) ? ['--live'] : [];
    await this.virsh.run(['metadata', id, METADATA_NS, '--key', METADATA_KEY, '--set', metadataXml(meta), '--config', ...live], o);
  }

  /** IPs from the guest agent, else from the libvirt network's DHCP leases. */
  async addresses(id: string, o: VirshOptions = {}): Promise<string[]> {
    for (const source of ['agent', 'lease']) {
      const out = await this.virsh.run(['domifaddr', id, '--source', source], { ...o, timeoutMs: 10_000 }).catch(() => '');
      const ips = out.split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f.length >= 4 && /^ipv[46]$/.test(f[f.length - 2] ?? ''))
        .map((f) => (f[f.length - 1] ?? '').replace(/\/\d+$/, ''))
        .filter((ip) => ip && !ip.startsWith('127.') && ip !== '::1' && !ip.toLowerCase().startsWith('fe80:'));
      if (ips.length) return [...new Set(ips)];
    }
    return [];
  }

  /** All domains: UUID and name. */
  async domains(o: VirshOptions = {}): Promise<{ uuid: string; name: string }[]> {
    const out = await this.virsh.run(['list', '--all', '--uuid', '--name'], o).catch(async () => {
      // Older virsh refuses --uuid with --name: fall back to two lists.
      const uuids = (await this.virsh.run(['list', '--all', '--uuid'], o)).split('\n').filter(Boolean);
      return (await Promise.all(uuids.map(async (u) => `${u} ${(await this.virsh.run(['domname', u], o)).trim()}`))).join('\n');
    });
    return out.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 2).map(([uuid, name]) => ({ uuid: uuid!, name: name! }));
  }

  /** Suspends a running domain around `fn` (consistent disk copies), resuming afterwards. */
  async quiesced<T>(id: string, fn: () => Promise<T>, o: VirshOptions = {}): Promise<T> {
    const wasRunning = await this.running(id, o);
    if (wasRunning) await this.virsh.run(['suspend', id], o);
    try {
      return await fn();
    } finally {
      if (wasRunning) await this.virsh.run(['resume', id], o);
    }
  }
}
