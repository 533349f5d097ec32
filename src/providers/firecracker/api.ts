/**
 * Firecracker's REST API on its unix socket (`--api-sock`), over Node's
 * http client. Firecracker answers errors as `{"fault_message": "..."}`;
 * {@link FirecrackerApiError} keeps that text, and {@link toProviderError}
 * maps it to a protocol error kind without losing it.
 */
import { request } from 'node:http';
import { ProviderError, type ProviderErrorCategory } from '../provider';

export class FirecrackerApiError extends Error {
  override readonly name = 'FirecrackerApiError';
  constructor(readonly method: string, readonly path: string, readonly status: number, readonly fault: string) {
    super(`${method} ${path}: ${status} ${fault}`);
  }
}

export interface ApiCall {
  readonly method: 'GET' | 'PUT' | 'PATCH';
  readonly path: string;
  readonly body?: unknown;
  readonly timeoutMs?: number;
}

/** One request; resolves with the parsed JSON body (undefined for 204), rejects with FirecrackerApiError on 4xx/5xx. */
export function fcApi<T = unknown>(socketPath: string, call: ApiCall): Promise<T> {
  const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
  return new Promise<T>((resolve, reject) => {
    const req = request({
      socketPath, method: call.method, path: call.path,
      headers: { Accept: 'application/json', ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}) },
      timeout: call.timeoutMs ?? 30_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          parsed = text;
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(parsed as T);
        const fault = typeof parsed === 'object' && parsed && 'fault_message' in parsed ? String((parsed as { fault_message: unknown }).fault_message) : text;
        const action = (call.body as { action_type?: string } | undefined)?.action_type;
        reject(new FirecrackerApiError(call.method, action ? `${call.path} ${action}` : call.path, status, fault));
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`${call.method} ${call.path}: no answer from Firecracker within ${call.timeoutMs ?? 30_000} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** Which protocol error kind a Firecracker fault is (the fault text is always kept in the message). */
export function faultCategory(status: number, fault: string): ProviderErrorCategory {
  if (/kvm/i.test(fault)) return 'Internal';
  if (status === 404) return 'NotFound';
  if (/not supported (before|after) starting|not allowed|not enabled/i.test(fault)) return 'Unimplemented';
  if (/no such file|os error 2\b/i.test(fault)) return 'Internal';
  if (status === 400) return 'InvalidSpec';
  return 'Internal';
}

/** Any error of a Firecracker call as a ProviderError of operation `op`. */
export function toProviderError(op: string, e: unknown, hint = ''): ProviderError {
  if (e instanceof ProviderError) return e;
  if (e instanceof FirecrackerApiError) {
    const kvm = /kvm/i.test(e.fault) ? ' (Firecracker needs a usable /dev/kvm on this host)' : '';
    return new ProviderError(faultCategory(e.status, e.fault), `${op}: Firecracker refused ${e.method} ${e.path}: ${e.fault}${kvm}${hint}`, op);
  }
  const code = (e as NodeJS.ErrnoException).code;
  const retry = code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'ETIMEDOUT' || code === 'ECONNRESET' || code === 'EAGAIN';
  return new ProviderError(retry ? 'Retryable' : 'Internal', `${op}: ${(e as Error).message}${hint}`, op);
}
