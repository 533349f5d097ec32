/**
 * Reading Secrets the reconciler needs (Provider credentials, TLS material,
 * cloud-init user data), and the {@link SecretRedactor} that remembers every
 * value read so that no log line, condition or Event message carries it.
 *
 * Values are remembered per scope: the key (`namespace/name`) of the
 * Provider the Secret was read for. A Provider's credentials and TLS
 * material, and the user-data Secrets of the VMs on it, share that
 * Provider's scope. Conditions and Events of an object are redacted with the
 * scope of the Provider the object uses, never with another tenant's: one
 * tenant must not learn another's secret by watching which of its own
 * strings come back as [REDACTED]. Logs, which only the reconciler's
 * operators read, are redacted with every scope.
 */
import type { OperatorInformers } from './informers';
import { Kinds, refKey } from './kinds';
import { CoreResources, type KubeClient } from './runtime';
import { SecretMatcher } from './runtime/redact';

export interface RedactorLimits {
  /** Scopes (Providers) remembered at most; the least recently used one is dropped beyond. @default 1024 */
  readonly maxScopes?: number;
  /** Values remembered per scope at most; the least recently read one is dropped beyond. @default 256 */
  readonly maxValuesPerScope?: number;
  /** Shorter values are not remembered: "1" or "true" would hide half of every message. @default 4 */
  readonly minLength?: number;
}

export const DEFAULT_REDACTOR_LIMITS: Required<RedactorLimits> = { maxScopes: 1024, maxValuesPerScope: 256, minLength: 4 };

interface Scope {
  /** The values, least recently read first. */
  readonly values: Map<string, true>;
  matcher?: SecretMatcher;
}

const NOTHING = new SecretMatcher([]);

/** Secret values seen so far, per Provider scope, bounded (see the module comment). */
export class SecretRedactor {
  readonly limits: Required<RedactorLimits>;
  /** Least recently used first. */
  private readonly scopes = new Map<string, Scope>();
  private everyValue: readonly string[] | undefined;
  private everyMatcher: SecretMatcher | undefined;

  constructor(limits: RedactorLimits = {}) {
    this.limits = { ...DEFAULT_REDACTOR_LIMITS, ...limits };
    for (const [k, v] of Object.entries(this.limits)) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${k} must be a positive integer, not ${v}`);
    }
  }

  /** Remembers the values of a Secret read for the Provider `scope` (`namespace/name`). */
  remember(scope: string, data: Readonly<Record<string, string>>): void {
    let s = this.scopes.get(scope);
    if (s) {
      this.scopes.delete(scope);
    } else {
      s = { values: new Map() };
      while (this.scopes.size >= this.limits.maxScopes) this.drop(this.scopes.keys().next().value!);
    }
    this.scopes.set(scope, s);
    for (const v of Object.values(data)) {
      if (typeof v !== 'string' || v.length < this.limits.minLength) continue;
      if (s.values.delete(v)) {
        s.values.set(v, true); // read again: most recent now; the set is unchanged
        continue;
      }
      while (s.values.size >= this.limits.maxValuesPerScope) s.values.delete(s.values.keys().next().value!);
      s.values.set(v, true);
      this.changed(s);
    }
  }

  /** Drops a scope (its Provider was deleted). */
  forget(scope: string): void {
    if (this.scopes.has(scope)) this.drop(scope);
  }

  /** `text` with the values of `scope` replaced; unchanged without a scope. */
  redact(scope: string | undefined, text: string): string {
    if (scope === undefined) return text;
    const s = this.scopes.get(scope);
    if (!s) return text;
    s.matcher ??= new SecretMatcher(s.values.keys(), this.limits.minLength);
    return s.matcher.redact(text);
  }

  /** `text` with the values of every scope replaced (log lines). */
  redactAll(text: string): string {
    this.everyMatcher ??= this.scopes.size ? new SecretMatcher(this.secrets(), this.limits.minLength) : NOTHING;
    return this.everyMatcher.redact(text);
  }

  /**
   * The values of every scope, longest first, for createLogger({ redact }).
   * The same frozen array until a value is learnt or dropped.
   */
  secrets(): readonly string[] {
    if (!this.everyValue) {
      const all = new Set<string>();
      for (const s of this.scopes.values()) for (const v of s.values.keys()) all.add(v);
      this.everyValue = Object.freeze([...all].sort((a, b) => b.length - a.length));
    }
    return this.everyValue;
  }

  /** The scopes remembered, least recently used first. */
  scopeKeys(): string[] {
    return [...this.scopes.keys()];
  }

  /** The values of one scope, least recently read first. */
  valuesOf(scope: string): string[] {
    return [...(this.scopes.get(scope)?.values.keys() ?? [])];
  }

  private drop(scope: string): void {
    this.scopes.delete(scope);
    this.everyValue = undefined;
    this.everyMatcher = undefined;
  }

  private changed(s: Scope): void {
    s.matcher = undefined;
    this.everyValue = undefined;
    this.everyMatcher = undefined;
  }
}

/**
 * The Provider scope whose values redact the messages of `obj`: a Provider
 * its own, a VirtualMachine its providerRef's, a VMSnapshot its VM's, a
 * VMClone its source VM's (or its target's).
 * `null`: the object uses no Provider we know of (nothing to redact);
 * `undefined`: not one of those kinds (redact with every scope).
 */
export function redactionScope(obj: any, vms: { get(key: string): { spec?: { providerRef?: { name: string; namespace?: string } }; metadata?: { namespace?: string } } | undefined }): string | null | undefined {
  if (typeof obj?.apiVersion !== 'string' || !obj.apiVersion.startsWith(`${Kinds.Provider.group}/`)) return undefined;
  const ns: string = obj.metadata?.namespace ?? '';
  switch (obj.kind) {
    case 'Provider':
      return `${ns}/${obj.metadata?.name}`;
    case 'VirtualMachine':
      return obj.spec?.providerRef?.name ? refKey(obj.spec.providerRef, ns) : null;
    case 'VMSnapshot': {
      const vm = obj.spec?.vmRef?.name ? vms.get(`${ns}/${obj.spec.vmRef.name}`) : undefined;
      return vm?.spec?.providerRef?.name ? refKey(vm.spec.providerRef, vm.metadata?.namespace ?? ns) : null;
    }
    case 'VMClone': {
      // The source VM's Provider (a clone stays on it), else the Provider a VM made from an image goes to.
      const vm = obj.spec?.source?.vmRef?.name ? vms.get(`${ns}/${obj.spec.source.vmRef.name}`) : undefined;
      const ref = vm?.spec?.providerRef ?? obj.spec?.target?.providerRef;
      return ref?.name ? refKey(ref, vm?.metadata?.namespace ?? ns) : null;
    }
    default:
      return undefined;
  }
}

/** Redacts a message of an object (a condition, an Event); see {@link redactionScope}. */
export type ObjectRedaction = (obj: any, text: string) => string;

/**
 * The redaction of the operator's conditions and Events: each object's
 * messages with its Provider's scope. Also drops a Provider's scope when the
 * Provider is deleted (the informer's delete event).
 */
export function scopedRedaction(redactor: SecretRedactor, informers: Pick<OperatorInformers, 'vms' | 'providers'>): ObjectRedaction {
  informers.providers.on('delete', (p) => redactor.forget(`${p.metadata?.namespace}/${p.metadata?.name}`));
  return (obj, text) => {
    const scope = redactionScope(obj, informers.vms);
    if (scope === null) return text;
    return scope === undefined ? redactor.redactAll(text) : redactor.redact(scope, text);
  };
}

export class SecretNotFound extends Error {
  constructor(readonly namespace: string, readonly secretName: string) {
    super(`Secret "${namespace}/${secretName}" not found`);
  }
}

export class SecretReader {
  constructor(
    private readonly client: KubeClient,
    readonly redactor: SecretRedactor,
  ) {}

  /**
   * The decoded data of a Secret (stringData is merged by the API server),
   * remembered for redaction under the Provider `scope` (`namespace/name`) it
   * was read for. Throws {@link SecretNotFound}.
   */
  async read(namespace: string, name: string, scope: string): Promise<{ data: Record<string, string>; resourceVersion: string }> {
    const secret = await this.client.get<{ data?: Record<string, string>; metadata?: { resourceVersion?: string } }>(CoreResources.secrets, namespace, name);
    if (!secret) throw new SecretNotFound(namespace, name);
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8');
    this.redactor.remember(scope, data);
    return { data, resourceVersion: secret.metadata?.resourceVersion ?? '' };
  }

  /** The first of `keys` present in the Secret, or an error naming the Secret and the keys looked for. */
  async readFirstKey(namespace: string, name: string, keys: readonly string[], scope: string): Promise<string> {
    const { data } = await this.read(namespace, name, scope);
    for (const k of keys) if (data[k] !== undefined) return data[k];
    throw new Error(`Secret "${namespace}/${name}" has none of the keys ${keys.map((k) => `"${k}"`).join(', ')}`);
  }
}
