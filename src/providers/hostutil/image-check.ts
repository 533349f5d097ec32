/**
 * Checks that an image file is what a VM may use: one standalone file.
 * A disk image format can name other files the hypervisor opens when it
 * opens the image (qcow2 backing files and external data files, VMDK
 * extents); a tenant's image that names /etc/shadow or another tenant's
 * disk would read it into the tenant's VM. Every image the providers use
 * (given paths, downloads, pool volumes, templates) goes through here.
 *
 * Decision: any backing file is refused, even one inside the image roots
 * (a standalone image is always possible: `qemu-img convert` flattens a
 * chain), and so is any external data file. The qcow2 header is read by
 * this process first, so qemu-img never opens a file a hostile header
 * names; qemu-img then probes the real format under CPU and memory
 * limits (a crafted image must not exhaust the host).
 */
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ProviderError } from '../provider';
import type { QemuImgInfo } from './qemu-img';
import { run } from './run';

/** Formats a boot disk may have (qemu-img names: VHD is `vpc`). */
export const IMAGE_FORMATS: readonly string[] = ['qcow2', 'raw', 'vmdk', 'vpc', 'vhdx'];

/** The qemu-img format a VMImage `format` declares (`iso` is raw bytes; `template` and empty declare nothing). */
export function qemuFormatOf(declared: string | undefined): string | undefined {
  const f = (declared ?? '').toLowerCase();
  if (!f || f === 'template') return undefined;
  return ({ vhd: 'vpc', iso: 'raw', img: 'raw' } as Record<string, string>)[f] ?? f;
}

/** What the first bytes of a qcow2 file say about other files. */
export interface Qcow2Header {
  readonly version: number;
  /** Non-zero: the image names a backing file. */
  readonly backingFileOffset: bigint;
  readonly backingFileSize: number;
  /** Incompatible feature bit 2. */
  readonly externalDataFile: boolean;
  /** The data-file name extension, when present. */
  readonly dataFileName?: string;
}

const QCOW2_MAGIC = 0x514649fb;
const EXT_DATA_FILE = 0x44415441;
/** Enough for the header and its extensions in every qcow2 we accept (they sit in the first cluster). */
export const QCOW2_HEADER_BYTES = 64 * 1024;

/** Parses a qcow2 header; undefined when `buf` does not start with the qcow2 magic. */
export function parseQcow2Header(buf: Buffer): Qcow2Header | undefined {
  if (buf.length < 4 || buf.readUInt32BE(0) !== QCOW2_MAGIC) return undefined;
  if (buf.length < 72) throw new ProviderError('InvalidSpec', 'qcow2 header is truncated');
  const version = buf.readUInt32BE(4);
  const backingFileOffset = buf.readBigUInt64BE(8);
  const backingFileSize = buf.readUInt32BE(16);
  let externalDataFile = false;
  let dataFileName: string | undefined;
  if (version >= 3 && buf.length >= 104) {
    externalDataFile = (buf.readBigUInt64BE(72) & 4n) !== 0n;
    const headerLength = buf.readUInt32BE(100);
    let off = headerLength;
    while (off + 8 <= buf.length) {
      const type = buf.readUInt32BE(off);
      const len = buf.readUInt32BE(off + 4);
      if (type === 0) break;
      if (type === EXT_DATA_FILE) dataFileName = buf.subarray(off + 8, Math.min(buf.length, off + 8 + len)).toString('utf8');
      off += 8 + Math.ceil(len / 8) * 8;
    }
  }
  return { version, backingFileOffset, backingFileSize, externalDataFile, ...(dataFileName !== undefined ? { dataFileName } : {}) };
}

/** Refuses a qcow2 header that names another file; `what` names the image in the message. */
export function refuseQcow2References(h: Qcow2Header, what: string, operation?: string): void {
  if (h.backingFileOffset !== 0n || h.backingFileSize !== 0) {
    throw new ProviderError('InvalidSpec', `${what} has a backing file; images must be standalone (flatten it with qemu-img convert)`, operation);
  }
  if (h.externalDataFile || h.dataFileName !== undefined) {
    throw new ProviderError('InvalidSpec', `${what} has an external data file${h.dataFileName ? ` ("${h.dataFileName}")` : ''}; images must be standalone`, operation);
  }
}

async function readHead(path: string, bytes: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

let prlimit: Promise<boolean> | undefined;
/** qemu-img under resource limits (1 GiB address space, 30 s CPU), as image services do for untrusted images. */
async function limitedInfo(path: string, operation?: string): Promise<QemuImgInfo> {
  prlimit ??= run('prlimit', ['--version'], { timeoutMs: 10_000 }).then(() => true, () => false);
  const args = ['info', '-U', '--output=json', path];
  const cmd = (await prlimit) ? ['prlimit', ['--as=1073741824', '--cpu=30', 'qemu-img', ...args]] as const : ['qemu-img', args] as const;
  const { stdout } = await run(cmd[0], cmd[1], {
    timeoutMs: 60_000, operation,
    classify: (e) => (/No such file|Could not open/.test(e) ? 'InvalidSpec' : 'Internal'),
  });
  return JSON.parse(stdout) as QemuImgInfo;
}

export interface CheckImageOptions {
  /** The format the image is declared to have (VMImage `format`); a different real format is refused. */
  readonly format?: string;
  /** Formats accepted (default {@link IMAGE_FORMATS}). */
  readonly formats?: readonly string[];
  readonly operation?: string;
  /** How the image is named in messages (default the path). */
  readonly what?: string;
}

/**
 * Checks the image at `path` (a local file) and returns qemu-img's view of
 * it; use the returned `format` from then on (never probe again). Refused
 * (InvalidSpec): a backing file, an external data file, VMDK extents in
 * other files, a format outside `formats`, a real format other than the
 * declared one (e.g. a raw file declared qcow2).
 */
export async function checkQcow2(path: string, opts: CheckImageOptions = {}): Promise<QemuImgInfo> {
  const what = opts.what ?? `image "${path}"`;
  const op = opts.operation;
  const head = await readHead(path, QCOW2_HEADER_BYTES).catch((e: NodeJS.ErrnoException) => {
    throw new ProviderError('InvalidSpec', `${what}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, op);
  });
  const header = parseQcow2Header(head);
  if (header) refuseQcow2References(header, what, op);
  const info = await limitedInfo(path, op);
  if (info['backing-filename'] || info['full-backing-filename']) {
    throw new ProviderError('InvalidSpec', `${what} has a backing file ("${info['backing-filename'] ?? info['full-backing-filename']}"); images must be standalone (flatten it with qemu-img convert)`, op);
  }
  const specific = (info['format-specific'] as { type?: string; data?: Record<string, unknown> } | undefined)?.data ?? {};
  if (specific['data-file']) throw new ProviderError('InvalidSpec', `${what} has an external data file ("${String(specific['data-file'])}"); images must be standalone`, op);
  const formats = opts.formats ?? IMAGE_FORMATS;
  if (!formats.includes(info.format)) {
    throw new ProviderError('InvalidSpec', `${what} is in format ${info.format}, which is not accepted (${formats.join(', ')})`, op);
  }
  const declared = qemuFormatOf(opts.format);
  if (declared && declared !== info.format) {
    throw new ProviderError('InvalidSpec', `${what} is in format ${info.format}, not ${opts.format} as declared`, op);
  }
  if (info.format === 'qcow2' && !header) throw new ProviderError('InvalidSpec', `${what}: qemu-img reports qcow2 but the file has no qcow2 header`, op);
  if (info.format === 'vmdk') {
    // Only VMDKs whose data is in the file itself (monolithicSparse, streamOptimized).
    const self = resolve(path);
    const extents = (specific.extents as { filename?: string }[] | undefined) ?? [];
    const foreign = extents.find((e) => !e.filename || resolve(dirname(self), e.filename) !== self);
    if (foreign || !['monolithicSparse', 'streamOptimized'].includes(String(specific['create-type']))) {
      throw new ProviderError('InvalidSpec', `${what} is a VMDK whose data lies in other files (${foreign?.filename ?? String(specific['create-type'])}); use a single-file (monolithicSparse or streamOptimized) VMDK`, op);
    }
  }
  return info;
}
