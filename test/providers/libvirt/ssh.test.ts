/**
 * qemu+ssh:// with host-key verification, against a throw-away sshd on
 * 127.0.0.1 (its own host key, authorized key and port; root's own ssh
 * configuration is not touched). Right knownHosts → works; wrong → a clear
 * Unauthenticated error naming host-key verification.
 */
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LibvirtProvider } from '../../../src/providers/libvirt';
import { isProviderError } from '../../../src/providers/provider';
import { requireHypervisorTools, TEST_POOL } from './support';

requireHypervisorTools(t);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

t.test('qemu+ssh with host-key verification', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vr-sshd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const k of ['host', 'client', 'other']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, k)]);
  writeFileSync(join(dir, 'authorized'), readFileSync(join(dir, 'client.pub')));
  mkdirSync('/run/sshd', { recursive: true });
  const port = await freePort();
  const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', '/dev/null', '-o', 'ListenAddress=127.0.0.1', '-o', `Port=${port}`,
    '-o', `HostKey=${join(dir, 'host')}`, '-o', `AuthorizedKeysFile=${join(dir, 'authorized')}`, '-o', 'PermitRootLogin=prohibit-password',
    '-o', 'StrictModes=no', '-o', 'UsePAM=no', '-o', `PidFile=${join(dir, 'pid')}`], { stdio: 'ignore' });
  t.teardown(() => { sshd.kill(); });
  await new Promise((r) => setTimeout(r, 500));

  const uri = `qemu+ssh://root@127.0.0.1:${port}/system`;
  const key = readFileSync(join(dir, 'client'), 'utf8');
  const line = (pub: string) => `[127.0.0.1]:${port} ${readFileSync(join(dir, pub), 'utf8')}`;

  const good = new LibvirtProvider({ uri, pool: TEST_POOL, credentials: { knownHosts: line('host.pub'), sshPrivateKey: key } });
  t.teardown(() => good.close());
  const v = await good.validate();
  t.equal(v.ok, true, `right host key: connected (${v.message})`);
  t.ok(Array.isArray(await good.listVMs()), 'lists domains over ssh');

  const bad = new LibvirtProvider({ uri, pool: TEST_POOL, credentials: { knownHosts: line('other.pub'), sshPrivateKey: key } });
  t.teardown(() => bad.close());
  const e = await bad.listVMs().catch((x) => x);
  t.ok(isProviderError(e, 'Unauthenticated'), 'wrong host key: Unauthenticated');
  t.match(e.message, /ssh host key verification failed for 127\.0\.0\.1:\d+: the key it presented does not match `knownHosts`/);
  t.equal((await bad.validate()).ok, false, 'validate reports it');

  const none = new LibvirtProvider({ uri, pool: TEST_POOL, credentials: { sshPrivateKey: key } });
  const e2 = await none.listVMs().catch((x) => x);
  t.ok(isProviderError(e2, 'InvalidSpec'), 'no knownHosts at all: InvalidSpec');
  t.match(e2.message, /knownHosts/);
});
