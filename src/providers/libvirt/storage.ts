/**
 * The provider's storage pool (a libvirt `dir` pool, created on first use)
 * and its volumes. Everything goes through virsh `vol-*` so a remote host
 * works exactly like the local one: files this process makes (seed ISOs,
 * downloaded images) reach the host with `vol-upload`.
 */
import { stat } from 'node:fs/promises';
import { ProviderError } from '../provider';
import { escapeXml as x, parseXml, textAt, child } from './xml';
import { keyValues, type Virsh, type VirshOptions } from './virsh';

const GiB = 1024 ** 3;

export interface VolumeInfo {
  readonly name: string;
  readonly path: string;
  readonly format: string;
  readonly capacity: number;
  readonly allocation: number;
  readonly backing?: string;
}

export class Pool {
  private ready?: Promise<void>;

  constructor(
    private readonly virsh: Virsh,
    readonly name: string,
    /** Target directory when the pool has to be created. */
    private readonly targetPath: string,
  ) {}

  /** Defines, builds and starts the pool when missing or inactive (once per process). */
  ensure(o: VirshOptions = {}): Promise<void> {
    this.ready ??= this.setUp(o).catch((e) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  private async setUp(o: VirshOptions): Promise<void> {
    const info = await this.virsh.maybe(['pool-info', this.name], o);
    if (!info) {
      await this.virsh.run(['pool-define-as', this.name, 'dir', '--target', this.targetPath], o);
      await this.virsh.run(['pool-build', this.name], o).catch(() => undefined);
      await this.virsh.run(['pool-autostart', this.name], o);
    }
    if (keyValues(info ?? '').State !== 'running') await this.virsh.run(['pool-start', this.name], o).catch((e) => {
      if (!/already active/.test(String(e))) throw e;
    });
    await this.virsh.run(['pool-refresh', this.name], o);
  }

  async info(volume: string, o: VirshOptions = {}): Promise<VolumeInfo | undefined> {
    const out = await this.virsh.maybe(['vol-dumpxml', '--pool', this.name, volume], o);
    return out ? volumeInfo(out) : undefined;
  }

  async path(volume: string, o: VirshOptions = {}): Promise<string> {
    return (await this.virsh.run(['vol-path', '--pool', this.name, volume], o)).trim();
  }

  async list(o: VirshOptions = {}): Promise<string[]> {
    const out = await this.virsh.run(['vol-list', '--pool', this.name], o);
    return out.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean);
  }

  /** A new volume: thin (allocation 0) or thick (fully allocated). */
  async create(volume: string, sizeBytes: number, o: VirshOptions & { format?: string; thick?: boolean } = {}): Promise<string> {
    const format = o.format ?? 'qcow2';
    const alloc = o.thick ? ['--allocation', String(sizeBytes)] : ['--allocation', '0'];
    const extra = format === 'qcow2' && o.thick ? ['--prealloc-metadata'] : [];
    await this.virsh.run(['vol-create-as', this.name, volume, String(sizeBytes), ...alloc, '--format', format, ...extra], o);
    return this.path(volume, o);
  }

  /** A qcow2 overlay on `backingPath` (copy-on-write), at least `sizeBytes` large. */
  async overlay(volume: string, backingPath: string, backingFormat: string, sizeBytes: number, o: VirshOptions = {}): Promise<string> {
    const xml = `<volume><name>${x(volume)}</name><capacity unit='bytes'>${sizeBytes}</capacity>`
      + `<target><format type='qcow2'/></target>`
      + `<backingStore><path>${x(backingPath)}</path><format type='${x(backingFormat)}'/></backingStore></volume>`;
    await this.virsh.runWithFile(['vol-create', this.name, '@file'], xml, o);
    return this.path(volume, o);
  }

  /** A full copy of `source` (flattened, independent of any backing file). */
  async clone(source: string, volume: string, o: VirshOptions = {}): Promise<string> {
    await this.virsh.run(['vol-clone', '--pool', this.name, source, volume], { timeoutMs: 30 * 60_000, ...o });
    return this.path(volume, o);
  }

  /**
   * Copies a local file's bytes into a new volume. The volume starts as a
   * sparse raw file of the same size (so nothing of a fresh header
   * survives the copy); the pool refresh then probes the real format.
   */
  async upload(volume: string, file: string, o: VirshOptions = {}): Promise<string> {
    const size = (await stat(file)).size;
    await this.virsh.run(['vol-create-as', this.name, volume, String(Math.max(size, 1)), '--allocation', '0', '--format', 'raw'], o);
    try {
      await this.virsh.run(['vol-upload', '--pool', this.name, volume, file], { timeoutMs: 30 * 60_000, ...o });
    } catch (e) {
      await this.delete(volume, o);
      throw e;
    }
    // The dir pool probes format and sizes from the file on refresh.
    await this.virsh.run(['pool-refresh', this.name], o);
    return this.path(volume, o);
  }

  /** Copies a volume's bytes (not flattened) to a local file; `length`: only the first bytes (e.g. a header). */
  async download(volumeOrPath: string, file: string, o: VirshOptions & { length?: number } = {}): Promise<void> {
    const pool = volumeOrPath.startsWith('/') ? [] : ['--pool', this.name];
    const { length, ...vo } = o;
    const part = length ? ['--offset', '0', '--length', String(length)] : [];
    await this.virsh.run(['vol-download', ...pool, volumeOrPath, file, ...part], { timeoutMs: 30 * 60_000, ...vo });
  }

  /** Grows a volume; smaller sizes are refused. */
  async resize(volume: string, sizeBytes: number, o: VirshOptions = {}): Promise<void> {
    const info = await this.info(volume, o);
    if (!info) throw new ProviderError('NotFound', `volume ${volume} not found in pool ${this.name}`, o.operation);
    if (sizeBytes < info.capacity) {
      throw new ProviderError('InvalidSpec', `volume ${volume}: shrinking from ${info.capacity / GiB} GiB to ${sizeBytes / GiB} GiB is not supported`, o.operation);
    }
    if (sizeBytes > info.capacity) await this.virsh.run(['vol-resize', '--pool', this.name, volume, String(sizeBytes)], o);
  }

  /** Deletes a volume; a missing one is fine. */
  async delete(volume: string, o: VirshOptions = {}): Promise<void> {
    await this.virsh.maybe(['vol-delete', '--pool', this.name, volume], o);
  }

  /** Pool capacity and free space (bytes). */
  async space(o: VirshOptions = {}): Promise<{ capacity: string; available: string }> {
    const kv = keyValues(await this.virsh.run(['pool-info', this.name], o));
    return { capacity: kv.Capacity ?? '', available: kv.Available ?? '' };
  }
}

export function volumeInfo(doc: string): VolumeInfo {
  const v = parseXml(doc);
  const backing = textAt(v, 'backingStore/path');
  return {
    name: textAt(v, 'name') ?? '',
    path: textAt(v, 'target/path') ?? '',
    format: child(v, 'target/format')?.attrs.type ?? 'raw',
    capacity: Number(textAt(v, 'capacity') ?? 0),
    allocation: Number(textAt(v, 'allocation') ?? 0),
    ...(backing ? { backing } : {}),
  };
}
