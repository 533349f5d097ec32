/**
 * The operator in a process of its own, built as `virtrigaud run` builds
 * it, for crash tests that need the process to die at one exact point. The
 * in-memory provider (instance `memory`, for <namespace>) keeps its state in
 * `<stateDir>/<namespace>-<name>.json`; with
 * VIRTRIGAUD_TEST_CRASH_AFTER=SnapshotCreate the process SIGKILLs itself
 * right after a SnapshotCreate succeeded on the provider (the state file is
 * written), before the reconciler could record the snapshot id.
 *
 * Usage: node --import tsx crash-child.ts <kubeconfig> <namespace> <stateDir>
 */
import { writeSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { MemoryProvider, memoryOptionsFromContext } from '../../../src/providers/memory';
import type { CallOptions, SnapshotCreateRequest } from '../../../src/providers/provider';
import { ProviderRegistry } from '../../../src/providers/registry';
import { DEFAULT_CONFIG } from '../../../src/reconciler/config';
import { Operator } from '../../../src/reconciler/operator';
import { createLogger } from '../../../src/reconciler/runtime';
import { SecretRedactor } from '../../../src/reconciler/secrets';

const CRASH_AFTER_ENV = 'VIRTRIGAUD_TEST_CRASH_AFTER';
const CRASH_LINE = 'crashing on purpose after SnapshotCreate';

class CrashingMemoryProvider extends MemoryProvider {
  override async snapshotCreate(req: SnapshotCreateRequest, o?: CallOptions) {
    const res = await super.snapshotCreate(req, o);
    if (process.env[CRASH_AFTER_ENV] === 'SnapshotCreate') {
      // Synchronous: an asynchronous write to the pipe would die with the process.
      writeSync(1, `${JSON.stringify({ level: 'info', msg: CRASH_LINE, snapshotId: res.snapshotId })}\n`);
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => undefined);
    }
    return res;
  }
}

async function main(): Promise<void> {
  const [kubeconfig, namespace, stateDir] = process.argv.slice(2);
  if (!kubeconfig || !namespace || !stateDir) throw new Error('usage: crash-child.ts <kubeconfig> <namespace> <stateDir>');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfig);
  const redactor = new SecretRedactor();
  const logger = createLogger({ level: 'debug', format: 'json', stream: process.stdout, redact: () => redactor.secrets() });
  const registry = new ProviderRegistry().register('memory', (ctx) => new CrashingMemoryProvider(memoryOptionsFromContext(ctx)));
  const operator = new Operator({
    kubeConfig,
    logger,
    redactor,
    namespace,
    registry,
    // As --enable-test-providers with a configuration naming the instance `memory` for this namespace.
    config: { ...DEFAULT_CONFIG, testProviders: true, inProcessProviders: [{ name: 'memory', driver: 'memory', namespaces: [namespace], memory: { stateDir } }] },
    healthProbeBindAddress: '127.0.0.1:0',
    metricsBindAddress: '0',
    vmTiming: { pollMs: 100, resyncMs: 5_000, dependencyRetryMs: 1_000, errorRetryMs: 300 },
  });
  const ctl = new AbortController();
  process.on('SIGTERM', () => ctl.abort());
  await operator.start(ctl.signal);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
