/**
 * Certificates for the test control plane, made with the `openssl` CLI
 * (Node can generate keys but not sign X.509 certificates).
 *
 * One throw-away CA signs the API server's serving certificate and every
 * client certificate. kube-apiserver maps a client certificate's CN to the
 * user name and each O to a group, so a certificate is an identity.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its private key, as PEM files. */
export interface CertPair {
  readonly certPath: string;
  readonly keyPath: string;
}

/** PEM contents of a {@link CertPair}. */
export interface CertPem {
  readonly cert: string;
  readonly key: string;
}

export interface LeafOptions {
  /** Subject CN: the Kubernetes user name for client certificates. */
  readonly commonName: string;
  /** Subject O entries: the Kubernetes groups for client certificates. */
  readonly organizations?: readonly string[];
  /** `server` adds serverAuth and the SANs; `client` adds clientAuth. */
  readonly usage: 'server' | 'client';
  /** DNS names and IP addresses for a serving certificate. */
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await run('openssl', args as string[], { maxBuffer: 1 << 20 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new Error('the `openssl` command is needed to make test certificates; install it (Debian: apt-get install openssl)');
    }
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** Escapes characters that are special in openssl's `-subj` syntax. */
function subjectValue(v: string): string {
  return v.replace(/[\\/=+,]/g, (c) => `\\${c}`);
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Creates a self-signed CA (ECDSA P-256) in `dir` as ca.crt/ca.key. */
export async function createCa(dir: string, commonName: string): Promise<CertPair> {
  await mkdir(dir, { recursive: true });
  const pair = { certPath: join(dir, 'ca.crt'), keyPath: join(dir, 'ca.key') };
  await openssl([
    'req', '-x509', '-new', ...EC_KEY,
    '-keyout', pair.keyPath, '-out', pair.certPath,
    '-days', '3650', '-subj', `/CN=${subjectValue(commonName)}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  return pair;
}

/**
 * Issues a leaf certificate signed by `ca` and writes `<dir>/<baseName>.crt`
 * and `.key`.
 */
export async function issueCert(ca: CertPair, dir: string, baseName: string, opts: LeafOptions): Promise<CertPair> {
  await mkdir(dir, { recursive: true });
  const pair = { certPath: join(dir, `${baseName}.crt`), keyPath: join(dir, `${baseName}.key`) };
  const csrPath = join(dir, `${baseName}.csr`);
  const extPath = join(dir, `${baseName}.ext`);
  // Groups first, CN last: the order openssl writes them in the subject.
  const subject =
    (opts.organizations ?? []).map((o) => `/O=${subjectValue(o)}`).join('') + `/CN=${subjectValue(opts.commonName)}`;
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${opts.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
  ];
  const sans = [...(opts.dnsNames ?? []).map((d) => `DNS:${d}`), ...(opts.ipAddresses ?? []).map((i) => `IP:${i}`)];
  if (sans.length) ext.push(`subjectAltName=${sans.join(',')}`);
  await writeFile(extPath, ext.join('\n') + '\n');
  try {
    await openssl(['req', '-new', ...EC_KEY, '-keyout', pair.keyPath, '-out', csrPath, '-subj', subject]);
    await openssl([
      'x509', '-req', '-in', csrPath, '-CA', ca.certPath, '-CAkey', ca.keyPath,
      // A random serial avoids the CA serial file, so concurrent issuers
      // (test files sharing one control plane) never race on it.
      '-set_serial', `0x${randomBytes(16).toString('hex')}`,
      '-days', '365', '-extfile', extPath, '-out', pair.certPath,
    ]);
  } finally {
    await rm(csrPath, { force: true });
    await rm(extPath, { force: true });
  }
  return pair;
}

/** Reads both PEM files of a pair. */
export async function readPair(pair: CertPair): Promise<CertPem> {
  const [cert, key] = await Promise.all([readFile(pair.certPath, 'utf8'), readFile(pair.keyPath, 'utf8')]);
  return { cert, key };
}

/**
 * Writes the key pair kube-apiserver signs ServiceAccount tokens with
 * (`--service-account-signing-key-file`) and verifies them with
 * (`--service-account-key-file`). ECDSA P-256, i.e. ES256 tokens.
 */
export async function createServiceAccountKeys(dir: string): Promise<{ privateKeyPath: string; publicKeyPath: string }> {
  await mkdir(dir, { recursive: true });
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const privateKeyPath = join(dir, 'sa-signer.key');
  const publicKeyPath = join(dir, 'sa-signer.pub');
  await writeFile(privateKeyPath, privateKey, { mode: 0o600 });
  await writeFile(publicKeyPath, publicKey);
  return { privateKeyPath, publicKeyPath };
}
