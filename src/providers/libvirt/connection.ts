/**
 * Turns a Provider's endpoint (a libvirt URI) and credentials Secret into
 * what virsh needs: the URI with our transport parameters and an
 * environment. Secrets go into a private 0700 directory for the lifetime of
 * the provider, never onto a command line.
 *
 * Secret keys:
 * - `knownHosts`: known_hosts lines for the ssh host (required for
 *   qemu+ssh unless insecureSkipVerify); host keys are checked strictly.
 * - `sshPrivateKey` (or `ssh-privatekey`, the kubernetes.io/ssh-auth key):
 *   the client key.
 * - `username`: ssh/SASL user when the URI names none; `password`: SASL.
 * - `ca.crt`, `tls.crt`, `tls.key`: client PKI for qemu+tls.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderError } from '../provider';

export interface Connection {
  readonly uri: string;
  readonly env: NodeJS.ProcessEnv;
  /** True when the URI names a host (the hypervisor is not this machine). */
  readonly remote: boolean;
  dispose(): Promise<void>;
}

export interface ConnectionInput {
  readonly endpoint: string;
  readonly credentials: Readonly<Record<string, string>>;
  readonly insecureSkipVerify: boolean;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function parseUri(endpoint: string): URL {
  try {
    const u = new URL(endpoint);
    if (!/^qemu(\+(ssh|tcp|tls|unix))?:$/.test(u.protocol)) throw new Error('scheme');
    return u;
  } catch {
    throw new ProviderError('InvalidSpec', `libvirt endpoint "${endpoint}" is not a qemu URI (qemu:///system, qemu+ssh://user@host/system, qemu+tls://host/system)`);
  }
}

export async function openConnection(input: ConnectionInput): Promise<Connection> {
  const u = parseUri(input.endpoint);
  const creds = input.credentials;
  const transport = u.protocol.replace(/^qemu\+?|:$/g, '');
  const remote = u.hostname !== '';
  const env: NodeJS.ProcessEnv = { ...process.env };
  const needsDir = transport === 'ssh' || (transport === 'tls' && creds['ca.crt']) || creds.password;
  if (!needsDir) return { uri: u.href, env, remote, dispose: async () => undefined };

  const dir = await mkdtemp(join(tmpdir(), 'virtrigaud-libvirt-'));
  await chmod(dir, 0o700);
  const put = async (name: string, body: string) => {
    const p = join(dir, name);
    await writeFile(p, body.endsWith('\n') ? body : `${body}\n`, { mode: 0o600 });
    return p;
  };
  try {
    if (!u.username && creds.username) u.username = creds.username;
    if (transport === 'ssh') {
      const key = creds.sshPrivateKey ?? creds['ssh-privatekey'];
      const opts = ['-o BatchMode=yes', '-o ConnectTimeout=15', '-o GlobalKnownHostsFile=/dev/null'];
      if (creds.knownHosts) {
        opts.push(`-o UserKnownHostsFile=${shq(await put('known_hosts', creds.knownHosts))}`, '-o StrictHostKeyChecking=yes');
      } else if (input.insecureSkipVerify) {
        opts.push('-o UserKnownHostsFile=/dev/null', '-o StrictHostKeyChecking=no');
      } else {
        throw new ProviderError('InvalidSpec', 'qemu+ssh endpoint: the credentials Secret needs a `knownHosts` key (e.g. the output of `ssh-keyscan <host>`) so the host key can be verified; or set insecureSkipVerify');
      }
      if (key) opts.push(`-i ${shq(await put('id', key))}`, '-o IdentitiesOnly=yes');
      // libvirt runs `command` in place of ssh with its usual arguments.
      const wrapper = join(dir, 'ssh');
      await writeFile(wrapper, `#!/bin/sh\nexec ssh ${opts.join(' ')} "$@"\n`, { mode: 0o700 });
      u.searchParams.set('command', wrapper);
      u.searchParams.set('no_tty', '1');
    }
    if (transport === 'tls' && creds['ca.crt']) {
      await put('cacert.pem', creds['ca.crt']);
      if (creds['tls.crt']) await put('clientcert.pem', creds['tls.crt']);
      if (creds['tls.key']) await put('clientkey.pem', creds['tls.key']);
      u.searchParams.set('pkipath', dir);
      if (input.insecureSkipVerify) u.searchParams.set('no_verify', '1');
    }
    if (creds.password) {
      // SASL credentials without a prompt: libvirt's client auth file.
      env.LIBVIRT_AUTH_FILE = await put('auth.conf', [
        '[credentials-virtrigaud]', `authname=${creds.username ?? u.username}`, `password=${creds.password}`,
        '', '[auth-libvirt-default]', 'credentials=virtrigaud',
      ].join('\n'));
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  // URL.href percent-encodes the path in `command`; libvirt decodes query values.
  return { uri: u.href, env, remote, dispose: () => rm(dir, { recursive: true, force: true }) };
}
