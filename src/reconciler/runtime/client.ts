/**
 * Raw-JSON Kubernetes client. Objects go over the wire untouched (client-node's
 * typed API clients drop fields they do not know, which breaks CRDs).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiError, apiErrorFrom } from './errors';
import type { Metrics } from './metrics';
import { TokenBucket } from './ratelimit';
import { resourcePath, type ResourceType } from './resources';
import { readBody, Transport } from './transport';
import { watchStream, type WatchEventType, type WatchOptions } from './watch';

export type { WatchEventType, WatchOptions } from './watch';

export interface KubeClientOptions {
  /** @default 50 */
  qps?: number;
  /** @default 100 */
  burst?: number;
  userAgent?: string;
  metrics?: Metrics;
  /** Per-request timeout (not for watches). @default 30000 */
  timeoutMs?: number;
  /**
   * Write fence: asked right before each create, update, patch or delete is
   * sent; a returned reason refuses the request with a {@link WriteRefusedError}
   * (e.g. a leader whose lease may have passed to another replica). Reads pass.
   */
  writeGuard?: () => string | undefined;
}

/** Per-request options. */
export interface RequestOptions {
  /** Aborts the request, including its wait for a rate-limit token. */
  signal?: AbortSignal;
}

/** A mutating request that the client's write guard refused; it was never sent. */
export class WriteRefusedError extends Error {
  override readonly name = 'WriteRefusedError';
  constructor(
    readonly verb: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`refusing to ${verb} ${path}: ${reason}`);
  }
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  /** Page size; `continue` pages are followed. */
  limit?: number;
}

export interface PatchOptions {
  type: 'merge' | 'json' | 'strategic' | 'apply';
  fieldManager?: string;
  force?: boolean;
  subresource?: 'status';
}

export interface DeleteOptions {
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
}

const PATCH_TYPES: Record<PatchOptions['type'], string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete']);

interface Req {
  verb: string; // Kubernetes verb, for stats and messages
  method: string;
  rt: ResourceType;
  namespace?: string;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

function withQuery(path: string, query?: Req['query']): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export class KubeClient {
  readonly stats = { requests: 0, byVerb: {} as Record<string, number>, writes: 0 };
  /** Writes refused by the write guard (not counted in `stats`: they were never sent). */
  refusedWrites = 0;
  /** See {@link KubeClientOptions.writeGuard}; settable so that whoever owns the lease can fence a client it was given. */
  writeGuard: (() => string | undefined) | undefined;
  private readonly transport: Transport;
  private readonly bucket: TokenBucket;
  readonly userAgent: string;
  private readonly timeoutMs: number;

  constructor(
    readonly kubeConfig: KubeConfig,
    private readonly opts: KubeClientOptions = {},
  ) {
    this.transport = new Transport(kubeConfig);
    this.bucket = new TokenBucket(opts.qps ?? 50, opts.burst ?? 100);
    this.userAgent = opts.userAgent ?? 'virtrigaud-controller';
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.writeGuard = opts.writeGuard;
  }

  async get<T = any>(rt: ResourceType, namespace: string | undefined, name: string, opts: RequestOptions = {}): Promise<T | undefined> {
    try {
      return await this.call<T>({ verb: 'get', method: 'GET', rt, namespace, path: resourcePath(rt, namespace, name), signal: opts.signal });
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return undefined;
      throw e;
    }
  }

  async list<T = any>(rt: ResourceType, namespace?: string, opts: ListOptions = {}): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      const page: any = await this.call({
        verb: 'list', method: 'GET', rt, namespace, path: resourcePath(rt, namespace),
        query: {
          labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: opts.limit, continue: cont,
          // resourceVersion only on the first page; continue tokens carry it.
          resourceVersion: cont ? undefined : opts.resourceVersion,
        },
      });
      for (const it of page.items ?? []) {
        // Items of a list carry no kind/apiVersion; fill them so objects look alike everywhere.
        it.apiVersion ??= rt.group ? `${rt.group}/${rt.version}` : rt.version;
        it.kind ??= rt.kind;
        items.push(it);
      }
      rv = page.metadata?.resourceVersion ?? rv;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { items, resourceVersion: rv };
  }

  /**
   * Streams watch events until the server ends the stream (resolves), the
   * signal aborts (resolves) or an error occurs (rejects). ERROR events reject
   * with an ApiError of the Status code; 410 means the resourceVersion is gone.
   */
  async watch(
    rt: ResourceType, namespace: string | undefined, opts: WatchOptions,
    onEvent: (type: WatchEventType, obj: any) => void, signal: AbortSignal,
  ): Promise<void> {
    const path = withQuery(resourcePath(rt, namespace), {
      watch: 1, resourceVersion: opts.resourceVersion, allowWatchBookmarks: opts.allowWatchBookmarks || undefined,
      timeoutSeconds: opts.timeoutSeconds, labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector,
    });
    await this.bucket.take(signal);
    if (signal.aborted) return;
    this.count('watch');
    // The server closes the stream after timeoutSeconds; the idle guard only catches a dead peer.
    const idleMs = ((opts.timeoutSeconds ?? 1800) + 60) * 1000;
    return watchStream(() => this.transport.send({ method: 'GET', path, userAgent: this.userAgent, timeoutMs: idleMs, signal }),
      `watch ${path}`, onEvent, signal, (code) => this.observe('GET', code),
      (code, text) => this.errorFor({ verb: 'watch', method: 'GET', rt, namespace, path }, path, code, text));
  }

  create<T = any>(rt: ResourceType, obj: T, opts: { fieldManager?: string } & RequestOptions = {}): Promise<T> {
    const ns = (obj as any)?.metadata?.namespace;
    return this.call<T>({ verb: 'create', method: 'POST', rt, namespace: ns, path: resourcePath(rt, ns), query: { fieldManager: opts.fieldManager }, body: obj, signal: opts.signal });
  }

  update<T = any>(rt: ResourceType, obj: T, opts: RequestOptions = {}): Promise<T> {
    const md = (obj as any)?.metadata ?? {};
    return this.call<T>({ verb: 'update', method: 'PUT', rt, namespace: md.namespace, path: resourcePath(rt, md.namespace, md.name), body: obj, signal: opts.signal });
  }

  updateStatus<T = any>(rt: ResourceType, obj: T): Promise<T> {
    const md = (obj as any)?.metadata ?? {};
    return this.call<T>({ verb: 'update', method: 'PUT', rt, namespace: md.namespace, path: resourcePath(rt, md.namespace, md.name, 'status'), body: obj });
  }

  patch<T = any>(rt: ResourceType, namespace: string | undefined, name: string, body: unknown, opts: PatchOptions): Promise<T> {
    if (opts.type === 'apply' && !opts.fieldManager) throw new Error('server-side apply needs a fieldManager');
    return this.call<T>({
      verb: 'patch', method: 'PATCH', rt, namespace, path: resourcePath(rt, namespace, name, opts.subresource),
      query: { fieldManager: opts.fieldManager, force: opts.type === 'apply' && opts.force ? true : undefined },
      body, contentType: PATCH_TYPES[opts.type],
    });
  }

  async delete(rt: ResourceType, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<boolean> {
    const body = opts.propagationPolicy || opts.preconditions
      ? { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: opts.propagationPolicy, preconditions: opts.preconditions }
      : undefined;
    try {
      await this.call({ verb: 'delete', method: 'DELETE', rt, namespace, path: resourcePath(rt, namespace, name), body });
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return false;
      throw e;
    }
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.transport.close();
  }

  private count(verb: string): void {
    this.stats.requests++;
    this.stats.byVerb[verb] = (this.stats.byVerb[verb] ?? 0) + 1;
    if (WRITE_VERBS.has(verb)) this.stats.writes++;
  }

  private uncount(verb: string): void {
    this.stats.requests--;
    this.stats.byVerb[verb]!--;
    if (WRITE_VERBS.has(verb)) this.stats.writes--;
  }

  /** Throws a WriteRefusedError when the write guard gives a reason. */
  private checkWrite(verb: string, path: string): void {
    const reason = this.writeGuard?.();
    if (!reason) return;
    this.refusedWrites++;
    throw new WriteRefusedError(verb, path, reason);
  }

  private observe(method: string, code: number | string, seconds?: number): void {
    const m = this.opts.metrics;
    if (!m) return;
    m.counter('rest_client_requests_total', 'Number of HTTP requests, partitioned by status code and method.', ['code', 'verb'])
      .inc({ code: String(code), verb: method });
    if (seconds !== undefined) {
      m.histogram('rest_client_request_duration_seconds', 'Request latency in seconds.').observe(seconds, { verb: method });
    }
  }

  private async call<T>(r: Req): Promise<T> {
    const path = withQuery(r.path, r.query);
    const body = r.body === undefined ? undefined : JSON.stringify(r.body);
    for (let attempt = 0; ; attempt++) {
      await this.bucket.take(r.signal);
      r.signal?.throwIfAborted();
      // Checked after the wait for a token, and again when the connection is up and nothing is written yet
      // (connecting takes event-loop turns, and the process may be paused in between).
      const guard = WRITE_VERBS.has(r.verb) && this.writeGuard ? () => this.checkWrite(r.verb, path) : undefined;
      guard?.();
      this.count(r.verb);
      const started = process.hrtime.bigint();
      let status: number;
      let text: string;
      try {
        const res = await this.transport.send({ method: r.method, path, body, contentType: r.contentType ?? (body ? 'application/json' : undefined), userAgent: this.userAgent, timeoutMs: this.timeoutMs, signal: r.signal, beforeSend: guard });
        status = res.statusCode ?? 0;
        text = await readBody(res);
      } catch (e) {
        if (e instanceof WriteRefusedError) {
          this.uncount(r.verb); // never sent
          throw e;
        }
        this.observe(r.method, '<error>');
        const code = (e as NodeJS.ErrnoException).code;
        // Reads are idempotent: one retry when a reused keep-alive connection was reset.
        if (r.method === 'GET' && attempt === 0 && (code === 'ECONNRESET' || code === 'EPIPE')) continue;
        throw Object.assign(new Error(`${r.verb} ${path}: ${(e as Error).message}`), { code, cause: e });
      }
      this.observe(r.method, status, Number(process.hrtime.bigint() - started) / 1e9);
      if (status >= 200 && status < 300) return (text ? JSON.parse(text) : undefined) as T;
      throw this.errorFor(r, path, status, text);
    }
  }

  private errorFor(r: Req, path: string, status: number, text: string): ApiError {
    const err = apiErrorFrom(status, text, r.verb, path);
    if (status !== 403) return err;
    // Missing RBAC must be loud and obvious: say what was not allowed.
    const resource = r.rt.group ? `${r.rt.plural}.${r.rt.group}` : r.rt.plural;
    const where = r.rt.namespaced ? (r.namespace ? ` in namespace "${r.namespace}"` : ' in all namespaces') : ' (cluster-scoped)';
    const msg = `forbidden: cannot ${r.verb} ${resource}${where} (${r.method} ${path}): ${err.status?.message ?? err.message}`;
    return new ApiError(403, err.reason, msg, err.status);
  }
}
