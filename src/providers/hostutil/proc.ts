/** Processes a provider supervises through a pidfile: found again after a restart, never a reused pid. */
import { promises as fs } from 'node:fs';

/**
 * The pid in `pidfile` when that process is alive (not a zombie) and its
 * command line passes `owns` (the guard against pid reuse); else undefined.
 */
export async function ownedPid(pidfile: string, owns: (argv: readonly string[]) => boolean): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number((await fs.readFile(pidfile, 'utf8')).trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    // State is the field after the parenthesised command name; Z/X are dead.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return undefined;
    const argv = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return owns(argv) ? pid : undefined;
  } catch {
    return undefined;
  }
}
