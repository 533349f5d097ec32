/** Reading a watch stream: newline-delimited JSON events. */
import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors';
import { readBody } from './transport';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchOptions {
  resourceVersion: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  labelSelector?: string;
  fieldSelector?: string;
}

export async function watchStream(
  open: () => Promise<IncomingMessage>,
  what: string,
  onEvent: (type: WatchEventType, obj: any) => void,
  signal: AbortSignal,
  observe: (code: number | string) => void,
  toError: (code: number, text: string) => ApiError,
): Promise<void> {
  let res: IncomingMessage;
  try {
    res = await open();
  } catch (e) {
    if (signal.aborted) return;
    observe('<error>');
    throw Object.assign(new Error(`${what}: ${(e as Error).message}`), { code: (e as NodeJS.ErrnoException).code });
  }
  observe(res.statusCode ?? 0);
  if (res.statusCode !== 200) throw toError(res.statusCode ?? 0, await readBody(res));

  return new Promise<void>((resolve, reject) => {
    let buf = '';
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (err && !signal.aborted) reject(err);
      else resolve();
      if (err) res.destroy();
    };
    const onAbort = () => {
      res.destroy();
      finish();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const line = (l: string) => {
      if (!l.trim()) return;
      let ev: { type: WatchEventType; object: any };
      try {
        ev = JSON.parse(l);
      } catch {
        return finish(new Error(`${what}: malformed event: ${l.slice(0, 200)}`));
      }
      if (ev.type === 'ERROR') {
        const st = ev.object ?? {};
        return finish(new ApiError(st.code ?? 500, st.reason ?? 'Unknown', `watch ${what.replace(/^watch /, '')}: ${st.message ?? 'watch error'}`, st));
      }
      try {
        onEvent(ev.type, ev.object);
      } catch (e) {
        finish(e);
      }
    };
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while (!settled && (i = buf.indexOf('\n')) >= 0) {
        line(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    res.on('end', () => {
      if (buf) line(buf);
      finish();
    });
    res.on('error', (e) => finish(Object.assign(new Error(`${what}: ${e.message}`), { code: (e as NodeJS.ErrnoException).code })));
    res.on('close', () => finish(res.complete ? undefined : new Error(`${what}: stream closed before its end`)));
  });
}
