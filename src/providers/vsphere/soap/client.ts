/**
 * A compact vim25 client: one method call = one envelope. It fetches the
 * ServiceContent, logs in lazily (one login shared by concurrent calls),
 * logs in again once when vCenter says the session expired, and turns
 * SOAP faults and HTTP errors into ProviderErrors.
 */
import { ProviderError } from '../../provider';
import { faultError, isFault, parseSoapFault } from './faults';
import { SoapTransport, type TransportOptions } from './transport';
import { bodyOf, envelope, moRef, node, parseXml, text, type MoRef, type XmlNode, type XmlValue } from './xml';

export interface CallOpts {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/** The parts of ServiceContent the provider uses. */
export interface ServiceContent {
  readonly rootFolder: MoRef;
  readonly propertyCollector: MoRef;
  readonly viewManager: MoRef;
  readonly searchIndex: MoRef;
  readonly sessionManager: MoRef;
  readonly apiVersion: string;
  readonly fullName: string;
  readonly instanceUuid: string;
}

export interface VimClientOptions extends TransportOptions {
  readonly username: string;
  readonly password: string;
}

const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };

export class VimClient {
  readonly transport: SoapTransport;
  private content?: Promise<ServiceContent>;
  private session?: Promise<void>;

  constructor(private readonly opts: VimClientOptions) {
    this.transport = new SoapTransport(opts);
  }

  serviceContent(o?: CallOpts): Promise<ServiceContent> {
    this.content ??= this.raw('RetrieveServiceContent', SERVICE_INSTANCE, {}, o).then(readServiceContent);
    this.content.catch(() => (this.content = undefined));
    return this.content;
  }

  /** Logs in unless a session exists (or is being made). */
  login(o?: CallOpts): Promise<void> {
    this.session ??= (async () => {
      if (!this.opts.username) throw new ProviderError('Unauthenticated', 'Login: the credentials Secret has no "username"', 'Login');
      const sc = await this.serviceContent(o);
      await this.raw('Login', sc.sessionManager, { userName: this.opts.username, password: this.opts.password }, o);
    })();
    this.session.catch(() => (this.session = undefined));
    return this.session;
  }

  async logout(): Promise<void> {
    if (!this.session) return;
    const sc = await this.serviceContent();
    this.session = undefined;
    await this.raw('Logout', sc.sessionManager, {}, { timeoutMs: 5_000 }).catch(() => undefined);
    this.transport.cookie = undefined;
  }

  /** Calls `method` on `self` in a session; returns `returnval` (undefined for void methods). */
  async call(method: string, self: MoRef, params: XmlNode = {}, o?: CallOpts): Promise<XmlValue | undefined> {
    await this.login(o);
    try {
      return await this.raw(method, self, params, o);
    } catch (e) {
      // The session expired or vCenter restarted: log in again, once.
      if (!isFault(e, 'NotAuthenticated')) throw e;
      this.session = undefined;
      this.transport.cookie = undefined;
      await this.login(o);
      return this.raw(method, self, params, o);
    }
  }

  close(): void {
    this.transport.close();
  }

  /** One request, no session handling. */
  async raw(method: string, self: MoRef, params: XmlNode, o?: CallOpts): Promise<XmlValue | undefined> {
    const res = await this.transport.post(envelope(method, self, params), { operation: method, signal: o?.signal, timeoutMs: o?.timeoutMs });
    let body: XmlNode | undefined;
    try {
      body = bodyOf(parseXml(res.body));
    } catch {
      body = undefined;
    }
    const fault = body && parseSoapFault(body);
    if (fault) throw faultError(fault, method);
    if (res.status !== 200 || !body) throw httpError(method, res.status, this.transport.endpoint, body !== undefined);
    const key = `${method}Response`;
    // A void method, or one that found nothing, answers with an empty element.
    if (!(key in body)) throw new ProviderError('Internal', `${method}: the answer has no ${key}`, method);
    return node(body[key])?.returnval;
  }
}

function httpError(method: string, status: number, endpoint: string, wasSoap: boolean): ProviderError {
  if (status >= 500 || status === 429) return new ProviderError('Retryable', `${method}: vCenter answered HTTP ${status}`, method);
  if (status === 401 || status === 403) return new ProviderError('Unauthenticated', `${method}: vCenter answered HTTP ${status}`, method);
  if (status === 404) return new ProviderError('InvalidSpec', `${method}: HTTP 404 from ${endpoint}: is the endpoint vCenter's /sdk URL?`, method);
  const what = wasSoap ? 'an unexpected SOAP answer' : 'an answer that is not SOAP';
  return new ProviderError('Internal', `${method}: ${what} (HTTP ${status}) from ${endpoint}`, method);
}

function readServiceContent(v: XmlValue | undefined): ServiceContent {
  const n = node(v) ?? {};
  const need = (k: string): MoRef => {
    const r = moRef(n[k]);
    if (!r) throw new ProviderError('Internal', `RetrieveServiceContent: no ${k} in the ServiceContent`, 'RetrieveServiceContent');
    return r;
  };
  const about = node(n.about) ?? {};
  return {
    rootFolder: need('rootFolder'),
    propertyCollector: need('propertyCollector'),
    viewManager: need('viewManager'),
    searchIndex: need('searchIndex'),
    sessionManager: need('sessionManager'),
    apiVersion: text(about.apiVersion) ?? '',
    fullName: text(about.fullName) ?? '',
    instanceUuid: text(about.instanceUuid) ?? '',
  };
}
