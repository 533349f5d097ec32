/** The start-up check of the binary: it runs, and it is recent enough for the API calls this provider makes. */
import { access, constants } from 'node:fs/promises';
import { run } from '../hostutil';

/** The oldest Firecracker whose API (MMDS V2, `/serial`, Diff snapshots with `track_dirty_pages`) this provider uses. */
export const MIN_VERSION = [1, 13, 0] as const;

export const INSTALL_HINT = 'set FIRECRACKER_BIN (or the operator configuration\'s firecracker.binary) to a Firecracker binary; a CI checkout finds it at ../shared/bin/firecracker';

export function parseVersion(text: string): number[] | undefined {
  const m = /Firecracker v(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function atLeast(v: readonly number[], min: readonly number[]): boolean {
  for (let i = 0; i < min.length; i++) if ((v[i] ?? 0) !== min[i]) return (v[i] ?? 0) > min[i]!;
  return true;
}

export async function checkVersion(binary: string): Promise<{ ok: boolean; message: string }> {
  let out: string;
  if (binary.includes('/')) {
    try {
      await access(binary, constants.X_OK);
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'is not there' : 'is not executable';
      return { ok: false, message: `Firecracker binary ${binary} ${why}: ${INSTALL_HINT}` };
    }
  }
  try {
    out = (await run(binary, ['--version'], { timeoutMs: 10_000 })).stdout;
  } catch (e) {
    const first = (e as Error).message.split('\n')[0]!;
    if (!binary.includes('/') && /ENOENT/.test(first)) return { ok: false, message: `Firecracker binary ${JSON.stringify(binary)} is not on PATH: ${INSTALL_HINT}` };
    return { ok: false, message: `Firecracker binary ${binary} does not run (${first.replace(/ \(not installed\?[^)]*\)/, '')}): ${INSTALL_HINT}` };
  }
  const v = parseVersion(out);
  if (!v) return { ok: false, message: `${binary} --version printed no Firecracker version (${out.trim().slice(0, 80)}): ${INSTALL_HINT}` };
  if (!atLeast(v, MIN_VERSION)) return { ok: false, message: `Firecracker ${v.join('.')} at ${binary} is too old: this provider needs ${MIN_VERSION.join('.')} or newer; ${INSTALL_HINT}` };
  return { ok: true, message: `Firecracker ${v.join('.')} (${binary})` };
}
