/**
 * The lower bound for the reconciler benchmark: a loop that does only the
 * requests no controller can avoid. One list + one watch discover the
 * VirtualMachines; each VM gets exactly one status update (PUT /status)
 * with the final status the operator would write. No finalizer, no events,
 * no re-reads. Run by bench/reconciler.bench.ts as a child process with IPC:
 *
 *   node --import tsx bench/reconciler/minimal.ts --kubeconfig PATH --namespace NS
 *       [--workers 10] [--qps 0] [--burst 0]
 *
 * Messages to the parent: { ready: true } once the watch is requested,
 * { stats } in answer to 'stats'.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { ApiError, KubeClient, sleep } from '../../src/reconciler/runtime';
import { Kinds } from '../../src/reconciler/kinds';
import { finalStatus, isConverged } from './status';

interface Args {
  kubeconfig: string;
  namespace: string;
  workers: number;
  qps: number;
  burst: number;
}

function parse(argv: string[]): Args {
  const a: Partial<Args> = { workers: 10, qps: 0, burst: 0 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[++i];
    if (v === undefined) throw new Error(`${argv[i - 1]} needs a value`);
    switch (argv[i - 1]) {
      case '--kubeconfig': a.kubeconfig = v; break;
      case '--namespace': a.namespace = v; break;
      case '--workers': a.workers = Number(v); break;
      case '--qps': a.qps = Number(v); break;
      case '--burst': a.burst = Number(v); break;
      default: throw new Error(`unknown flag ${argv[i - 1]}`);
    }
  }
  if (!a.kubeconfig || !a.namespace) throw new Error('--kubeconfig and --namespace are required');
  return a as Args;
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const kc = new KubeConfig();
  kc.loadFromFile(args.kubeconfig);
  // qps 0 = no client-side limit: this loop measures the API server, not a token bucket.
  const client = new KubeClient(kc, { qps: args.qps, burst: args.burst, userAgent: 'virtrigaud-bench/minimal' });
  const stop = new AbortController();
  const latest = new Map<string, any>();
  const queued = new Set<string>();
  const queue: string[] = [];
  const idle: (() => void)[] = [];

  const offer = (vm: any): void => {
    const name = vm.metadata.name as string;
    latest.set(name, vm);
    if (isConverged(vm) || queued.has(name)) return;
    queued.add(name);
    queue.push(name);
    idle.shift()?.();
  };

  process.on('message', (m) => {
    if (m === 'stats') process.send?.({ stats: client.stats });
  });
  stop.signal.addEventListener('abort', () => idle.splice(0).forEach((r) => r()), { once: true });
  process.once('SIGTERM', () => stop.abort());
  process.once('disconnect', () => stop.abort());

  // Right after CRDs are installed the watch cache may answer 503 (storage is (re)initializing) for a moment.
  let first: { items: any[]; resourceVersion: string } | undefined;
  for (let attempt = 0; !first; attempt++) {
    first = await client.list(Kinds.VirtualMachine, args.namespace).catch((e) => {
      if (attempt > 50) throw e;
      return undefined;
    });
    if (!first) await sleep(200);
  }
  const { items, resourceVersion } = first;
  items.forEach(offer);
  let rv = resourceVersion;
  void (async () => {
    // Re-watch from the last resourceVersion if the server ends the stream.
    while (!stop.signal.aborted) {
      await client.watch(Kinds.VirtualMachine, args.namespace, { resourceVersion: rv, timeoutSeconds: 1800 }, (type, obj) => {
        rv = obj?.metadata?.resourceVersion ?? rv;
        if (type === 'ADDED' || type === 'MODIFIED') offer(obj);
      }, stop.signal).catch((e: Error) => console.error(`minimal: watch: ${e.message}`));
      if (!stop.signal.aborted) await sleep(100, stop.signal);
    }
  })();
  process.send?.({ ready: true });

  const worker = async (): Promise<void> => {
    while (!stop.signal.aborted) {
      const name = queue.shift();
      if (name === undefined) {
        await new Promise<void>((r) => {
          idle.push(r);
        });
        continue;
      }
      let vm = latest.get(name);
      for (let attempt = 0; vm && !isConverged(vm); attempt++) {
        try {
          latest.set(name, await client.updateStatus(Kinds.VirtualMachine, { ...vm, status: finalStatus(vm) }));
          break;
        } catch (e) {
          // Only the applier writes these objects, so a conflict is rare: re-read and retry.
          if (!(e instanceof ApiError && e.code === 409) || attempt > 5) {
            console.error(`minimal: ${name}: ${(e as Error).message}`);
            break;
          }
          vm = await client.get(Kinds.VirtualMachine, args.namespace, name);
        }
      }
      queued.delete(name);
    }
  };
  await Promise.all(Array.from({ length: args.workers }, () => worker()));
  client.close();
}

main().catch((e: Error) => {
  console.error(`minimal: ${e.stack ?? e.message}`);
  process.exit(2);
});
