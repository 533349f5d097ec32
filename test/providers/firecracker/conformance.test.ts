/**
 * The provider conformance suite against the real Firecracker binary,
 * its processes in a network namespace this test creates (their taps
 * appear there, never in the host's) and removes.
 */
import t from 'tap';
import { runProviderConformance } from '../../../src/providers/conformance';
import { FirecrackerProvider } from '../../../src/providers/firecracker';
import { destroyStateDir, firecrackerBin, firecrackerPidsUnder, linksIn, makeNetns, removeNetns, stateDir } from './support';

t.test('conformance: Firecracker provider', { timeout: 300_000 }, async (t) => {
  const binary = firecrackerBin();
  const dir = await stateDir('conf');
  const netns = makeNetns();
  t.teardown(async () => {
    await destroyStateDir(dir);
    removeNetns(netns);
  });
  await runProviderConformance(t, async () => {
    const provider = new FirecrackerProvider({ stateDir: dir, binary, netns, networks: [{ name: 'lab-net', rxBitsPerSecond: 100_000_000 }] });
    return { provider, cleanup: () => provider.close() };
  }, { taskTimeoutMs: 90_000, namePrefix: 'fconf' });
  t.same(await firecrackerPidsUnder(dir), [], 'no Firecracker process left behind');
  t.same(linksIn(netns).filter((l) => l.startsWith('fc')), [], 'no tap left behind in the namespace');
});
