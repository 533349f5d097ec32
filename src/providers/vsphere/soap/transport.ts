/**
 * HTTPS POSTs of SOAP envelopes to the vCenter SDK endpoint: TLS verified
 * against `ca` (or the system CAs) unless `insecureSkipVerify`, the
 * `vmware_soap_session` cookie kept and sent back, deadlines and
 * cancellation. Network and TLS failures become ProviderErrors with a
 * message that says what to fix; nothing here retries.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { ProviderError } from '../../provider';

export interface TransportOptions {
  /** `https://host[:port]/sdk`. */
  readonly url: string;
  /** PEM CA bundle to trust instead of the system CAs. */
  readonly ca?: string;
  readonly insecureSkipVerify?: boolean;
  /** Default deadline of one request (ms). */
  readonly timeoutMs?: number;
}

export interface PostOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** For error messages, e.g. `RetrievePropertiesEx`. */
  readonly operation: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

/** vSphere 7.0U3 and later answer this version; vcsim accepts any. */
export const SOAP_ACTION = '"urn:vim25/7.0.3.0"';
export const SESSION_COOKIE = 'vmware_soap_session';

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED', 'CERT_REJECTED',
]);

export class SoapTransport {
  private readonly agent: http.Agent;
  private readonly target: URL;
  /** The session cookie (`vmware_soap_session=…`), once vCenter set one. */
  cookie: string | undefined;

  constructor(private readonly opts: TransportOptions) {
    try {
      this.target = new URL(opts.url);
    } catch {
      throw new ProviderError('InvalidSpec', `vSphere endpoint ${JSON.stringify(opts.url)} is not a URL`, 'Connect');
    }
    if (this.target.protocol !== 'https:' && this.target.protocol !== 'http:') {
      throw new ProviderError('InvalidSpec', `vSphere endpoint ${opts.url} must be https://<vcenter>/sdk`, 'Connect');
    }
    if (this.target.pathname === '/' || this.target.pathname === '') this.target.pathname = '/sdk';
    this.target.search = '';
    this.agent = this.target.protocol === 'https:'
      ? new https.Agent({ keepAlive: true, maxSockets: 8, ca: opts.ca || undefined, rejectUnauthorized: !opts.insecureSkipVerify })
      : new http.Agent({ keepAlive: true, maxSockets: 8 });
  }

  get endpoint(): string {
    return this.target.toString();
  }

  post(xml: string, o: PostOptions): Promise<HttpResponse> {
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/xml; charset=utf-8', soapaction: SOAP_ACTION };
    if (this.cookie) headers.cookie = this.cookie;
    return this.send('POST', this.target, headers, xml, o).then((res) => {
      this.keepCookie(res.setCookie);
      return { status: res.status, body: res.body };
    });
  }

  /**
   * One HTTP request to the same vCenter with the same TLS settings, for
   * the vAPI REST client (content library): `path` replaces the `/sdk` path.
   */
  request(method: string, path: string, headers: http.OutgoingHttpHeaders, body: string | undefined, o: PostOptions): Promise<HttpResponse> {
    return this.send(method, new URL(path, this.target), headers, body, o);
  }

  private send(method: string, url: URL, headers: http.OutgoingHttpHeaders, body: string | undefined, o: PostOptions): Promise<HttpResponse & { setCookie?: string[] }> {
    const timeoutMs = o.timeoutMs ?? this.opts.timeoutMs ?? 60_000;
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      if (o.signal?.aborted) return reject(new ProviderError('Retryable', `${o.operation}: cancelled`, o.operation));
      const req = mod.request(url, { method, agent: this.agent, headers: { ...headers, 'content-length': body === undefined ? 0 : Buffer.byteLength(body) } });
      let settled = false;
      const fail = (e: ProviderError) => {
        if (settled) return;
        settled = true;
        req.destroy();
        reject(e);
      };
      const onAbort = () => fail(new ProviderError('Retryable', `${o.operation}: cancelled`, o.operation));
      o.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => fail(new ProviderError('Retryable', `${o.operation}: no answer from ${this.target.host} within ${timeoutMs} ms`, o.operation)), timeoutMs);
      const done = () => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
      };
      req.on('error', (e: NodeJS.ErrnoException) => {
        done();
        fail(this.networkError(e, o.operation));
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e: NodeJS.ErrnoException) => {
          done();
          fail(this.networkError(e, o.operation));
        });
        res.on('end', () => {
          done();
          if (settled) return;
          settled = true;
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), setCookie: res.headers['set-cookie'] });
        });
      });
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private keepCookie(setCookie: string[] | undefined): void {
    for (const c of setCookie ?? []) {
      const first = c.split(';')[0]?.trim();
      if (first?.startsWith(`${SESSION_COOKIE}=`)) this.cookie = first;
    }
  }

  private networkError(e: NodeJS.ErrnoException, operation: string): ProviderError {
    const host = this.target.host;
    if (e.code && TLS_CODES.has(e.code)) {
      return new ProviderError('Unauthenticated',
        `${operation}: TLS verification of ${host} failed (${e.code}: ${e.message}); put the CA that signed vCenter's certificate in the credentials Secret key "ca.crt", or set spec.insecureSkipVerify`,
        operation);
    }
    if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' || e.code === 'EHOSTUNREACH') {
      return new ProviderError('Retryable', `${operation}: cannot reach vCenter at ${host} (${e.code})`, operation);
    }
    return new ProviderError('Retryable', `${operation}: connection to ${host} failed (${e.code ?? e.message})`, operation);
  }
}
