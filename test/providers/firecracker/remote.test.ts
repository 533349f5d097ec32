/**
 * The Firecracker provider served over the remote gRPC protocol (plaintext
 * on 127.0.0.1) and driven through RemoteProvider: the wire carries the
 * uid, the power state, a NIC (its tap in a network namespace this test
 * makes and removes) and the error kinds with the provider's text.
 */
import t from 'tap';
import { createRequest, fixtureUid } from '../../../src/providers/conformance';
import { FirecrackerProvider } from '../../../src/providers/firecracker';
import { isProviderError } from '../../../src/providers/provider';
import { RemoteProvider, serveProvider } from '../../../src/providers/remote';
import { destroyStateDir, firecrackerBin, firecrackerPidsUnder, linksIn, makeNetns, removeNetns, stateDir } from './support';

t.test('Firecracker over the remote protocol', { timeout: 120_000 }, async (t) => {
  const binary = firecrackerBin();
  const dir = await stateDir('remote');
  const netns = makeNetns();
  t.teardown(async () => {
    await destroyStateDir(dir);
    removeNetns(netns);
  });
  const fc = new FirecrackerProvider({ stateDir: dir, binary, netns, networks: [{ name: 'lab-net' }] });
  const srv = await serveProvider(fc, { address: '127.0.0.1:0', tls: { mode: 'plaintext' } });
  const remote = new RemoteProvider({ address: `127.0.0.1:${srv.port}`, tls: { mode: 'plaintext' } });
  t.teardown(async () => {
    await remote.close();
    await srv.close();
    await fc.close();
  });
  t.equal((await remote.validate()).ok, true, 'validate over the wire');
  const uid = fixtureUid();
  const base = createRequest('wire', { uid, networks: [] });
  const { id } = await remote.create({ ...base, class: { ...base.class, CPU: 1, MemoryMiB: 128 } });
  const d = await remote.describe(id);
  t.equal(d.powerState, 'On', 'running');
  t.equal(d.uid, uid, 'the uid comes back over the wire');
  await remote.power(id, 'Off', 0);
  t.equal((await remote.describe(id)).powerState, 'Off', 'off');
  const err = await remote.snapshotCreate({ vmId: id, nameHint: 'x', includeMemory: true, description: '' }).then(() => undefined, (e: unknown) => e);
  t.ok(isProviderError(err, 'InvalidSpec'), 'snapshot of a stopped microVM: InvalidSpec over the wire');
  t.match((err as Error).message, /need a running microVM/, 'with the provider\'s message');
  const withNic = createRequest('wire-net', { disks: [] });
  const nic = await remote.create({ ...withNic, class: { ...base.class, CPU: 1, MemoryMiB: 128 } });
  const tap = (await fc.layout.read(nic.id))!.nics[0]!.tap;
  t.ok(linksIn(netns).includes(tap), `a NIC over the wire: tap ${tap} in the test's namespace`);
  t.equal((await remote.listVMs()).find((v) => v.id === nic.id)?.networks[0]?.name, 'lab-net', 'ListVMs names its network');
  await remote.delete(nic.id);
  t.notOk(linksIn(netns).includes(tap), 'deleted over the wire: the tap is gone');
  const refused = await remote.create({ ...withNic, name: 'wire-bad', networks: [{ ...withNic.networks[0]!, NetworkName: 'host-lan' }], class: { ...base.class, CPU: 1, MemoryMiB: 128 } }).then(() => undefined, (e: unknown) => e);
  t.ok(isProviderError(refused, 'InvalidSpec'), 'a network the operator did not allow: InvalidSpec over the wire');
  t.match((refused as Error).message, /"host-lan" is not one this Firecracker instance allows/, 'a refused network says why');
  await remote.delete(id);
  t.equal((await remote.describe(id)).exists, false, 'deleted');
  t.same(await firecrackerPidsUnder(dir), [], 'no process left');
});
