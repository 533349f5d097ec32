/**
 * Fetches an image URL to a local file within the operator's
 * {@link HostPolicy}. http and https go through the guarded fetch: every
 * address the host resolves to, on every redirect hop (at most 5, each
 * checked again), must lie in `allowedUrlCidrs`, and the socket connects
 * to the checked address. file:// URLs are refused unless the policy
 * allows them, and then their path must lie under the image roots. The
 * bytes stream to a part file in the policy's `tempDir` with the size cap
 * enforced while streaming; the file moves to `dest` only after the
 * checksum (and the caller's `verify`) passed, so a half-written, oversized
 * or wrong image is never mistaken for a prepared one.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, rename, rm, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { ProviderError } from '../provider';
import { verifyChecksum } from './checksum';
import { pinnedGet, parseCidrs, resolveChecked } from './net';
import { checkImageSize, confinePath, ensureTempDir, type HostPolicy } from './policy';

export interface DownloadOptions {
  /** Verified before `dest` appears; a mismatch is InvalidSpec. */
  readonly checksum?: { readonly algo: string; readonly expected: string };
  /** Runs on the complete file before it moves to `dest` (e.g. checkQcow2); a throw discards the file. */
  readonly verify?: (file: string) => Promise<void>;
  readonly signal?: AbortSignal;
  readonly operation?: string;
}

export const MAX_REDIRECTS = 5;
const REDIRECTS = [301, 302, 303, 307, 308];

/** A URL as messages show it: without a password. */
function shown(u: URL): string {
  if (!u.password) return u.href;
  const c = new URL(u.href);
  c.password = '';
  return c.href;
}

export async function download(url: string, dest: string, policy: HostPolicy, opts: DownloadOptions = {}): Promise<void> {
  const op = opts.operation;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ProviderError('InvalidSpec', `image URL "${url}" is not a URL`, op);
  }
  if (u.protocol !== 'file:' && u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ProviderError('InvalidSpec', `image URL scheme ${u.protocol} is not supported (http, https, file)`, op);
  }
  if (u.protocol === 'file:' && !policy.allowFileUrls) {
    throw new ProviderError('InvalidSpec', `image URL "${shown(u)}" is refused: the operator does not allow file:// image URLs (allowFileUrls is false)`, op);
  }
  const part = join(await ensureTempDir(policy), `download-${randomBytes(8).toString('hex')}.part`);
  const near = `${dest}.part`;
  try {
    if (u.protocol === 'file:') await copyLocal(u, part, policy, op);
    else await fetchImage(u, part, policy, opts);
    if (opts.checksum?.expected) await verifyChecksum(part, opts.checksum.algo, opts.checksum.expected, `image URL "${shown(u)}"`);
    if (opts.verify) await opts.verify(part);
    await rename(part, dest).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EXDEV') throw e;
      // tempDir on another file system: copy next to dest, then rename (still atomic at dest).
      await copyFile(part, near);
      await rename(near, dest);
    });
  } finally {
    await rm(part, { force: true });
    await rm(near, { force: true });
  }
}

async function copyLocal(u: URL, part: string, policy: HostPolicy, op?: string): Promise<void> {
  let p: string;
  try {
    p = fileURLToPath(u);
  } catch (e) {
    throw new ProviderError('InvalidSpec', `image URL "${shown(u)}": ${(e as Error).message}`, op);
  }
  const real = await confinePath(policy, p, op);
  const st = await stat(real);
  if (!st.isFile()) throw new ProviderError('InvalidSpec', `image URL "${shown(u)}" is not a regular file`, op);
  checkImageSize(policy, st.size, `image URL "${shown(u)}"`, op);
  await streamTo(createReadStream(real), part, policy.maxImageBytes, `image URL "${shown(u)}"`, op);
}

/** Streams into `part`, aborting once more than `max` bytes arrived (the partial file is the caller's to remove). */
async function streamTo(src: Readable, part: string, max: number, what: string, op?: string): Promise<void> {
  let n = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (n > max) cb(new ProviderError('InvalidSpec', `${what}: the image is larger than the ${max} bytes allowed by the operator (maxImageBytes); download aborted`, op));
      else cb(null, chunk);
    },
  });
  try {
    await pipeline(src, cap, createWriteStream(part, { mode: 0o600 }));
  } catch (e) {
    if (e instanceof ProviderError) throw e;
    throw new ProviderError('Retryable', `${what}: download interrupted: ${(e as Error).message}`, op);
  }
}

/**
 * The guarded fetch of an http(s) URL into `part` (see the file comment).
 * Refusals are InvalidSpec; network trouble and 5xx are Retryable.
 */
export async function fetchImage(u: URL, part: string, policy: HostPolicy, opts: Pick<DownloadOptions, 'signal' | 'operation'> = {}): Promise<void> {
  const op = opts.operation;
  const cidrs = parseCidrs(policy.allowedUrlCidrs, 'host policy: allowedUrlCidrs');
  if (!cidrs.length) {
    throw new ProviderError('InvalidSpec', `image URL "${shown(u)}" is refused: the operator allows no URL image sources (allowedUrlCidrs is empty)`, op);
  }
  const timeout = AbortSignal.timeout(policy.downloadTimeoutMs);
  const signal = AbortSignal.any([timeout, ...(opts.signal ? [opts.signal] : [])]);
  let cur = u;
  for (let hop = 0; ; hop++) {
    const what = cur === u ? `image URL "${shown(u)}"` : `image URL "${shown(u)}" (redirected to "${shown(cur)}")`;
    if (cur.protocol !== 'http:' && cur.protocol !== 'https:') {
      throw new ProviderError('InvalidSpec', `${what}: a redirect to ${cur.protocol} is not allowed (http and https only)`, op);
    }
    const addrs = await resolveChecked(cur.hostname, what, cidrs);
    let res: IncomingMessage;
    try {
      res = await pinnedGet(cur, addrs, { signal });
    } catch (e) {
      const why = timeout.aborted ? `timed out after ${policy.downloadTimeoutMs} ms` : opts.signal?.aborted ? 'cancelled' : (e as Error).message;
      throw new ProviderError('Retryable', `${what}: ${why}`, op);
    }
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (REDIRECTS.includes(status) && location) {
      res.destroy();
      if (hop >= MAX_REDIRECTS) throw new ProviderError('InvalidSpec', `${what}: more than ${MAX_REDIRECTS} redirects`, op);
      try {
        cur = new URL(location, cur);
      } catch {
        throw new ProviderError('InvalidSpec', `${what}: redirect to "${location}", which is not a URL`, op);
      }
      continue;
    }
    if (status < 200 || status > 299) {
      res.destroy();
      // 4xx will not fix themselves (408 and 429 may); 5xx and the like may.
      const category = status >= 400 && status < 500 && status !== 408 && status !== 429 ? 'InvalidSpec' : 'Retryable';
      throw new ProviderError(category, `${what}: HTTP ${status} ${res.statusMessage ?? ''}`.trimEnd(), op);
    }
    const length = Number(res.headers['content-length']);
    if (Number.isFinite(length) && length > policy.maxImageBytes) {
      res.destroy();
      throw new ProviderError('InvalidSpec', `${what}: the image is ${length} bytes, more than the ${policy.maxImageBytes} bytes allowed by the operator (maxImageBytes)`, op);
    }
    try {
      await streamTo(res, part, policy.maxImageBytes, what, op);
    } catch (e) {
      if (timeout.aborted) throw new ProviderError('Retryable', `${what}: timed out after ${policy.downloadTimeoutMs} ms`, op);
      throw e;
    }
    return;
  }
}
