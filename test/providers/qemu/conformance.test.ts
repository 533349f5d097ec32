/**
 * The provider conformance suite against real QEMU (TCG). The template
 * `ubuntu-22.04` the suite's payloads name is a 1 MiB boot sector that
 * honours ACPI power-off, so ShutdownGraceful completes through the guest.
 */
import t from 'tap';
import { runProviderConformance } from '../../../src/providers/conformance';
import { QemuProvider } from '../../../src/providers/qemu';
import { destroyStateDir, qemuPidsUnder, requireQemu, stateDir } from './support';

t.test('conformance: QEMU provider', async (t) => {
  requireQemu();
  const dir = await stateDir('conf', { 'ubuntu-22.04': { acpi: true } });
  t.teardown(() => destroyStateDir(dir));
  await runProviderConformance(t, async () => {
    const provider = new QemuProvider({ stateDir: dir });
    return { provider, cleanup: () => provider.close() };
  }, { taskTimeoutMs: 60_000, namePrefix: 'qconf' });
  t.same(await qemuPidsUnder(dir), [], 'no QEMU process left behind');
});
