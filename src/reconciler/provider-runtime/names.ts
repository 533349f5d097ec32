import { createHash } from 'node:crypto';

/** Field manager of the server-side applies of the provider runtime objects. */
export const PROVIDER_RUNTIME_FIELD_MANAGER = 'virtrigaud-provider-controller';

/** Prefix of the Deployment, Service and ServiceAccount of every Provider. */
export const RUNTIME_NAME_PREFIX = 'virtrigaud-provider';

/** Container name and the fixed paths and ports of the provider pod (§14.2 PR-5, §15.6). */
export const CONTAINER_NAME = 'provider';
export const DEFAULT_GRPC_PORT = 9443;
export const HEALTH_PORT = 8080;
export const CREDENTIALS_PATH = '/etc/virtrigaud/credentials';
export const TLS_PATH = '/etc/virtrigaud/tls';
export const LIBVIRT_RUNTIME_PATH = '/tmp/virtrigaud-libvirt';

/** Pod volume names. */
export const VOLUMES = {
  credentials: 'provider-credentials',
  tls: 'provider-tls',
  tmp: 'tmp',
  libvirt: 'libvirt-runtime',
} as const;

const MAX_NAME = 63;
/** A DNS-1035 label: what a Service name must be. */
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** A label value. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function hash8(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 8);
}

/**
 * `prefix-<8 hex of sha256(full)>`, at most 63 characters. The hash is of the
 * untouched input, so two inputs that share a long prefix (or differ only in
 * characters that had to be replaced) still get different results.
 */
function shortened(full: string, sanitize: (s: string) => string): string {
  const prefix = sanitize(full).slice(0, MAX_NAME - 9).replace(/[-_.]+$/, '');
  return prefix ? `${prefix}-${hash8(full)}` : hash8(full);
}

/** The upstream name, `virtrigaud-provider-<namespace>-<name>`, before any shortening. */
export function unshortenedRuntimeName(namespace: string, name: string): string {
  return `${RUNTIME_NAME_PREFIX}-${namespace}-${name}`;
}

/**
 * Name of the Deployment, Service and ServiceAccount of a Provider:
 * `virtrigaud-provider-<namespace>-<name>`.
 *
 * Upstream does no length check, so a combined name over 63 characters (or a
 * Provider name with dots, valid for the Provider but not for a Service) makes
 * Service creation fail and the Provider never runs. Instead such names are
 * shortened deterministically to `<first ≤54 characters, dots replaced>-<8 hex
 * of sha256(full name)>`. The same name is the Service name, hence the
 * endpoint host and the TLS ServerName stem, so everything that derives from
 * it (serviceName, endpoint, certificates) stays consistent.
 */
export function runtimeObjectName(namespace: string, name: string): string {
  const full = unshortenedRuntimeName(namespace, name);
  if (full.length <= MAX_NAME && DNS1035.test(full)) return full;
  return shortened(full, (s) => s.toLowerCase().replace(/[^-a-z0-9]/g, '-'));
}

/**
 * A value usable as a label value: the input when it is one (at most 63
 * characters), otherwise shortened as in {@link runtimeObjectName}. Provider
 * names may be up to 253 characters, too long for the instance label.
 */
export function labelValue(value: string): string {
  if (value.length <= MAX_NAME && LABEL_VALUE.test(value)) return value;
  return shortened(value, (s) => s.replace(/[^-A-Za-z0-9_.]/g, '-').replace(/^[-_.]+/, ''));
}

/** Labels selecting a Provider's pods (Deployment selector and Service selector). */
export function selectorLabels(providerName: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': RUNTIME_NAME_PREFIX,
    'app.kubernetes.io/instance': labelValue(providerName),
  };
}

/** Labels on the Deployment, its pods, the Service and the ServiceAccount (§2.6). */
export function runtimeLabels(providerName: string, providerType: string): Record<string, string> {
  return {
    ...selectorLabels(providerName),
    'app.kubernetes.io/component': 'provider',
    'app.kubernetes.io/managed-by': 'virtrigaud',
    'virtrigaud.io/provider-type': labelValue(providerType),
  };
}
