import t from 'tap';
import { runProviderConformance } from '../../../src/providers/conformance';
import { startVcsim } from './vcsim';

t.test('conformance: vSphere provider against vcsim', async (t) => {
  const sim = await startVcsim(t);
  await runProviderConformance(t, async () => {
    const provider = sim.provider();
    return { provider, cleanup: () => provider.close() };
  }, { taskTimeoutMs: 30_000 });
});
