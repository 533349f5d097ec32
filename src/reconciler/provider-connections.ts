/**
 * Connections to providers, one per Provider object: an in-process driver
 * (annotation `virtrigaud.io/in-process` naming an instance of the
 * operator's configuration, src/reconciler/config) or a gRPC client of the
 * provider pod. Connections are cached; the
 * Provider controller refreshes them on every health check, which is when
 * rotated credentials or TLS material are picked up.
 */
import type { Provider as ProviderObject } from '../generated/provider';
import type { Provider } from '../providers/provider';
import type { HostPolicy } from '../providers/hostutil/policy';
import type { ProviderRegistry } from '../providers/registry';
import { requestedInstance, selectInstance } from './config/in-process';
import { DEFAULT_CONFIG, type InProcessInstance, type ReconcilerConfig } from './config/types';
import { rateLimited } from '../providers/rate-limit';
import { TokenBucket } from './runtime/ratelimit';
import { RemoteProvider, tlsFromSecret } from '../providers/remote';
import { runtimeEndpoint } from './provider-runtime/render';
import type { SecretReader } from './secrets';

interface Entry {
  readonly fingerprint: string;
  readonly secretVersions: string;
  readonly provider: Provider;
}

/** The Provider cannot be used yet or as written; `reason` is the condition reason its VMs show. */
export class ProviderUnavailable extends Error {
  constructor(message: string, readonly reason: string = 'ProviderNotReady') {
    super(message);
  }
}

export interface ProviderConnectionsOptions {
  /** Drivers by name. */
  readonly registry: ProviderRegistry;
  /** The operator's configuration: in-process instances and host limits. @default deny everything */
  readonly config?: ReconcilerConfig;
  /** The host policy handed to in-process drivers (built from `config.images` and `config.hooks`). */
  readonly hostPolicy?: HostPolicy;
  readonly secrets: SecretReader;
  /** `namespace/name` → `host:port`, dialled instead of `status.runtime.endpoint` (tests, port-forwards). */
  readonly addressOverrides?: ReadonlyMap<string, string>;
}

export function providerKey(p: ProviderObject): string {
  return `${p.metadata?.namespace}/${p.metadata?.name}`;
}

/** The in-process instance this Provider asks for (whether it gets it is the operator's configuration's to say). */
export const inProcessImplementation = requestedInstance;

/**
 * Secret references of a Provider name Secrets in its own namespace only:
 * a `namespace` pointing elsewhere would read another team's Secret with
 * the reconciler's rights.
 */
export function checkSecretRefs(p: ProviderObject): void {
  const ns = p.metadata?.namespace ?? '';
  const other = p.spec?.credentialSecretRef?.namespace;
  if (other && other !== ns) {
    throw new ProviderUnavailable(`spec.credentialSecretRef.namespace: Forbidden: a Provider reads Secrets from its own namespace (${ns}) only, not from ${other}`, 'SecretReferenceNotPermitted');
  }
}

export class ProviderConnections {
  private readonly entries = new Map<string, Entry>();
  private readonly building = new Map<string, Promise<Entry>>();

  constructor(private readonly opts: ProviderConnectionsOptions) {}

  /**
   * Throws {@link InProcessRefused} (or {@link ProviderUnavailable}) when the operator's configuration does not let
   * this Provider be served in process as written; returns the instance that serves it.
   */
  admitInProcess(p: ProviderObject): InProcessInstance {
    checkSecretRefs(p);
    return selectInstance(this.opts.config ?? DEFAULT_CONFIG, p);
  }

  /** The cached connection, built when missing or when the Provider changed. */
  async get(p: ProviderObject): Promise<Provider> {
    const key = providerKey(p);
    const entry = this.entries.get(key);
    if (entry && entry.fingerprint === fingerprint(p)) return entry.provider;
    return (await this.build(p)).provider;
  }

  /** Re-reads the Secrets; rebuilds the connection when they changed. Returns the current connection. */
  async refresh(p: ProviderObject): Promise<Provider> {
    const key = providerKey(p);
    const entry = this.entries.get(key);
    if (entry && entry.fingerprint === fingerprint(p) && entry.secretVersions === (await this.secretVersions(p))) return entry.provider;
    return (await this.build(p)).provider;
  }

  async drop(key: string): Promise<void> {
    const entry = this.entries.get(key);
    this.entries.delete(key);
    await entry?.provider.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((k) => this.drop(k)));
  }

  private build(p: ProviderObject): Promise<Entry> {
    const key = providerKey(p);
    const pending = this.building.get(key);
    if (pending) return pending;
    const job = this.connect(p)
      .then(async (entry) => {
        const old = this.entries.get(key);
        this.entries.set(key, entry);
        if (old && old.provider !== entry.provider) await old.provider.close().catch(() => undefined);
        return entry;
      })
      .finally(() => this.building.delete(key));
    this.building.set(key, job);
    return job;
  }

  private async secretVersions(p: ProviderObject): Promise<string> {
    const ns = p.metadata?.namespace ?? '';
    const versions = [];
    if (p.spec?.credentialSecretRef?.name) versions.push((await this.opts.secrets.read(ns, p.spec.credentialSecretRef.name, providerKey(p))).resourceVersion);
    const tls = p.spec?.runtime?.service?.tls;
    if (!inProcessImplementation(p) && tls?.enabled !== false && tls?.secretRef?.name) versions.push((await this.opts.secrets.read(ns, tls.secretRef.name, providerKey(p))).resourceVersion);
    return versions.join(',');
  }

  private async connect(p: ProviderObject): Promise<Entry> {
    const ns = p.metadata?.namespace ?? '';
    const name = p.metadata?.name ?? '';
    const spec = p.spec;
    if (!spec) throw new ProviderUnavailable(`Provider "${ns}/${name}" has no spec`);
    checkSecretRefs(p);
    let provider: Provider;
    if (inProcessImplementation(p)) {
      // Decided before any Secret is read: a refused Provider learns nothing.
      const instance = selectInstance(this.opts.config ?? DEFAULT_CONFIG, p);
      const credentials = spec.credentialSecretRef?.name ? (await this.opts.secrets.read(ns, spec.credentialSecretRef.name, providerKey(p))).data : {};
      provider = await this.opts.registry.build(instance.driver, {
        namespace: ns,
        name,
        type: spec.type,
        endpoint: spec.endpoint,
        credentials,
        defaults: { ...(spec.defaults ?? {}) } as Record<string, string>,
        insecureSkipVerify: spec.insecureSkipVerify ?? false,
        instance,
        hostPolicy: this.opts.hostPolicy,
      });
    } else {
      provider = await this.remote(p);
    }
    const limit = spec.rateLimit;
    const bucket = new TokenBucket(limit?.qps ?? 10, limit?.burst ?? 20);
    return { fingerprint: fingerprint(p), secretVersions: await this.secretVersions(p), provider: rateLimited(provider, bucket, `${ns}/${name}`) };
  }

  private async remote(p: ProviderObject): Promise<Provider> {
    const key = providerKey(p);
    const ns = p.metadata?.namespace ?? '';
    // The address is the Provider's own Service (or the operator's override), never what status says.
    const endpoint = runtimeEndpoint(p);
    const override = this.opts.addressOverrides?.get(key);
    if (!override && p.status?.runtime?.phase !== 'Running') {
      throw new ProviderUnavailable(`the runtime of Provider "${key}" is not Running yet (phase ${p.status?.runtime?.phase ?? 'unknown'})`);
    }
    const address = override ?? endpoint;
    const tls = p.spec?.runtime?.service?.tls;
    if (!tls) throw new ProviderUnavailable(`Provider "${key}" has no spec.runtime.service.tls: the connection security must be decided explicitly`);
    if (tls.enabled === false) return new RemoteProvider({ address, tls: { mode: 'plaintext' } });
    if (!tls.secretRef?.name) throw new ProviderUnavailable(`Provider "${key}" enables TLS but names no spec.runtime.service.tls.secretRef`);
    const serverName = endpoint.replace(/:\d+$/, '');
    const material = tlsFromSecret((await this.opts.secrets.read(ns, tls.secretRef.name, key)).data, { serverName, insecureSkipVerify: tls.insecureSkipVerify ?? false });
    return new RemoteProvider({ address, tls: material });
  }
}

/** What, when changed, requires a new connection (Secret contents are checked by refresh). */
function fingerprint(p: ProviderObject): string {
  const implementation = inProcessImplementation(p);
  // Only a remote connection depends on where and whether the runtime runs.
  const runtime = implementation ? [] : [p.status?.runtime?.phase];
  return JSON.stringify([p.metadata?.uid, p.metadata?.generation, implementation, ...runtime]);
}
