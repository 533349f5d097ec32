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

/**
 * Which protocol error kind a Firecracker fault is (the fault text is always kept in the message).
 * The texts are Firecracker's own (v1.16.1, measured with the real binary in
 * test/providers/firecracker/faults.test.ts); the first matching rule wins.
 */
export const FAULT_RULES: ReadonlyArray<{ readonly test: RegExp; readonly category: ProviderErrorCategory; readonly why: string }> = [
  { test: /kvm/i, category: 'Internal', why: 'the host has no usable /dev/kvm' },
  { test: /Invalid request method and\/or path/i, category: 'Unimplemented', why: 'this Firecracker has no such endpoint' },
  { test: /deserializing the json body/i, category: 'Internal', why: 'a request this Firecracker cannot parse (provider and binary disagree on the API)' },
  { test: /device not found|not found/i, category: 'NotFound', why: 'no such device in the microVM' },
  { test: /not activated yet|resource busy|os error 16|try again|os error 11/i, category: 'Retryable', why: 'not ready yet, or busy' },
  { test: /not supported (before|after) starting|not allowed|unavailable while|not enabled|not supported/i, category: 'Unimplemented', why: 'not possible in this state of the microVM' },
  { test: /no such file|os error \d+|cannot be opened|permission denied/i, category: 'Internal', why: 'a host file or device the provider gave' },
];

export function faultCategory(status: number, fault: string): ProviderErrorCategory {
  for (const r of FAULT_RULES) if (r.test.test(fault)) return r.category;
  if (status === 404) return 'NotFound';
  if (status >= 400 && status < 500) return 'InvalidSpec';
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
