/**
 * Lifecycle hooks (`spec.lifecycle.postStart` / `preStop`): a provider
 * snapshot, an HTTP GET against the guest, or a command run in the guest
 * where the provider can do that. Like container hooks, a failing hook is
 * reported (Warning event) but does not block the power transition.
 */
import type { VirtualMachine } from '../../generated/virtual-machine';
import type { Provider } from '../../providers/provider';

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
    if (hook.httpGet) {
      const host = hook.httpGet.host || ips[0];
      if (!host) return { ok: false, detail: `${which} httpGet: the VM reports no IP address and the hook names no host` };
      const url = `${(hook.httpGet.scheme ?? 'HTTP').toLowerCase()}://${host.includes(':') ? `[${host}]` : host}:${hook.httpGet.port}${hook.httpGet.path ?? '/'}`;
      const res = await fetch(url, { signal: AbortSignal.any([AbortSignal.timeout(10_000), ...(signal ? [signal] : [])]) });
      await res.body?.cancel();
      return { ok: res.status >= 200 && res.status < 400, detail: `${which} httpGet ${url}: HTTP ${res.status}` };
    }
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
