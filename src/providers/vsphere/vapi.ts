/**
 * A small vAPI REST client for the content library: the legacy `/rest`
 * endpoints, because those are what both vCenter 7/8 and vcsim serve
 * (vcsim has no `/api/session`, and its VM-template deploy handler only
 * answers under `/rest`). The session comes from `POST
 * /rest/com/vmware/cis/session` with basic auth (the Provider's
 * credentials) and travels in the `vmware-api-session-id` header; requests
 * share the SOAP client's connection settings (TLS, CA, deadlines).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { ProviderError, type ProviderErrorCategory } from '../provider';
import type { CallOpts, SoapTransport } from './soap';

export const VAPI_SESSION_HEADER = 'vmware-api-session-id';

export interface VapiOptions {
  readonly transport: SoapTransport;
  readonly username: string;
  readonly password: string;
}

export class VapiClient {
  private session: Promise<string> | undefined;

  constructor(private readonly opts: VapiOptions) {}

  /** `value` of a `/rest` answer; a 401 logs in again once (expired session). */
  async call<T>(method: string, path: string, body: unknown, operation: string, o?: CallOpts): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const id = await this.login(operation, o);
      const res = await this.opts.transport.request(method, path, this.headers({ [VAPI_SESSION_HEADER]: id }), body === undefined ? undefined : JSON.stringify(body),
        { operation, signal: o?.signal, timeoutMs: o?.timeoutMs });
      if (res.status === 401 && attempt === 0) {
        this.session = undefined;
        continue;
      }
      if (res.status < 200 || res.status > 299) throw restError(operation, res.status, res.body);
      if (!res.body.trim()) return undefined as T;
      try {
        return (JSON.parse(res.body) as { value: T }).value;
      } catch {
        throw new ProviderError('Internal', `${operation}: vCenter answered ${method} ${path} with non-JSON`, operation);
      }
    }
  }

  /** Ends the REST session (best effort). */
  async logout(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    const id = await s?.catch(() => undefined);
    if (id) await this.opts.transport.request('DELETE', '/rest/com/vmware/cis/session', this.headers({ [VAPI_SESSION_HEADER]: id }), undefined, { operation: 'Logout' }).catch(() => undefined);
  }

  private login(operation: string, o?: CallOpts): Promise<string> {
    this.session ??= (async () => {
      const auth = Buffer.from(`${this.opts.username}:${this.opts.password}`).toString('base64');
      const res = await this.opts.transport.request('POST', '/rest/com/vmware/cis/session', this.headers({ authorization: `Basic ${auth}` }), undefined,
        { operation, signal: o?.signal, timeoutMs: o?.timeoutMs });
      if (res.status === 401 || res.status === 403) throw new ProviderError('Unauthenticated', `${operation}: vCenter REST login refused (HTTP ${res.status}); check username/password`, operation);
      if (res.status !== 200) throw restError(operation, res.status, res.body);
      const id = (JSON.parse(res.body) as { value?: unknown }).value;
      if (typeof id !== 'string' || !id) throw new ProviderError('Internal', `${operation}: vCenter REST login returned no session id`, operation);
      return id;
    })();
    // A failed login is not cached: the next call tries again.
    this.session.catch(() => (this.session = undefined));
    return this.session;
  }

  private headers(extra: OutgoingHttpHeaders): OutgoingHttpHeaders {
    return { 'content-type': 'application/json', accept: 'application/json', ...extra };
  }
}

/** vAPI error answers (`{"type":"com.vmware.vapi.std.errors.not_found",…}`) to ProviderErrors. */
export function restError(operation: string, status: number, body: string): ProviderError {
  let kind = '';
  let detail = '';
  try {
    const j = JSON.parse(body) as { type?: string; value?: { messages?: unknown[] }; error_type?: string; messages?: unknown[] };
    kind = j.type ?? j.error_type ?? '';
    const msgs = j.value?.messages ?? j.messages ?? [];
    detail = msgs.map((m) => (typeof m === 'string' ? m : (m as { default_message?: string }).default_message ?? '')).filter(Boolean).join('; ');
  } catch {
    detail = body.trim().slice(0, 200);
  }
  const short = kind.replace(/^com\.vmware\.vapi\.std\.errors\./, '');
  const category: ProviderErrorCategory = status === 401 || status === 403 || short === 'unauthenticated' || short === 'unauthorized' ? 'Unauthenticated'
    : status === 404 || short === 'not_found' ? 'NotFound'
      : status === 400 || /invalid_argument|already_exists|invalid_element_type|unsupported/.test(short) ? 'InvalidSpec'
        : status === 429 || status >= 500 || /service_unavailable|timed_out|resource_busy/.test(short) ? 'Retryable'
          : 'Internal';
  return new ProviderError(category, `${operation}: vCenter REST HTTP ${status}${short ? ` ${short}` : ''}${detail ? `: ${detail}` : ''}`, operation);
}
