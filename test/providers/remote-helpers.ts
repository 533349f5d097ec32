/** Shared set-up of the remote provider tests: certificates and a served in-memory provider. */
import type { Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueCert, readPair } from '../../src/testenv/pki';
import { MemoryProvider, type MemoryProviderOptions } from '../../src/providers/memory';
import { RemoteProvider, serveProvider, type ClientTls, type RemoteProviderOptions, type ServeOptions } from '../../src/providers/remote';

export const SERVICE_NAME = 'virtrigaud-provider-ns1-p1.ns1.svc.cluster.local';

export interface Pki {
  caPem: string;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
  /** A second, unrelated CA and a client certificate it issued. */
  otherCaPem: string;
  foreignClient: { cert: string; key: string };
}

/** CA, server cert (SAN: the provider Service name and 127.0.0.1), client cert, and a foreign CA + client. */
export async function makePki(t: Test): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'vr-pki-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const ca = await createCa(join(dir, 'ca'), 'virtrigaud-test-ca');
  const other = await createCa(join(dir, 'other'), 'someone-else');
  const [server, client, foreign] = await Promise.all([
    issueCert(ca, join(dir, 'ca'), 'server', { commonName: SERVICE_NAME, usage: 'server', dnsNames: [SERVICE_NAME] }),
    issueCert(ca, join(dir, 'ca'), 'client', { commonName: 'virtrigaud-manager', usage: 'client' }),
    issueCert(other, join(dir, 'other'), 'client', { commonName: 'intruder', usage: 'client' }),
  ]);
  return {
    caPem: (await readPair(ca)).cert,
    server: await readPair(server),
    client: await readPair(client),
    otherCaPem: (await readPair(other)).cert,
    foreignClient: await readPair(foreign),
  };
}

export function mtlsClient(pki: Pki, over: Partial<Extract<ClientTls, { mode: 'mtls' }>> = {}): ClientTls {
  return { mode: 'mtls', caPem: pki.caPem, certPem: pki.client.cert, keyPem: pki.client.key, serverName: SERVICE_NAME, ...over };
}

export function mtlsServer(pki: Pki): ServeOptions['tls'] {
  return { mode: 'mtls', caPem: pki.caPem, certPem: pki.server.cert, keyPem: pki.server.key, requireClientCert: true };
}

export interface Served {
  memory: MemoryProvider;
  remote: RemoteProvider;
  /** The same as remote: the provider under test. */
  provider: RemoteProvider;
  port: number;
  cleanup(): Promise<void>;
}

/** An in-memory provider behind serveProvider, and a RemoteProvider dialling it on 127.0.0.1. */
export async function served(
  o: { memory?: MemoryProviderOptions; server?: Partial<ServeOptions>; serverTls?: ServeOptions['tls']; client?: Partial<RemoteProviderOptions> } = {},
): Promise<Served> {
  const memory = new MemoryProvider(o.memory);
  const srv = await serveProvider(memory, { address: '127.0.0.1:0', tls: o.serverTls ?? { mode: 'plaintext' }, ...o.server });
  const remote = new RemoteProvider({ address: `127.0.0.1:${srv.port}`, tls: { mode: 'plaintext' }, ...o.client });
  return {
    memory, remote, provider: remote, port: srv.port,
    cleanup: async () => {
      await remote.close();
      await srv.close();
      await memory.close();
    },
  };
}
