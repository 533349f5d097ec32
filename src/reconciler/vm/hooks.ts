/**
 * Lifecycle hooks (`spec.lifecycle.postStart` / `preStop`): a provider
 * snapshot, an HTTP GET against the guest, or a command run in the guest
 * where the provider can do that. Like container hooks, a failing hook is
 * reported (Warning event) but does not block the power transition.
 *
 * An httpGet hook is a request the reconciler's host makes on a tenant's
 * behalf, so it may reach only the VM's own reported addresses, or a range
 * the operator lists in `hookAllowedCidrs` (loopback and link-local stay
 * refused even when the VM reports them, unless a listed range lies inside
 * them). It connects to the checked address (no DNS rebinding), follows no
 * redirect (a 3xx is the hook's answer, as for a Kubernetes probe) and
 * gives up after 10 s.
 */
import type { IncomingMessage } from 'node:http';
import type { VirtualMachine } from '../../generated/virtual-machine';
import { DEFAULT_HOST_POLICY, parseCidrs, pinnedGet, resolveChecked, type HostPolicy } from '../../providers/hostutil';
import type { Provider } from '../../providers/provider';

/** The operator's part of the HostPolicy that hooks obey (default: the VM's own addresses only). */
export type HookPolicy = Pick<HostPolicy, 'hookAllowedCidrs'>;

export const HOOK_TIMEOUT_MS = 10_000;

type Hook = NonNullable<NonNullable<NonNullable<VirtualMachine['spec']>['lifecycle']>['postStart']>;

export interface HookOutcome {
  readonly ok: boolean;
  /** One line for the event message. */
  readonly detail: string;
}

export async function runHook(
  which: 'postStart' | 'preStop',
  vm: VirtualMachine,
  provider: Provider,
  ips: readonly string[],
  signal?: AbortSignal,
  policy: HookPolicy = DEFAULT_HOST_POLICY,
): Promise<HookOutcome | undefined> {
  const hook: Hook | undefined = vm.spec?.lifecycle?.[which];
  const id = vm.status?.id;
  if (!hook || !id) return undefined;
  try {
    if (hook.snapshot) {
      const res = await provider.snapshotCreate(
        { vmId: id, nameHint: hook.snapshot.name, includeMemory: hook.snapshot.includeMemory ?? false, description: hook.snapshot.description ?? `${which} hook of ${vm.metadata?.name}` },
        { signal, timeoutMs: 300_000 },
      );
      return { ok: true, detail: `${which} snapshot "${hook.snapshot.name}" requested (id ${res.snapshotId})` };
    }
    if (hook.httpGet) return await httpGetHook(which, hook.httpGet, ips, policy, signal);
    if (hook.exec) {
      if (!provider.guestExec) return { ok: false, detail: `${which} exec: this provider cannot run commands in the guest` };
      const res = await provider.guestExec(id, hook.exec.command, { signal, timeoutMs: 60_000 });
      return { ok: res.exitCode === 0, detail: `${which} exec ${JSON.stringify(hook.exec.command)}: exit code ${res.exitCode}` };
    }
    return undefined;
  } catch (err) {
    return { ok: false, detail: `${which} hook failed: ${(err as Error).message}` };
  }
}

async function httpGetHook(
  which: string, get: NonNullable<Hook['httpGet']>, ips: readonly string[], policy: HookPolicy, signal?: AbortSignal,
): Promise<HookOutcome> {
  const host = get.host || ips[0];
  if (!host) return { ok: false, detail: `${which} httpGet: the VM reports no IP address and the hook names no host` };
  const scheme = (get.scheme ?? 'HTTP').toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return { ok: false, detail: `${which} httpGet: scheme ${JSON.stringify(get.scheme)} is not supported (HTTP, HTTPS)` };
  const shown = `${scheme}://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${get.port}${get.path ?? '/'}`;
  let url: URL;
  try {
    url = new URL(shown);
  } catch {
    return { ok: false, detail: `${which} httpGet ${shown}: not a valid URL` };
  }
  const cidrs = parseCidrs(policy.hookAllowedCidrs, 'host policy: hookAllowedCidrs');
  const allowedText = `the VM's own addresses (${ips.length ? ips.join(', ') : 'none reported'})`
    + ` or the ranges the operator allows for hooks (${cidrs.length ? cidrs.map((c) => c.text).join(', ') : 'none'})`;
  let addrs;
  try {
    addrs = await resolveChecked(url.hostname, `${which} httpGet ${shown} refused`, cidrs, ips, allowedText);
  } catch (e) {
    return { ok: false, detail: (e as Error).message };
  }
  const timeout = AbortSignal.timeout(HOOK_TIMEOUT_MS);
  let res: IncomingMessage;
  try {
    res = await pinnedGet(url, addrs, { signal: AbortSignal.any([timeout, ...(signal ? [signal] : [])]) });
  } catch (e) {
    return { ok: false, detail: `${which} httpGet ${shown}: ${timeout.aborted ? `no answer within ${HOOK_TIMEOUT_MS / 1000} s` : (e as Error).message}` };
  }
  res.destroy();
  const status = res.statusCode ?? 0;
  return { ok: status >= 200 && status < 400, detail: `${which} httpGet ${shown}: HTTP ${status}` };
}
