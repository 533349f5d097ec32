/**
 * cloud-init NoCloud seed: an ISO 9660 image labelled `cidata` holding
 * `user-data`, `meta-data` and optionally `network-config`, built with
 * xorriso (no root, no loop devices).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, type RunOptions } from './run';

export interface SeedData {
  readonly userData?: string;
  readonly metaData?: string;
  readonly networkConfig?: string;
}

/**
 * Writes the seed files into `dir` and builds `<dir>/seed.iso` (or
 * `isoPath`). Returns the ISO's path. cloud-init requires a meta-data file,
 * so an empty one is written when none is given.
 */
export async function buildSeedIso(
  dir: string, data: SeedData, opts: Pick<RunOptions, 'timeoutMs' | 'signal' | 'operation'> & { isoPath?: string } = {},
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ['user-data', data.userData ?? ''],
    ['meta-data', data.metaData ?? ''],
    ...(data.networkConfig ? [['network-config', data.networkConfig] as [string, string]] : []),
  ];
  for (const [name, body] of files) await writeFile(join(dir, name), body);
  const iso = opts.isoPath ?? join(dir, 'seed.iso');
  await run('xorriso', [
    '-as', 'mkisofs', '-quiet', '-output', iso, '-volid', 'cidata', '-joliet', '-rock',
    ...files.map(([name]) => join(dir, name)),
  ], opts);
  return iso;
}
