/**
 * Transport security of the remote provider client (§15.6): plaintext, or
 * mutual TLS with a client certificate, trust limited to the Secret's CA,
 * TLS 1.3 minimum and verification of the provider Service's DNS name.
 */
import * as grpc from '@grpc/grpc-js';
import { createSecureContext } from 'node:tls';

export interface PlaintextTls {
  readonly mode: 'plaintext';
}

export interface MtlsClientTls {
  readonly mode: 'mtls';
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** Name the server certificate must carry (also sent as SNI), whatever address is dialled. */
  readonly serverName: string;
  /**
   * Like Go's InsecureSkipVerify: the server certificate is neither checked
   * against the CA nor against serverName (the server must still present
   * one, and our client certificate is still sent). For test set-ups only.
   */
  readonly insecureSkipVerify?: boolean;
}

export type ClientTls = PlaintextTls | MtlsClientTls;

/** The DNS name the manager verifies for a Provider's pod (§15.6). */
export function providerServiceName(namespace: string, name: string): string {
  return `virtrigaud-provider-${namespace}-${name}.${namespace}.svc.cluster.local`;
}

/** Channel credentials and the channel options that go with them. */
export function clientCredentials(tls: ClientTls): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  if (tls.mode === 'plaintext') return { credentials: grpc.credentials.createInsecure(), options: {} };
  // A SecureContext (rather than createSsl) is what lets us require TLS 1.3.
  const context = createSecureContext({ ca: tls.caPem, cert: tls.certPem, key: tls.keyPem, minVersion: 'TLSv1.3' });
  const verify: grpc.VerifyOptions = tls.insecureSkipVerify
    ? { rejectUnauthorized: false, checkServerIdentity: () => undefined }
    : {};
  return {
    credentials: grpc.credentials.createFromSecureContext(context, verify),
    // grpc-js verifies the certificate against this name instead of the dialled host.
    options: tls.serverName ? { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName } : {},
  };
}

/** The PEM blocks of a kubernetes.io/tls-style Secret with a CA. */
export interface TlsSecretPems {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

const SECRET_KEYS = { 'ca.crt': 'caPem', 'tls.crt': 'certPem', 'tls.key': 'keyPem' } as const;

/**
 * Reads `tls.crt`, `tls.key` and `ca.crt` from Secret data, each either
 * base64 (as in `.data`) or already decoded PEM, and throws naming the
 * first key that is missing, empty or not PEM.
 */
export function pemsFromSecret(data: Readonly<Record<string, string | undefined>>): TlsSecretPems {
  const out: Record<string, string> = {};
  for (const [key, field] of Object.entries(SECRET_KEYS)) {
    const raw = data[key];
    if (raw === undefined) throw new Error(`TLS Secret lacks key "${key}" (needs tls.crt, tls.key and ca.crt)`);
    const pem = raw.includes('-----BEGIN') ? raw : Buffer.from(raw.trim(), 'base64').toString('utf8');
    if (!pem.trim()) throw new Error(`TLS Secret key "${key}" is empty`);
    if (!pem.includes('-----BEGIN')) throw new Error(`TLS Secret key "${key}" is neither PEM nor base64 of PEM`);
    out[field] = pem;
  }
  return out as unknown as TlsSecretPems;
}

/** mTLS client settings from Secret data (see {@link pemsFromSecret}). */
export function tlsFromSecret(
  data: Readonly<Record<string, string | undefined>>,
  opts: { serverName?: string; insecureSkipVerify?: boolean } = {},
): MtlsClientTls {
  return { mode: 'mtls', ...pemsFromSecret(data), serverName: opts.serverName ?? '', insecureSkipVerify: opts.insecureSkipVerify ?? false };
}
