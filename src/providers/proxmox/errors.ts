/**
 * PVE's answers as ProviderError categories. PVE reports a missing VM as
 * HTTP 500 with `Configuration file 'nodes/<node>/qemu-server/<id>.conf'
 * does not exist`, not 404, so the message decides, not the status alone.
 */
import { ProviderError, type ProviderErrorCategory } from '../provider';

const RULES: readonly [RegExp, ProviderErrorCategory][] = [
  [/Configuration file '[^']*' does not exist|no such VM|does not exist/i, 'NotFound'],
  [/can't lock file .* got timeout|VM is locked|got timeout|no quorum|cluster not ready|No route to host|node .* seems to be offline|Connection refused|timeout/i, 'Retryable'],
  [/authentication failure|invalid PVE ticket|invalid csrf token/i, 'Unauthenticated'],
  [/parameter verification failed|already exists|value .* does not match|invalid format|not a template|unable to parse|Permission check failed/i, 'InvalidSpec'],
];

/** The category of a PVE error text (HTTP answers and `TASK ERROR: ...` lines alike). */
export function categoryOf(status: number, message: string): ProviderErrorCategory {
  for (const [re, cat] of RULES) if (re.test(message)) return cat;
  if (status === 401) return 'Unauthenticated';
  if (status === 404) return 'NotFound';
  if (status === 400) return 'InvalidSpec';
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
