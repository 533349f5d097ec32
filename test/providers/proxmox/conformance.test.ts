import t from 'tap';
import { runProviderConformance } from '../../../src/providers/conformance';
import { startFakePve } from './fakepve';

t.test('conformance: Proxmox provider against fakepve (API token, HTTPS verified)', async (t) => {
  const pve = await startFakePve(t);
  await runProviderConformance(t, async () => {
    const provider = pve.provider();
    return { provider, cleanup: () => provider.close() };
  }, { taskTimeoutMs: 30_000 });
  const left = (await pve.vms()).filter((v) => !v.template);
  t.same(left.map((v) => v.name), [], 'the suite leaves no VM in fakepve');
});
