/** PVE behaviour the provider must get right, each against fakepve over verified HTTPS. */
import t from 'tap';
import { createRequest, desiredPayload, fixtureUid } from '../../../src/providers/conformance';
import { isProviderError, ProviderError } from '../../../src/providers/provider';
import { PveClient } from '../../../src/providers/proxmox';
import { encodeSshKeys } from '../../../src/providers/proxmox/config';
import { awaitUpid } from '../../../src/providers/proxmox/tasks';
import { eventually } from '../../support/eventually';
import { startFakePve } from './fakepve';

const categoryOfRejection = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (e instanceof ProviderError ? e.category : `other: ${String(e)}`));

t.test('PVE semantics against fakepve', async (t) => {
  const pve = await startFakePve(t);
  const p = pve.provider();
  t.teardown(() => p.close());
  const vmidOf = (id: string) => Number(id.split('/')[1]);

  await t.test('a missing VM is HTTP 500 "does not exist": describe says so, a second delete succeeds', async (t) => {
    const raw = await categoryOfRejection(p.client.get('/nodes/pve1/qemu/777/config'));
    t.equal(raw, 'NotFound', 'the 500 "Configuration file ... does not exist" maps to NotFound');
    const err = await p.client.get('/nodes/pve1/qemu/777/config').catch((e: Error & { status?: number }) => e);
    t.equal((err as { status?: number }).status, 500, 'PVE answers 500, not 404');
    t.match((err as Error).message, /qemu-server\/777\.conf' does not exist/, 'with its own text');
    t.equal((await p.describe('pve1/777')).exists, false, 'describe: exists=false');
    const { id } = await p.create(createRequest('sem-missing'));
    await awaitUpid(p.client, (await p.delete(id))?.id, 'Delete');
    t.equal(await categoryOfRejection(p.delete(id)), 'resolved', 'second delete succeeds');
    t.equal(await categoryOfRejection(p.power(id, 'On', 0)), 'NotFound', 'power of the deleted VM: NotFound');
  });

  await t.test('ticket auth: CSRF on writes, renewal before expiry, re-login after a 401', async (t) => {
    const tp = pve.provider({ tokenId: undefined, tokenSecret: undefined, username: pve.user, password: pve.password, ticketRenewMs: 50 });
    t.teardown(() => tp.close());
    t.equal((await tp.validate()).ok, true, 'validate with a ticket');
    const { id } = await tp.create(createRequest('sem-ticket'));
    t.equal((await tp.describe(id)).exists, true, 'a write (clone, PUT config) passed the CSRF check');
    const before = tp.client.logins;
    await new Promise((r) => setTimeout(r, 80));
    await tp.describe(id);
    t.ok(tp.client.logins > before, 'an old ticket is renewed before use');
    await pve.control({ op: 'revoke_tickets' });
    await awaitUpid(tp.client, (await tp.power(id, 'On', 0))?.id, 'Power');
    t.equal((await tp.describe(id)).powerState, 'On', 'after the ticket was revoked the client logs in again');
    const bad = new PveClient({ url: pve.url, ca: pve.ca, username: pve.user, password: 'wrong' });
    t.equal(await categoryOfRejection(bad.get('/version')), 'Unauthenticated', 'a wrong password: Unauthenticated');
    bad.close();
    const noCa = new PveClient({ url: pve.url, tokenId: pve.tokenId, tokenSecret: pve.tokenSecret });
    t.equal(await categoryOfRejection(noCa.get('/version')), 'Retryable', 'without its CA the certificate is refused (TLS verification on)');
    noCa.close();
    await awaitUpid(tp.client, (await tp.delete(id))?.id, 'Delete');
  });

  await t.test('a change on a running VM lands in pending and describe says so', async (t) => {
    const req = createRequest('sem-pending');
    const { id } = await p.create(req);
    await awaitUpid(p.client, (await p.power(id, 'On', 0))?.id, 'Power');
    await p.reconfigure(id, desiredPayload(req, 2, 4096));
    const d = await p.describe(id);
    const fake = (await pve.vms()).find((v) => v.vmid === vmidOf(id))!;
    t.equal(fake.pending.memory, '4096', 'fakepve holds the memory as pending');
    t.match(String(d.providerRaw.pendingChanges), /memory/, 'describe lists the pending change');
    t.equal(d.memoryMiB, 2048, 'and reports the memory in effect, not the pending one');
    await awaitUpid(p.client, (await p.delete(id))?.id, 'Delete');
  });

  await t.test('task errors: a lock timeout is Retryable, a locked VM too, the VM converges after', async (t) => {
    const { id } = await p.create(createRequest('sem-lock'));
    const vmid = vmidOf(id);
    await pve.control({ op: 'fail', method: 'POST', suffix: `/nodes/pve1/qemu/${vmid}/status/start`, status: 500, message: `can't lock file '/var/lock/qemu-server/lock-${vmid}.conf' - got timeout`, times: 1 });
    t.equal(await categoryOfRejection(p.power(id, 'On', 0)), 'Retryable', 'lock timeout: Retryable');
    await pve.control({ op: 'lock', vmid, lock: 'backup' });
    t.equal(await categoryOfRejection(p.reconfigure(id, desiredPayload(createRequest('x'), 3, 2048))), 'Retryable', 'locked VM: Retryable');
    await pve.control({ op: 'unlock', vmid });
    await p.reconfigure(id, desiredPayload(createRequest('x'), 3, 2048));
    t.equal((await p.describe(id)).cpu, 3, 'converges once the lock is gone');
    await awaitUpid(p.client, (await p.delete(id))?.id, 'Delete');
  });

  await t.test('lost quorum and an offline node: Retryable, no VM left or duplicated, converges', async (t) => {
    await pve.control({ op: 'lose_quorum' });
    const e = await p.create(createRequest('sem-quorum')).catch((x: unknown) => x);
    t.ok(isProviderError(e, 'Retryable'), `create without quorum: Retryable (${(e as Error).message})`);
    await pve.control({ op: 'regain_quorum' });
    const { id } = await p.create(createRequest('sem-quorum'));
    t.equal((await pve.vms()).filter((v) => v.name === 'sem-quorum').length, 1, 'one VM after the retry');
    await pve.control({ op: 'node_offline', node: 'pve1' });
    const d = await p.describe(id).catch((x: unknown) => x);
    t.ok(isProviderError(d, 'Retryable'), `describe with the node offline (595): Retryable (${(d as Error).message})`);
    await pve.control({ op: 'node_offline', node: 'pve1', offline: false });
    t.equal((await p.describe(id)).exists, true, 'the VM is there once the node is back');
    await awaitUpid(p.client, (await p.delete(id))?.id, 'Delete');
  });

  await t.test('two creates at once get different vmids', async (t) => {
    const [a, b] = await Promise.all([p.create(createRequest('sem-race-a')), p.create(createRequest('sem-race-b'))]);
    t.not(a.id, b.id, `different ids (${a.id}, ${b.id})`);
    for (const x of [a, b]) await awaitUpid(p.client, (await p.delete(x.id))?.id, 'Delete');
  });

  await t.test('cloud-init, NICs, disks, identity, guest agent IPs, console URL', async (t) => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample user@host';
    const uid = fixtureUid();
    const req = createRequest('sem-ci', {
      uid,
      userData: `#cloud-config\nusers:\n  - name: ops\n    ssh_authorized_keys:\n      - ${key}\n`,
      networks: [{ ...createRequest('x').networks[0]!, Bridge: 'vmbr1', VLAN: 42, Model: 'e1000', StaticIP: '192.0.2.20', Prefix: 24, Gateway: '192.0.2.1' }],
    });
    const { id } = await p.create(req);
    const cfg = (await pve.vms()).find((v) => v.vmid === vmidOf(id))!.config;
    t.equal(cfg.ciuser, 'ops', 'ciuser from the user-data');
    t.equal(cfg.sshkeys, encodeSshKeys([key]), 'sshkeys URL-encoded');
    t.match(cfg.sshkeys, /%20/, 'spaces as %20');
    t.match(cfg.net0, /^e1000=?.*bridge=vmbr1.*tag=42/, 'net0: model, bridge, VLAN tag');
    t.equal(cfg.ipconfig0, 'ip=192.0.2.20/24,gw=192.0.2.1', 'ipconfig0 from the static IP');
    t.match(cfg.scsi1, /size=10G|:10/, 'the data disk was added');
    t.match(cfg.description, uid, 'the uid is stored in the description');
    t.equal(cfg.full === undefined ? 'full' : cfg.full, 'full', 'a full clone');
    await awaitUpid(p.client, (await p.power(id, 'On', 0))?.id, 'Power');
    // The launcher gives a started VM its guest agent on its next 100 ms tick: wait for it (5 s at most).
    const d = (await eventually('the guest agent reports an address', async () => {
      const desc = await p.describe(id);
      return desc.ips.length ? desc : undefined;
    }, 5_000, 100).catch(() => p.describe(id)))!;
    t.equal(d.uid, uid, 'describe reports the uid');
    t.same(d.ips, ['192.0.2.10'], 'IPs from the guest agent, loopback left out');
    t.match(d.consoleURL, new RegExp(`^${pve.url}/\\?console=kvm&novnc=1&vmid=${vmidOf(id)}&node=pve1$`), 'console URL');
    await awaitUpid(p.client, (await p.delete(id))?.id, 'Delete');
    t.equal((await pve.vms()).some((v) => v.vmid === vmidOf(id)), false, 'delete (purge) leaves nothing');
  });

  await t.test('operator limits: a bridge or storage outside the list is refused before anything is made', async (t) => {
    const lp = pve.provider({ limits: { bridges: ['vmbr0'], storages: ['local-lvm'], nodes: ['pve1'] } });
    t.teardown(() => lp.close());
    const net = { ...createRequest('x').networks[0]!, Bridge: 'vmbr9' };
    const e = await lp.create(createRequest('sem-lim', { networks: [net] })).catch((x: unknown) => x);
    t.ok(isProviderError(e, 'InvalidSpec'), 'bridge vmbr9 refused');
    t.match((e as Error).message, /bridge "vmbr9" is not one the operator allows/, 'and the message says why');
    const s = await lp.create(createRequest('sem-lim', { placement: { Datastore: 'other', StoragePod: '', Cluster: '', Folder: '', Host: '' } })).catch((x: unknown) => x);
    t.ok(isProviderError(s, 'InvalidSpec'), 'storage "other" refused');
    t.equal((await pve.vms()).filter((v) => v.name === 'sem-lim').length, 0, 'no VM made');
  });

  await t.test('graceful shutdown of a guest that ignores ACPI ends Off (forceStop)', async (t) => {
    const { id } = await p.create(createRequest('sem-acpi'));
    await awaitUpid(p.client, (await p.power(id, 'On', 0))?.id, 'Power');
    await pve.control({ op: 'acpi', vmid: vmidOf(id), on: false });
    await awaitUpid(p.client, (await p.power(id, 'ShutdownGraceful', 5))?.id, 'Power');
    t.equal((await p.describe(id)).powerState, 'Off', 'Off after the shutdown timeout');
    await awaitUpid(p.client, (await p.delete(id))?.id, 'Delete');
  });
});
