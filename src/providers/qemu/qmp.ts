/**
 * A minimal QMP client over a unix socket. Connections are short-lived (one
 * per provider operation): QEMU's QMP server takes one client at a time, and
 * holding none between calls is what makes a restarted provider work with
 * VMs it did not start.
 */
import { connect, type Socket } from 'node:net';

export class QmpError extends Error {
  override readonly name = 'QmpError';
  constructor(readonly errorClass: string, message: string, readonly command: string) {
    super(`${command}: ${errorClass}: ${message}`);
  }
}

export interface QmpEvent {
  readonly event: string;
  readonly data?: Record<string, unknown>;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; command: string };

export class QmpClient {
  readonly events: QmpEvent[] = [];
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private greeted?: (v: unknown) => void;
  private closedError?: Error;

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    const fail = (e: Error) => {
      this.closedError = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('QMP connection closed')));
  }

  /** Connects, reads the greeting and leaves capabilities negotiation mode. */
  static async connect(path: string, timeoutMs = 5_000): Promise<QmpClient> {
    const sock = connect(path);
    const client = new QmpClient(sock);
    const timer = setTimeout(() => sock.destroy(new Error(`QMP ${path}: no greeting after ${timeoutMs} ms`)), timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        client.greeted = () => resolve();
        sock.once('error', reject);
        sock.once('close', () => reject(client.closedError ?? new Error('QMP connection closed')));
      });
      await client.execute('qmp_capabilities');
      return client;
    } catch (e) {
      sock.destroy();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 30_000): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = String(this.nextId++);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`QMP ${command}: no answer after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        command,
        resolve: (v) => { clearTimeout(timer); resolve(v as T); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.sock.write(JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id }) + '\n');
    });
  }

  /** HMP passthrough; HMP reports failures as text, so any output is treated as an error by callers that expect none. */
  hmp(commandLine: string, timeoutMs?: number): Promise<string> {
    return this.execute<string>('human-monitor-command', { 'command-line': commandLine }, timeoutMs);
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: Record<string, any>;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (msg.QMP) {
      this.greeted?.(msg.QMP);
      return;
    }
    if (msg.event) {
      this.events.push({ event: msg.event, data: msg.data });
      return;
    }
    const p = this.pending.get(String(msg.id));
    if (!p) return;
    this.pending.delete(String(msg.id));
    if (msg.error) p.reject(new QmpError(msg.error.class ?? 'GenericError', msg.error.desc ?? 'unknown error', p.command));
    else p.resolve(msg.return);
  }
}

/** Runs `fn` with a fresh connection that is always closed afterwards. */
export async function withQmp<T>(path: string, fn: (q: QmpClient) => Promise<T>, timeoutMs?: number): Promise<T> {
  const q = await QmpClient.connect(path, timeoutMs);
  try {
    return await fn(q);
  } finally {
    q.close();
  }
}
