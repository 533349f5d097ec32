/**
 * `npm run cluster`: a control plane in the foreground with our CRDs
 * (dist/crds.yaml when present) installed, for poking at with kubectl.
 * Ctrl-C (SIGINT) or SIGTERM stops it and removes its data.
 *
 * Options: --crds=<file>[,<file>...]  CRD files instead of dist/crds.yaml
 *          --no-crds                  install none
 */
import { rmSync } from 'node:fs';
import { startControlPlane, defaultCrdPaths } from './control-plane';
import { STATE_ENV, sharedStatePath, writeSharedState } from './shared';

const log = (m: string) => console.error(`[cluster] ${m}`);

function crdPaths(): string[] {
  if (process.argv.includes('--no-crds')) return [];
  const a = process.argv.find((x) => x.startsWith('--crds='));
  return a ? a.slice('--crds='.length).split(',').filter(Boolean) : defaultCrdPaths();
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const crds = crdPaths();
  if (!crds.length) log('no CRDs to install (run `npm run synth` first to get dist/crds.yaml)');
  const cp = await startControlPlane({ crds, log });
  // A state file lets test files run against this control plane too.
  const statePath = sharedStatePath(process.pid);
  await writeSharedState(statePath, { status: 'ready', supervisorPid: process.pid, plane: cp.state, startMs: Date.now() - t0 });

  let stopping = false;
  const stop = async (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    log(`${why}: stopping`);
    await cp.stop();
    rmSync(statePath, { force: true });
    log('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop('SIGINT', 0));
  process.on('SIGTERM', () => void stop('SIGTERM', 0));
  process.on('SIGHUP', () => void stop('SIGHUP', 0));
  void cp.crashed.then((report) => {
    if (stopping) return;
    console.error(report);
    void stop('a server died', 1);
  });
  // The servers are unref'd children; keep the event loop alive ourselves.
  setInterval(() => {}, 1 << 30);

  const kubectl = cp.binaries.kubectl;
  console.log(`
Control plane ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${cp.server}
  KUBECONFIG=${cp.kubeconfigPath}
  (admin: user virtrigaud-testenv-admin, group system:masters; data in ${cp.dir})

Try:
  KUBECONFIG=${cp.kubeconfigPath} ${kubectl} get crds
  KUBECONFIG=${cp.kubeconfigPath} ${kubectl} explain virtualmachines.spec

Run the tests against it:
  ${STATE_ENV}=${statePath} npm test

Press Ctrl-C to stop.`);
}

main().catch((err: unknown) => {
  console.error(`[cluster] ${(err as Error).message ?? String(err)}`);
  process.exit(1);
});
