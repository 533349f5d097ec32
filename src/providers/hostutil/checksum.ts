/** Image checksums (VMImage `checksumType`: md5, sha1, sha256, sha512). */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ProviderError } from '../provider';

export type ChecksumAlgo = 'md5' | 'sha1' | 'sha256' | 'sha512';
const ALGOS: readonly string[] = ['md5', 'sha1', 'sha256', 'sha512'];

export function checksumAlgo(algo: string | undefined): ChecksumAlgo {
  const a = (algo || 'sha256').toLowerCase();
  if (!ALGOS.includes(a)) throw new ProviderError('InvalidSpec', `unsupported checksum type "${algo}" (md5, sha1, sha256, sha512)`);
  return a as ChecksumAlgo;
}

/** Hex digest of a file. */
export async function fileChecksum(file: string, algo: string): Promise<string> {
  const hash = createHash(checksumAlgo(algo));
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Throws InvalidSpec when the file's digest differs from `expected`
 * (hex, case-insensitive; an `algo:` prefix such as `sha256:` is accepted).
 * Returns the actual digest. `what` names the image in the message
 * (default the file; pass the source when the file is a temporary copy).
 */
export async function verifyChecksum(file: string, algo: string, expected: string, what = file): Promise<string> {
  const want = expected.trim().toLowerCase().replace(/^(md5|sha1|sha256|sha512):/, '');
  const got = await fileChecksum(file, algo);
  if (got !== want) {
    throw new ProviderError('InvalidSpec', `checksum mismatch for ${what}: ${checksumAlgo(algo)} is ${got}, expected ${want}`);
  }
  return got;
}
