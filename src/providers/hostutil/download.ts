/**
 * Fetches an image URL (http, https, file) to a local file. The data lands
 * in `<dest>.part` and is renamed only after the checksum matched, so a
 * half-written or wrong image is never mistaken for a prepared one.
 */
import { createWriteStream } from 'node:fs';
import { copyFile, rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { ProviderError } from '../provider';
import { verifyChecksum } from './checksum';

export interface DownloadOptions {
  /** Verified before `dest` appears; a mismatch is InvalidSpec. */
  readonly checksum?: { readonly algo: string; readonly expected: string };
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export async function download(url: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ProviderError('InvalidSpec', `image URL "${url}" is not a URL`);
  }
  const part = `${dest}.part`;
  try {
    if (u.protocol === 'file:') {
      await copyFile(fileURLToPath(u), part).catch((e: NodeJS.ErrnoException) => {
        throw new ProviderError(e.code === 'ENOENT' ? 'InvalidSpec' : 'Internal', `image ${url}: ${e.message}`);
      });
    } else if (u.protocol === 'http:' || u.protocol === 'https:') {
      await fetchTo(u, part, opts);
    } else {
      throw new ProviderError('InvalidSpec', `image URL scheme ${u.protocol} is not supported (http, https, file)`);
    }
    if (opts.checksum?.expected) await verifyChecksum(part, opts.checksum.algo, opts.checksum.expected);
    await rename(part, dest);
  } catch (e) {
    await rm(part, { force: true });
    throw e;
  }
}

async function fetchTo(u: URL, part: string, opts: DownloadOptions): Promise<void> {
  const signals = [AbortSignal.timeout(opts.timeoutMs ?? 30 * 60_000), ...(opts.signal ? [opts.signal] : [])];
  let res: Response;
  try {
    res = await fetch(u, { signal: AbortSignal.any(signals), redirect: 'follow' });
  } catch (e) {
    throw new ProviderError('Retryable', `image ${u.href}: ${(e as Error).message}`);
  }
  if (!res.ok || !res.body) {
    // 404/403 will not fix themselves; 5xx and the like may.
    const category = res.status === 404 || res.status === 403 || res.status === 401 ? 'InvalidSpec' : 'Retryable';
    throw new ProviderError(category, `image ${u.href}: HTTP ${res.status} ${res.statusText}`);
  }
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(part));
  } catch (e) {
    throw new ProviderError('Retryable', `image ${u.href}: download interrupted: ${(e as Error).message}`);
  }
}
