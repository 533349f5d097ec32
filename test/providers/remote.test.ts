/**
 * The in-memory provider served by serveProvider and reached by
 * RemoteProvider: the conformance suite over the wire (plaintext and
 * mTLS), and the transport-security refusals.
 */
import t, { type Test } from 'tap';
import { runProviderConformance } from '../../src/providers/conformance';
import { RemoteProvider, serveProvider } from '../../src/providers/remote';
import { MemoryProvider } from '../../src/providers/memory';
import { ProviderError } from '../../src/providers/provider';
import { makePki, mtlsClient, mtlsServer, served, type Pki } from './remote-helpers';

t.test('conformance over plaintext gRPC', (t) =>
  runProviderConformance(t, () => served()),
);

t.test('conformance over plaintext gRPC with asynchronous tasks', (t) =>
  runProviderConformance(t, () => served({ memory: { asyncTasks: { completeAfterPolls: 2 } } })),
);

t.test('mTLS', async (t) => {
  const pki: Pki = await makePki(t);

  await t.test('conformance over mTLS (dialling 127.0.0.1, verifying the Service name)', (t) =>
    runProviderConformance(t, () => served({ serverTls: mtlsServer(pki), client: { tls: mtlsClient(pki) } })),
  );

  /** A call that must be refused quickly: with waitForReady it ends at its deadline, with a hint. */
  const refused = async (t: Test, tls: Parameters<typeof mtlsClient>[1] | 'plaintext', what: string) => {
    const memory = new MemoryProvider();
    const srv = await serveProvider(memory, { address: '127.0.0.1:0', tls: mtlsServer(pki) });
    const remote = new RemoteProvider({
      address: `127.0.0.1:${srv.port}`,
      tls: tls === 'plaintext' ? { mode: 'plaintext' } : mtlsClient(pki, tls),
      timeoutsMs: { Validate: 1500 },
    });
    const start = Date.now();
    const err = await remote.validate().catch((e: unknown) => e);
    const elapsed = Date.now() - start;
    await remote.close();
    await srv.close();
    t.ok(err instanceof ProviderError, `${what}: a ProviderError`);
    const pe = err as ProviderError;
    t.ok(['Retryable', 'Unauthenticated'].includes(pe.category), `${what}: Retryable or Unauthenticated (${pe.category})`);
    t.match(pe.message, /Validate/, `${what}: message names the RPC`);
    t.match(pe.message, /no connection to 127\.0\.0\.1:\d+ could be established|certificate|handshake/i, `${what}: message says why`);
    t.ok(elapsed < 5000, `${what}: no hang (${elapsed} ms)`);
    t.equal(memory.calls.Validate, 0, `${what}: the provider was never reached`);
  };

  await t.test('client certificate from another CA is refused', (t) =>
    refused(t, { certPem: pki.foreignClient.cert, keyPem: pki.foreignClient.key }, 'foreign client cert'));
  await t.test('server name other than the certificate\'s is refused', (t) =>
    refused(t, { serverName: 'virtrigaud-provider-ns1-other.ns1.svc.cluster.local' }, 'wrong server name'));
  await t.test('server certificate from an untrusted CA is refused', (t) =>
    refused(t, { caPem: pki.otherCaPem }, 'untrusted server CA'));
  await t.test('plaintext client to a TLS server fails fast', (t) => refused(t, 'plaintext', 'plaintext client'));

  await t.test('insecureSkipVerify accepts a wrong server name and an untrusted CA', async (t) => {
    const s = await served({
      serverTls: mtlsServer(pki),
      client: { tls: mtlsClient(pki, { serverName: 'wrong.example', caPem: pki.otherCaPem, insecureSkipVerify: true }), timeoutsMs: { Validate: 3000 } },
    });
    t.teardown(() => s.cleanup());
    t.same(await s.remote.validate(), { ok: true, message: '' });
  });
});
