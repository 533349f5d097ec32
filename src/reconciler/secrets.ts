/**
 * Reading Secrets the reconciler needs (Provider credentials, TLS material,
 * cloud-init user data). Every value read is remembered by the
 * {@link SecretRedactor} so that no log line can carry it.
 */
import { CoreResources, type KubeClient } from './runtime';

/** Secret values seen so far; the logger replaces each occurrence. */
export class SecretRedactor {
  private readonly values = new Set<string>();

  remember(data: Readonly<Record<string, string>>): void {
    for (const v of Object.values(data)) {
      // Very short values (e.g. "1", "true") would redact half of every log line.
      if (v.length >= 4) this.values.add(v);
    }
  }

  /** For createLogger({ redact }). Longest first, so a value containing another is replaced whole. */
  secrets(): string[] {
    return [...this.values].sort((a, b) => b.length - a.length);
  }
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

  /** The decoded data of a Secret (stringData is merged by the API server). Throws {@link SecretNotFound}. */
  async read(namespace: string, name: string): Promise<{ data: Record<string, string>; resourceVersion: string }> {
    const secret = await this.client.get<{ data?: Record<string, string>; metadata?: { resourceVersion?: string } }>(CoreResources.secrets, namespace, name);
    if (!secret) throw new SecretNotFound(namespace, name);
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8');
    this.redactor.remember(data);
    return { data, resourceVersion: secret.metadata?.resourceVersion ?? '' };
  }

  /** The first of `keys` present in the Secret, or an error naming the Secret and the keys looked for. */
  async readFirstKey(namespace: string, name: string, keys: readonly string[]): Promise<string> {
    const { data } = await this.read(namespace, name);
    for (const k of keys) if (data[k] !== undefined) return data[k];
    throw new Error(`Secret "${namespace}/${name}" has none of the keys ${keys.map((k) => `"${k}"`).join(', ')}`);
  }
}
