/**
 * PVE's answers as ProviderError categories. PVE reports a missing VM as
 * HTTP 500 with `Configuration file 'nodes/<node>/qemu-server/<id>.conf'
 * does not exist`, not 404, so the message decides, not the status alone.
 * The same rules read `TASK ERROR: ...` lines of finished tasks.
 *
 * Only the VM (or one of its snapshots) being gone is NotFound: "storage
 * 'x' does not exist" or "no such cluster node" are the request's fault
 * (InvalidSpec), else the reconciler would take the VM for vanished.
 */
import { ProviderError, type ProviderErrorCategory } from '../provider';

const RULES: readonly [RegExp, ProviderErrorCategory][] = [
  [/Configuration file 'nodes\/[^']*' does not exist|unable to find configuration file for (?:qemu|VM) \d+|snapshot '[^']*' does not exist|no such VM/i, 'NotFound'],
  // Transient: the VM's config lock (another task holds it), a locked VM (backup, clone, migrate,
  // snapshot...), lost quorum, a node that is off or unreachable (HTTP 595/596), and a guest that
  // did not answer in time (a shutdown the caller may force).
  [/can't lock file .* got timeout|VM is locked|is locked \(|cluster not ready - no quorum|no quorum|No route to host|node '?[^ ']*'? seems to be offline|hostname lookup '[^']*' failed|Connection refused|connection timed out|got timeout|unexpected state change/i, 'Retryable'],
  [/authentication failure|invalid PVE ticket|invalid csrf token/i, 'Unauthenticated'],
  // The credentials lack a privilege: the protocol has no PermissionDenied, the login is what to fix.
  [/Permission check failed|permission denied/i, 'Unauthenticated'],
  [/parameter verification failed|already exists|already used|value .* does not match|invalid format|not a template|unable to parse|does not exist|no such cluster node|not allowed for linked clones|can't clone|does not support|shrinking disks is not supported|you can't/i, 'InvalidSpec'],
];

/** The category of a PVE error text (HTTP answers and `TASK ERROR: ...` lines alike). */
export function categoryOf(status: number, message: string): ProviderErrorCategory {
  for (const [re, cat] of RULES) if (re.test(message)) return cat;
  if (status === 401) return 'Unauthenticated';
  if (status === 403) return 'Unauthenticated';
  if (status === 404) return 'NotFound';
  if (status === 400) return 'InvalidSpec';
  if (status === 501) return 'Unimplemented';
  if (status === 595 || status === 596 || status === 502 || status === 503 || status >= 590) return 'Retryable';
  return 'Internal';
}

export class PveHttpError extends ProviderError {
  constructor(readonly status: number, readonly pveMessage: string, operation: string) {
    super(categoryOf(status, pveMessage), `${operation}: Proxmox VE answered ${status}: ${pveMessage}`, operation);
  }
}

/** True for a "does not exist" answer: the VM (or snapshot) is gone. */
export function isMissing(e: unknown): boolean {
  return e instanceof ProviderError && e.category === 'NotFound';
}
