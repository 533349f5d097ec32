/**
 * core/v1 Event recorder. Fire-and-forget: events go through an internal
 * queue and failures are only logged. Like client-go's correlator, an event
 * repeated within 10 minutes bumps count/lastTimestamp of the existing
 * Event instead of creating another. Every message passes through the
 * recorder's redaction first (keyed by the involved object), so a message
 * quoting a secret is neither sent nor queued.
 */
import { hostname } from 'node:os';
import type { KubeClient } from './client';
import { rfc3339 } from './conditions';
import { isNotFound } from './errors';
import { nopLogger, type Logger } from './logger';
import { CoreResources } from './resources';

const DEDUPE_WINDOW_MS = 10 * 60_000;
// Events share the client's rate limit with reconciles, so a burst (1,000 VMs created at once: two
// events each) queues up; past this many the oldest intent wins and newer events are dropped, logged.
const MAX_PENDING = 10_000;
const MAX_REMEMBERED = 4096;

interface Pending {
  obj: any;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  at: Date;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  lastSeen: number;
}

/** Redacts a message of an object (an Event's involved object, a condition's owner). */
export type MessageRedaction = (obj: any, message: string) => string;

export interface EventRecorderOptions {
  readonly logger?: Logger;
  readonly host?: string;
  /** Applied to every message before it is queued. @default no redaction */
  readonly redact?: MessageRedaction;
}

export class EventRecorder {
  private readonly log: Logger;
  private readonly host: string;
  private readonly redactor: MessageRedaction;
  private readonly pending: Pending[] = [];
  private readonly seen = new Map<string, Seen>();
  private draining: Promise<void> | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    opts: EventRecorderOptions = {},
  ) {
    this.log = (opts.logger ?? nopLogger).child({ component: 'events' });
    this.host = opts.host ?? hostname();
    this.redactor = opts.redact ?? ((_obj, message) => message);
  }

  /**
   * `message` as an Event of `obj` would carry it. Controllers pass their
   * condition messages of `obj` through it too: same object, same redaction.
   */
  redact(obj: any, message: string): string {
    return this.redactor(obj, message);
  }

  event(obj: any, type: 'Normal' | 'Warning', reason: string, raw: string): void {
    try {
      if (!obj?.metadata?.name) throw new Error('object has no metadata.name');
      const message = this.redactor(obj, raw);
      if (this.pending.length >= MAX_PENDING) {
        this.log.warn('event queue full; dropping event', { reason, object: obj.metadata.name });
        return;
      }
      this.pending.push({ obj, type, reason, message, at: new Date() });
      this.draining ??= this.drain().finally(() => (this.draining = undefined));
    } catch (e) {
      this.log.error('cannot record event', { reason, error: e });
    }
  }

  /** Resolves once every event recorded so far has been sent (or failed). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    for (let p = this.pending.shift(); p; p = this.pending.shift()) {
      try {
        await this.send(p);
      } catch (e) {
        this.log.error('cannot write event', { reason: p.reason, object: p.obj?.metadata?.name, error: e });
      }
    }
  }

  private async send(p: Pending): Promise<void> {
    const md = p.obj.metadata;
    // Events of cluster-scoped objects go to "default", as with client-go.
    const namespace = md.namespace || 'default';
    const involved = {
      apiVersion: p.obj.apiVersion,
      kind: p.obj.kind,
      name: md.name,
      namespace: md.namespace,
      uid: md.uid,
      resourceVersion: md.resourceVersion,
    };
    const key = JSON.stringify([involved.apiVersion, involved.kind, namespace, md.name, md.uid, p.type, p.reason, p.message]);
    const now = rfc3339(p.at);
    const prev = this.seen.get(key);
    if (prev && p.at.getTime() - prev.lastSeen < DEDUPE_WINDOW_MS) {
      try {
        await this.client.patch(CoreResources.events, prev.namespace, prev.name, { count: prev.count + 1, lastTimestamp: now }, { type: 'merge' });
        prev.count++;
        prev.lastSeen = p.at.getTime();
        return;
      } catch (e) {
        if (!isNotFound(e)) throw e;
        this.seen.delete(key); // expired or deleted: create a fresh one
      }
    }
    const name = `${md.name}.${(BigInt(p.at.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString(16)}`;
    await this.client.create(CoreResources.events, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: involved,
      reason: p.reason,
      message: p.message,
      type: p.type,
      source: { component: this.component, host: this.host },
      reportingComponent: this.component,
      reportingInstance: this.host,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
    if (this.seen.size >= MAX_REMEMBERED) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(key, { name, namespace, count: 1, firstTimestamp: now, lastSeen: p.at.getTime() });
  }
}
