/**
 * List-then-watch cache of one resource type (client-go's reflector +
 * informer, simplified): handlers get add/update/delete, reads come from
 * memory.
 */
import type { KubeClient } from './client';
import { isForbidden, isGone } from './errors';
import { nopLogger, type Logger } from './logger';
import { Backoff, sleep } from './ratelimit';
import { objectKey, type ResourceType } from './resources';
import { Store } from './store';

export interface InformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  logger?: Logger;
  /** Re-deliver every cached object as an update this often. @default off */
  resyncMs?: number;
  /** Server-side watch timeout; a new watch follows. @default random 300..600 s */
  watchTimeoutSeconds?: number;
}

type Handler<T> = (obj: T, old?: T) => void;

const rvOf = (o: any): string => o?.metadata?.resourceVersion ?? '';

export class Informer<T = any> {
  readonly stats = { lists: 0, watches: 0, relists: 0, events: 0 };
  private readonly store = new Store<T>();
  private readonly handlers = { add: [] as Handler<T>[], update: [] as Handler<T>[], delete: [] as Handler<T>[] };
  private readonly log: Logger;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private lastRV = '';
  private started = false;
  /** Test hook: the next watch starts from this resourceVersion. */
  private forcedRV: string | undefined;
  private watchAbort: AbortController | undefined;

  constructor(
    private readonly client: KubeClient,
    readonly resource: ResourceType,
    private readonly opts: InformerOptions = {},
  ) {
    this.log = (opts.logger ?? nopLogger).child({ informer: resource.plural, ...(opts.namespace ? { namespace: opts.namespace } : {}) });
  }

  on(event: 'add' | 'update' | 'delete', fn: (obj: T, old?: T) => void): void {
    this.handlers[event].push(fn);
  }

  addIndex(name: string, fn: (obj: T) => string[]): void {
    this.store.addIndex(name, fn);
  }

  byIndex(name: string, value: string): T[] {
    return this.store.byIndex(name, value);
  }

  /** The cached object; shared with every reader, so copy before changing it. */
  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return this.store.list();
  }

  /** The last resourceVersion seen (list, event or bookmark); a re-watch starts there. */
  get resourceVersion(): string {
    return this.lastRV;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list is in the cache (or when the signal aborts). */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced || signal?.aborted) return Promise.resolve();
    return new Promise((res) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        res();
      };
      this.syncWaiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Starts listing and watching in the background until `signal` aborts. */
  start(signal: AbortSignal): void {
    if (this.started) throw new Error(`informer for ${this.resource.plural} already started`);
    this.started = true;
    void this.run(signal).catch((e) => this.log.error('informer stopped by an unexpected error', { error: e }));
    if (this.opts.resyncMs) void this.resyncLoop(this.opts.resyncMs, signal);
  }

  /**
   * Test hook: abort the current watch and start the next one from `rv`
   * (e.g. "1", which the server answers with 410 Gone).
   */
  _watchFrom(rv: string): void {
    this.forcedRV = rv;
    this.watchAbort?.abort();
  }

  private async run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(200, 30_000);
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
          backoff.reset();
        }
        const t0 = Date.now();
        const got = await this.watchOnce(signal);
        if (got) backoff.reset();
        // A watch the server keeps closing at once must not become a busy loop.
        else if (Date.now() - t0 < 1000) await sleep(backoff.next(), signal);
      } catch (e) {
        if (signal.aborted) break;
        if (isGone(e)) {
          this.log.info('watch resourceVersion expired; relisting', { resourceVersion: this.lastRV });
          needList = true;
          continue;
        }
        const ms = backoff.next();
        // Missing RBAC is a deployment bug, not a hiccup: say so loudly.
        (isForbidden(e) ? this.log.error : this.log.warn).call(this.log, 'list/watch failed; retrying', { error: e, retryInMs: ms });
        await sleep(ms, signal);
      }
    }
  }

  /** Lists everything and reconciles the cache with it, emitting the differences. */
  private async relist(): Promise<void> {
    if (this.stats.lists > 0) this.stats.relists++;
    this.stats.lists++;
    const { items, resourceVersion } = await this.client.list<T>(this.resource, this.opts.namespace, {
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
    });
    const seen = new Set<string>();
    for (const obj of items) {
      seen.add(objectKey(obj));
      this.upsert(obj);
    }
    for (const key of this.store.keys()) {
      if (!seen.has(key)) this.remove(this.store.get(key)!);
    }
    this.lastRV = resourceVersion;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  /** One watch request; resolves true when it delivered events, rejects on errors. */
  private async watchOnce(signal: AbortSignal): Promise<boolean> {
    const ctl = new AbortController();
    const onAbort = () => ctl.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    this.watchAbort = ctl;
    let got = false;
    const from = this.forcedRV ?? this.lastRV;
    this.forcedRV = undefined;
    this.stats.watches++;
    try {
      await this.client.watch(this.resource, this.opts.namespace, {
        resourceVersion: from,
        allowWatchBookmarks: true,
        timeoutSeconds: this.opts.watchTimeoutSeconds ?? Math.round(300 * (1 + Math.random())),
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
      }, (type, obj) => {
        got = true;
        this.stats.events++;
        if (rvOf(obj)) this.lastRV = rvOf(obj);
        if (type === 'ADDED' || type === 'MODIFIED') this.upsert(obj);
        else if (type === 'DELETED') this.remove(obj);
      }, ctl.signal);
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.watchAbort = undefined;
    }
    return got;
  }

  private upsert(obj: T): void {
    const old = this.store.get(objectKey(obj));
    if (old && rvOf(old) === rvOf(obj)) return;
    this.store.set(obj);
    if (old) this.emit('update', obj, old);
    else this.emit('add', obj);
  }

  private remove(obj: T): void {
    const old = this.store.delete(objectKey(obj));
    if (old !== undefined) this.emit('delete', obj);
  }

  private emit(event: 'add' | 'update' | 'delete', obj: T, old?: T): void {
    for (const fn of this.handlers[event]) {
      try {
        fn(obj, old);
      } catch (e) {
        this.log.error('event handler failed', { event, key: objectKey(obj), error: e });
      }
    }
  }

  private async resyncLoop(ms: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(ms, signal);
      if (signal.aborted || !this.synced) continue;
      for (const obj of this.store.list()) this.emit('update', obj, obj);
    }
  }
}
