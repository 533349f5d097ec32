/**
 * Fair work between Providers on the real API server: a Provider whose
 * every call takes 20 s holds at most its per-Provider share of the VM
 * workers, so the VMs of another Provider converge as fast as they do
 * alone while the slow ones are still being worked on.
 */
import t from 'tap';
import { MemoryProvider, memoryOptionsFromContext } from '../../src/providers/memory';
import { ProviderRegistry } from '../../src/providers/registry';
import { parseRunFlags } from '../../src/cli/run-command';
import { Kinds } from '../../src/reconciler/kinds';
import { createFixtures, operatorEnv, vmObject } from '../reconciler/support/env';

const SLOW_MS = 20_000;
const WORKERS = 10;
const PER_PROVIDER = 4;

t.test('--per-provider-workers', async (t) => {
  t.equal(parseRunFlags([]).perProviderWorkers, 4, 'default 4');
  t.equal(parseRunFlags(['--per-provider-workers', '2']).perProviderWorkers, 2);
  t.equal(parseRunFlags(['--per-provider-workers=6']).perProviderWorkers, 6);
  t.throws(() => parseRunFlags(['--per-provider-workers=0']), /flag --per-provider-workers: "0" is not an integer >= 1/);
});

t.test('a slow Provider does not starve the VMs of another', async (t) => {
  const env = await operatorEnv(t);
  const { admin, ns } = env;
  await createFixtures(env);
  const providers = new Map<string, MemoryProvider>();
  const registry = new ProviderRegistry().register('memory', (ctx) => {
    const p = new MemoryProvider(memoryOptionsFromContext(ctx));
    providers.set(ctx.name, p);
    return p;
  });
  const provider = (name: string, query: string) => ({
    apiVersion: 'infra.virtrigaud.io/v1beta1',
    kind: 'Provider',
    metadata: { name, namespace: ns, annotations: { 'virtrigaud.io/in-process': 'memory' } },
    spec: {
      type: 'libvirt',
      endpoint: `https://memory.invalid/${name}${query}`,
      credentialSecretRef: { name: 'lab-creds' },
      runtime: { image: 'example.invalid/provider:v1', service: { tls: { enabled: false } } },
      healthCheck: { interval: '30s', timeout: '30s' },
      // The provider's own rate limit is not what is under test here.
      rateLimit: { qps: 1000, burst: 1000 },
    },
  });
  for (const [name, query] of [['alone', ''], ['fast', ''], ['slow', `?latencyMs=${SLOW_MS}`]] as const) await admin.create(Kinds.Provider, provider(name, query));
  const running = await env.start({ registry, vmWorkers: WORKERS, perProviderConcurrency: PER_PROVIDER });
  const { operator } = running;
  const known = () => ['alone', 'fast', 'slow'].every((n) => operator.informers.providers.get(`${ns}/${n}`));
  for (const deadline = Date.now() + 20_000; !known(); ) {
    if (Date.now() > deadline) throw new Error('the operator never saw the three Providers');
    await new Promise((r) => setTimeout(r, 50));
  }

  const vms = async () => (await admin.list(Kinds.VirtualMachine, ns)).items as any[];
  const runningOn = async (providerName: string) => (await vms()).filter((v) => v.spec.providerRef.name === providerName && v.status?.phase === 'Running').length;
  const create = (prefix: string, providerName: string, n: number) =>
    // An imported disk, not an image: the slow Provider's VMs go straight to Create (an ImagePrepare taking the slow
    // Provider's 20 s would hold them before they reach the VM workers this test is about).
    Promise.all(Array.from({ length: n }, (_, i) => admin.create(Kinds.VirtualMachine, vmObject(ns, `${prefix}-${i}`, { providerRef: { name: providerName }, imageRef: undefined, importedDisk: { diskID: 'base' } }))));
  const inFlight = (shard: string) => {
    const m = new RegExp(`^workqueue_shard_in_flight\\{name="virtualmachine",shard="${ns}/${shard}"\\} (\\d+)$`, 'm').exec(operator.metrics.render());
    return m ? Number(m[1]) : 0;
  };
  const allRunning = async (providerName: string, n: number, timeoutMs: number) => {
    const t0 = Date.now();
    let slowMax = 0;
    while ((await runningOn(providerName)) < n) {
      slowMax = Math.max(slowMax, inFlight('slow'));
      if (Date.now() - t0 > timeoutMs) {
        const sample = (await vms()).find((v) => v.spec.providerRef.name === providerName && v.status?.phase !== 'Running');
        throw new Error(`only ${await runningOn(providerName)} of ${n} VMs of Provider ${providerName} Running after ${timeoutMs} ms; one of the others: ${JSON.stringify(sample?.status)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return { ms: Date.now() - t0, slowMax };
  };

  // Alone: 20 VMs on a quick Provider with the workers to themselves.
  await create('alone', 'alone', 20);
  const alone = await allRunning('alone', 20, 30_000);
  t.pass(`20 VMs alone: Running after ${alone.ms} ms`);

  // The slow Provider's 10 VMs take their share of the workers and keep it (every call takes 20 s) ...
  await create('slow', 'slow', 10);
  for (const deadline = Date.now() + 5_000; inFlight('slow') < PER_PROVIDER; ) {
    if (Date.now() > deadline) throw new Error(`the slow Provider's VMs never filled their share (${inFlight('slow')} in flight)`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const slowBusySince = Date.now();
  // ... while 20 VMs of another Provider are created.
  await create('fast', 'fast', 20);
  const contended = await allRunning('fast', 20, 30_000);
  const margin = Math.max(3_000, alone.ms);
  t.ok(contended.ms <= alone.ms + margin, `20 VMs next to the slow Provider: Running after ${contended.ms} ms (alone ${alone.ms} ms, bound ${alone.ms + margin} ms)`);
  t.ok(Date.now() - slowBusySince < SLOW_MS, `and before a single call of the slow Provider returned (${Date.now() - slowBusySince} ms < ${SLOW_MS} ms): nobody waited for it`);

  t.equal(contended.slowMax, PER_PROVIDER, `the slow Provider held ${PER_PROVIDER} of the ${WORKERS} workers, never more`);
  t.equal(inFlight('slow'), PER_PROVIDER, 'its VMs are still being worked on');
  t.equal(await runningOn('slow'), 0, 'none of them is Running yet');
  const slowCalls = Object.entries(providers.get('slow')!.calls).filter(([op]) => op !== 'Validate' && op !== 'GetCapabilities').reduce((n, [, c]) => n + c, 0);
  t.ok(slowCalls >= PER_PROVIDER, `the slow Provider was being called for its VMs (${slowCalls} calls)`);
  const shards = [...operator.metrics.render().matchAll(/^workqueue_shard_(?:depth|in_flight)\{name="virtualmachine",shard="([^"]*)"\}/gm)].map((m) => m[1]);
  t.ok(shards.includes(`${ns}/slow`), 'the slow Provider has shard series');
  t.ok(shards.every((s) => [`${ns}/alone`, `${ns}/fast`, `${ns}/slow`].includes(s!)), `shard series are labelled by Provider only (${[...new Set(shards)]})`);
  await running.stop();
});
