/** The Proxmox provider served over the remote protocol (plaintext gRPC on loopback), against fakepve: the conformance suite over the wire. */
import t from 'tap';
import { runProviderConformance } from '../../../src/providers/conformance';
import { RemoteProvider, serveProvider } from '../../../src/providers/remote';
import { startFakePve } from './fakepve';

t.test('conformance: Proxmox provider over gRPC, fakepve behind it', async (t) => {
  const pve = await startFakePve(t);
  await runProviderConformance(t, async () => {
    const inner = pve.provider();
    const srv = await serveProvider(inner, { address: '127.0.0.1:0', tls: { mode: 'plaintext' } });
    const remote = new RemoteProvider({ address: `127.0.0.1:${srv.port}`, tls: { mode: 'plaintext' } });
    return { provider: remote, cleanup: async () => { await remote.close(); await srv.close(); await inner.close(); } };
  }, { namePrefix: 'wire', taskTimeoutMs: 30_000 });
  t.same((await pve.vms()).filter((v) => !v.template).map((v) => v.name), [], 'nothing left in fakepve');
});
