/**
 * HTTPS client of the PVE API (`/api2/json`). Two ways to authenticate:
 * an API token (`PVEAPIToken=user@realm!name=secret` on every request), or
 * user and password traded at `/access/ticket` for a ticket cookie and a
 * CSRF token sent on every write. Tickets expire after 2 hours; the client
 * logs in again before that (and once more on a 401). Secrets never appear
 * in errors.
 */
import * as https from 'node:https';
import { ProviderError } from '../provider';
import { PveHttpError } from './errors';

export interface PveClientOptions {
  /** `https://host:8006` (a trailing `/api2/json` is accepted). */
  readonly url: string;
  /** `user@realm!tokenname` with {@link tokenSecret}, or a user for password login. */
  readonly tokenId?: string;
  readonly tokenSecret?: string;
  readonly username?: string;
  readonly password?: string;
  readonly ca?: string;
  readonly insecureSkipVerify?: boolean;
  /** Renew a ticket this long after it was issued (PVE's lifetime is 2 h). @default 90 minutes */
  readonly ticketRenewMs?: number;
  readonly timeoutMs?: number;
}

export type Params = Readonly<Record<string, string | number | boolean | undefined>>;

interface Ticket { readonly cookie: string; readonly csrf: string; readonly at: number }

export class PveClient {
  private readonly base: URL;
  private readonly agent: https.Agent;
  private ticket?: Ticket;
  private login?: Promise<Ticket>;
  /** Logins made (ticket issues), for tests and metrics. */
  logins = 0;
  /** Of those, logins forced by a 401 (the ticket was refused, not renewed in time). */
  reauths = 0;

  constructor(private readonly opts: PveClientOptions) {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      throw new ProviderError('InvalidSpec', `spec.endpoint: Invalid value: ${JSON.stringify(opts.url)}: must be an https URL such as https://pve.example.com:8006`, 'Connect');
    }
    if (u.protocol !== 'https:') throw new ProviderError('InvalidSpec', `spec.endpoint: Invalid value: ${JSON.stringify(opts.url)}: the Proxmox VE API is served over https only`, 'Connect');
    u.pathname = u.pathname.replace(/\/+$/, '').replace(/\/api2\/json$/, '') + '/api2/json';
    this.base = u;
    if (!opts.tokenId && !opts.username) throw new ProviderError('Unauthenticated', 'Proxmox credentials: give tokenId and tokenSecret, or username and password', 'Connect');
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 8, ca: opts.ca || undefined, rejectUnauthorized: !opts.insecureSkipVerify });
  }

  get usesToken(): boolean {
    return !!this.opts.tokenId;
  }

  get<T = unknown>(path: string, params: Params = {}, op = 'Get'): Promise<T> {
    return this.call<T>('GET', path, params, op);
  }
  post<T = unknown>(path: string, params: Params = {}, op = 'Post'): Promise<T> {
    return this.call<T>('POST', path, params, op);
  }
  put<T = unknown>(path: string, params: Params = {}, op = 'Put'): Promise<T> {
    return this.call<T>('PUT', path, params, op);
  }
  delete<T = unknown>(path: string, params: Params = {}, op = 'Delete'): Promise<T> {
    return this.call<T>('DELETE', path, params, op);
  }

  close(): void {
    this.agent.destroy();
  }

  private async call<T>(method: string, path: string, params: Params, op: string, retried = false): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.opts.tokenId) {
      headers.Authorization = `PVEAPIToken=${this.opts.tokenId}=${this.opts.tokenSecret ?? ''}`;
    } else {
      const t = await this.session(op);
      headers.Cookie = `PVEAuthCookie=${t.cookie}`;
      if (method !== 'GET') headers.CSRFPreventionToken = t.csrf;
    }
    try {
      return await this.raw<T>(method, path, params, headers, op);
    } catch (e) {
      if (!retried && !this.opts.tokenId && e instanceof PveHttpError && e.status === 401) {
        this.ticket = undefined;
        this.reauths++;
        return this.call<T>(method, path, params, op, true);
      }
      throw e;
    }
  }

  /** The current ticket, renewed once it is older than the renewal age. */
  private async session(op: string): Promise<Ticket> {
    const renew = this.opts.ticketRenewMs ?? 90 * 60_000;
    if (this.ticket && Date.now() - this.ticket.at < renew) return this.ticket;
    this.login ??= (async () => {
      try {
        const d = await this.raw<{ ticket: string; CSRFPreventionToken: string }>('POST', '/access/ticket', { username: this.opts.username, password: this.opts.password }, {}, op);
        this.logins++;
        this.ticket = { cookie: d.ticket, csrf: d.CSRFPreventionToken, at: Date.now() };
        return this.ticket;
      } finally {
        this.login = undefined;
      }
    })();
    return this.login;
  }

  private raw<T>(method: string, path: string, params: Params, headers: Record<string, string>, op: string): Promise<T> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) qs.append(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
    const url = new URL(this.base.href + path);
    let body: string | undefined;
    if (method === 'GET' || method === 'DELETE') url.search = qs.toString();
    else {
      body = qs.toString();
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    return new Promise<T>((resolve, reject) => {
      const req = https.request(url, { method, headers, agent: this.agent, timeout: this.opts.timeoutMs ?? 60_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let json: { data?: unknown; errors?: Record<string, string>; message?: string } = {};
          try { json = text ? JSON.parse(text) : {}; } catch { /* a proxy's page: the status line says it */ }
          if (status >= 200 && status < 300) return resolve(json.data as T);
          const reason = (res.statusMessage ?? '').trim();
          const detail = json.errors ? ` (${Object.entries(json.errors).map(([k, v]) => `${k}: ${String(v).trim()}`).join('; ')})` : '';
          reject(new PveHttpError(status, `${(json.message ?? reason).trim() || reason}${detail}`, op));
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new ProviderError('Retryable', `${op}: Proxmox VE did not answer ${method} ${path} in time`, op)));
      req.on('error', (e) => reject(e instanceof ProviderError ? e : new ProviderError('Retryable', `${op}: cannot reach Proxmox VE at ${this.base.host}: ${e.message}`, op)));
      if (body) req.write(body);
      req.end();
    });
  }
}
