/**
 * A remote Provider end to end: the Provider controller renders and applies
 * the runtime (ServiceAccount, Service, Deployment) as the install's
 * ServiceAccount; the test plays the kubelet by marking the Deployment
 * ready; the reconciler then reaches the provider over gRPC with mutual TLS
 * (certificates from a Secret, server name verified) and runs a VM there.
 * The provider is our in-memory one served by serveProvider, dialled at
 * 127.0.0.1 through --provider-address since there is no cluster DNS.
 */
import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryProvider } from '../../../src/providers/memory';
import { serveProvider } from '../../../src/providers/remote';
import { Kinds } from '../../../src/reconciler/kinds';
import { CoreResources } from '../../../src/reconciler/runtime';
import { createCa, issueCert } from '../../../src/testenv/pki';
import { condition, operatorEnv, vmObject } from '../support/env';

t.test('a remote Provider over mTLS: runtime rendered, health checked, a VM run and deleted', async (t) => {
  const env = await operatorEnv(t);
  const { admin, ns } = env;
  const host = `virtrigaud-provider-${ns}-remote.${ns}.svc.cluster.local`;
  const dir = mkdtempSync(join(tmpdir(), 'vr-remote-'));
  const ca = await createCa(dir, 'provider-ca');
  const server = await issueCert(ca, dir, 'server', { commonName: 'provider', usage: 'server', dnsNames: [host] });
  const client = await issueCert(ca, dir, 'client', { commonName: 'virtrigaud-reconciler', usage: 'client' });
  const pem = (p: string) => readFileSync(p, 'utf8');
  const memory = new MemoryProvider({ credentials: { username: 'admin' } });
  const served = await serveProvider(memory, {
    address: '127.0.0.1:0',
    tls: { caPem: pem(ca.certPath), certPem: pem(server.certPath), keyPem: pem(server.keyPath), requireClientCert: true },
  });
  t.teardown(() => served.close());

  await admin.create(CoreResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'remote-creds', namespace: ns }, stringData: { username: 'admin', password: 'remote-Pa55word' } });
  await admin.create(CoreResources.secrets, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'remote-tls', namespace: ns },
    type: 'kubernetes.io/tls',
    stringData: { 'tls.crt': pem(client.certPath), 'tls.key': pem(client.keyPath), 'ca.crt': pem(ca.certPath) },
  });
  await admin.create(Kinds.Provider, {
    apiVersion: 'infra.virtrigaud.io/v1beta1',
    kind: 'Provider',
    metadata: { name: 'remote', namespace: ns },
    spec: {
      type: 'libvirt',
      endpoint: 'qemu+ssh://root@hv1.example.com/system',
      credentialSecretRef: { name: 'remote-creds' },
      runtime: { image: 'ghcr.io/projectbeskar/virtrigaud/provider-libvirt:v0.3.3', service: { port: 9443, tls: { enabled: true, secretRef: { name: 'remote-tls' } } } },
      healthCheck: { interval: '1s' },
    },
  });
  await admin.create(Kinds.VMClass, { apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMClass', metadata: { name: 'small', namespace: ns }, spec: { cpu: 1, memory: '1Gi' } });
  await admin.create(Kinds.VMImage, { apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMImage', metadata: { name: 'ubuntu', namespace: ns }, spec: { source: { libvirt: { path: '/var/lib/libvirt/images/u.qcow2' } } } });

  await env.start({ providerAddresses: new Map([[`${ns}/remote`, `127.0.0.1:${served.port}`]]) });

  // The runtime is rendered and applied, but no pod is ready: the Provider is Pending.
  const pending = await env.waitFor(Kinds.Provider, 'remote', (o: any) => o.status?.runtime?.phase === 'Pending', 'runtime Pending');
  t.equal(condition(pending, 'TLSConfigured')?.status, 'True', 'TLSConfigured');
  t.equal(pending.status.runtime.endpoint, `${host}:9443`);
  t.equal(pending.status.healthy, false, 'not healthy before the runtime runs');
  t.equal(condition(pending, 'Ready')?.reason, 'RuntimeNotReady', 'not Ready while no replica is ready');
  const name = `virtrigaud-provider-${ns}-remote`;
  const deployment = await admin.get(CoreResources.deployments, ns, name);
  t.ok(deployment, 'Deployment applied');
  t.equal(deployment.metadata.ownerReferences?.[0]?.kind, 'Provider', 'owned by the Provider');
  t.ok(await admin.get(CoreResources.services, ns, name), 'Service applied');
  t.ok(await admin.get(CoreResources.serviceAccounts, ns, name), 'ServiceAccount applied');

  // Play the kubelet: one ready replica.
  await admin.patch(CoreResources.deployments, ns, name, { status: { replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1 } }, { type: 'merge', subresource: 'status' });
  const ready = await env.waitFor(Kinds.Provider, 'remote', (o: any) => o.status?.runtime?.phase === 'Running' && o.status.healthy === true, 'Running and healthy over gRPC');
  t.equal(condition(ready, 'ProviderAvailable')?.status, 'True');
  t.equal(condition(ready, 'Ready')?.status, 'True');
  t.equal(condition(ready, 'CapabilitiesReported')?.status, 'True', 'capabilities fetched over gRPC');
  t.ok(memory.calls.Validate >= 1, 'Validate reached the provider');

  await admin.create(Kinds.VirtualMachine, vmObject(ns, 'far', { providerRef: { name: 'remote' } }));
  const vm = await env.waitFor(Kinds.VirtualMachine, 'far', (o: any) => o.status?.phase === 'Running' && condition(o, 'Ready')?.status === 'True', 'Running via gRPC');
  t.equal((await memory.describe(vm.status.id)).exists, true, 'the VM exists behind the gRPC server');
  t.equal(vm.status.currentResources.memoryMiB, 1024);

  await admin.delete(Kinds.VirtualMachine, ns, 'far');
  const deadline = Date.now() + 20_000;
  while (await admin.get(Kinds.VirtualMachine, ns, 'far')) {
    if (Date.now() > deadline) throw new Error('VM not released');
    await new Promise((r) => setTimeout(r, 100));
  }
  t.equal((await memory.listVMs()).length, 0, 'deleted over gRPC, nothing left');
});

t.test('a Provider without a TLS decision is refused, nothing deployed', async (t) => {
  const env = await operatorEnv(t);
  const { admin, ns } = env;
  await admin.create(CoreResources.secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'c', namespace: ns }, stringData: { username: 'u' } });
  await admin.create(Kinds.Provider, {
    apiVersion: 'infra.virtrigaud.io/v1beta1',
    kind: 'Provider',
    metadata: { name: 'notls', namespace: ns },
    spec: { type: 'vsphere', endpoint: 'https://vc.example.com/sdk', credentialSecretRef: { name: 'c' }, runtime: { image: 'example.invalid/p:v1' } },
  });
  await env.start();
  const p = await env.waitFor(Kinds.Provider, 'notls', (o: any) => o.status?.runtime?.phase === 'Failed', 'refused');
  t.equal(condition(p, 'TLSConfigured')?.reason, 'TLSBlockMissing');
  t.equal(condition(p, 'ProviderRuntimeReady')?.reason, 'TLSNotConfigured');
  t.equal(condition(p, 'Ready')?.status, 'False');
  t.notOk(await admin.get(CoreResources.deployments, ns, `virtrigaud-provider-${ns}-notls`), 'no Deployment');
});
