import type { Provider } from '../../generated/provider';

/** A core/v1 EnvVar as the Provider spec carries it. */
export type EnvVar = NonNullable<NonNullable<Provider['spec']>['runtime']['env']>[number];

/**
 * Every variable the reconciler itself may set, whether or not it sets it for
 * a given Provider: `spec.runtime.env` may not define any of them (a Provider
 * with mTLS could otherwise switch its own runtime to plaintext with
 * `VIRTRIGAUD_PROVIDER_INSECURE`, or lie about its name and namespace).
 */
export const RESERVED_ENV_NAMES: readonly string[] = [
  'PROVIDER_TYPE',
  'PROVIDER_ENDPOINT',
  'PROVIDER_NAMESPACE',
  'PROVIDER_NAME',
  'TLS_ENABLED',
  'TLS_INSECURE_SKIP_VERIFY',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'PROVIDER_DEFAULT_DATASTORE',
  'PROVIDER_DEFAULT_STORAGE_POD',
  'PROVIDER_DEFAULT_CLUSTER',
  'PROVIDER_DEFAULT_FOLDER',
  'VIRTRIGAUD_PROVIDER_INSECURE',
];

/**
 * The container's environment, in the order of §14.2 PR-5: the built-in
 * variables, the optional ones that are set, `VIRTRIGAUD_PROVIDER_INSECURE`
 * on the plaintext path (PR-2), then `spec.runtime.env`.
 *
 * A name defined twice keeps only its last definition, at the later position.
 * Kubernetes lets the last one win anyway, but a server-side apply with
 * duplicate keys in `env` (a map keyed by name) is rejected outright. (A
 * Provider redefining a built-in name is refused before rendering, see
 * {@link RESERVED_ENV_NAMES}; duplicates within `spec.runtime.env` remain.)
 */
export function providerEnv(provider: Provider, namespace: string, name: string, plaintext: boolean): EnvVar[] {
  const spec = provider.spec!;
  const runtime = spec.runtime;
  const d = spec.defaults ?? {};
  const pairs: [string, string | undefined][] = [
    ['PROVIDER_TYPE', spec.type],
    ['PROVIDER_ENDPOINT', spec.endpoint],
    ['PROVIDER_NAMESPACE', namespace],
    ['PROVIDER_NAME', name],
    ['TLS_ENABLED', String(!plaintext)],
    ['TLS_INSECURE_SKIP_VERIFY', String(spec.insecureSkipVerify ?? false)],
    ['LOG_LEVEL', runtime.logLevel || undefined],
    ['LOG_FORMAT', runtime.logFormat || undefined],
    ['PROVIDER_DEFAULT_DATASTORE', d.datastore || undefined],
    ['PROVIDER_DEFAULT_STORAGE_POD', d.storagePod || undefined],
    ['PROVIDER_DEFAULT_CLUSTER', d.cluster || undefined],
    ['PROVIDER_DEFAULT_FOLDER', d.folder || undefined],
    // Without TLS material the provider refuses to start unless told that plaintext is intended.
    ['VIRTRIGAUD_PROVIDER_INSECURE', plaintext ? 'true' : undefined],
  ];
  const all: EnvVar[] = [
    ...pairs.filter((p): p is [string, string] => p[1] !== undefined).map(([n, value]) => ({ name: n, value })),
    ...(runtime.env ?? []).map((e) => structuredClone(e)),
  ];
  const last = new Map(all.map((e, i) => [e.name, i]));
  return all.filter((e, i) => last.get(e.name) === i);
}
