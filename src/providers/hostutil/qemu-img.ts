/**
 * qemu-img on this host: images, overlays, copies, growth, inspection.
 * Sizes are bytes (qemu-img accepts plain byte counts).
 */
import { ProviderError } from '../provider';
import { run, type RunOptions } from './run';

type Opts = Pick<RunOptions, 'timeoutMs' | 'signal' | 'operation'>;

/** `qemu-img info --output=json` (the fields we use; the rest is kept). */
export interface QemuImgInfo {
  readonly filename: string;
  readonly format: string;
  readonly 'virtual-size': number;
  readonly 'actual-size'?: number;
  readonly 'backing-filename'?: string;
  readonly 'full-backing-filename'?: string;
  readonly 'backing-filename-format'?: string;
  readonly snapshots?: readonly { id: string; name: string; 'vm-state-size': number }[];
  readonly [key: string]: unknown;
}

const GiB = 1024 ** 3;

export const qemuImg = {
  /** A new empty image (`preallocation`: `off` (thin) or `full`/`falloc` (thick), qcow2/raw). */
  async create(path: string, sizeBytes: number, o: Opts & { format?: 'qcow2' | 'raw'; preallocation?: 'off' | 'metadata' | 'falloc' | 'full' } = {}): Promise<void> {
    const format = o.format ?? 'qcow2';
    const opt = o.preallocation && o.preallocation !== 'off' ? ['-o', `preallocation=${o.preallocation}`] : [];
    await run('qemu-img', ['create', '-q', '-f', format, ...opt, path, String(sizeBytes)], o);
  },

  /** A qcow2 overlay on `backing` (copy-on-write; the backing file must stay). */
  async overlay(path: string, backing: string, o: Opts & { backingFormat?: string; sizeBytes?: number } = {}): Promise<void> {
    const backingFormat = o.backingFormat ?? (await qemuImg.info(backing, o)).format;
    const size = o.sizeBytes ? [String(o.sizeBytes)] : [];
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', backingFormat, '-b', backing, path, ...size], o);
  },

  /** A full, independent copy (flattens any backing chain). */
  async convert(src: string, dest: string, o: Opts & { format?: string; sourceFormat?: string } = {}): Promise<void> {
    const sf = o.sourceFormat ? ['-f', o.sourceFormat] : [];
    await run('qemu-img', ['convert', '-q', ...sf, '-O', o.format ?? 'qcow2', src, dest], { timeoutMs: 30 * 60_000, ...o });
  },

  /** Grows an image to `sizeBytes`; shrinking is refused (InvalidSpec). */
  async resize(path: string, sizeBytes: number, o: Opts = {}): Promise<void> {
    const info = await qemuImg.info(path, o);
    if (sizeBytes < info['virtual-size']) {
      throw new ProviderError('InvalidSpec', `disk ${path}: shrinking from ${info['virtual-size'] / GiB} GiB to ${sizeBytes / GiB} GiB is not supported`, o.operation);
    }
    if (sizeBytes === info['virtual-size']) return;
    await run('qemu-img', ['resize', '-q', '-f', info.format, path, String(sizeBytes)], o);
  },

  async info(path: string, o: Opts = {}): Promise<QemuImgInfo> {
    // -U: readable while a running VM holds the image lock.
    const { stdout } = await run('qemu-img', ['info', '-U', '--output=json', path], {
      ...o, classify: (e) => (/No such file|Could not open/.test(e) ? 'NotFound' : 'Internal'),
    });
    return JSON.parse(stdout) as QemuImgInfo;
  },
};
