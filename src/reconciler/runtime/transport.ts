/**
 * One HTTP(S) request to the API server with a kubeconfig's credentials.
 * Credentials are applied per request (tokens and exec plugins rotate), but
 * TLS connections are reused through a keep-alive agent per identity:
 * client-node makes a fresh agent on every call, which costs a TLS
 * handshake per request.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';

export interface SendOptions {
  method: string;
  /** Path and query. */
  path: string;
  body?: string;
  contentType?: string;
  userAgent: string;
  /** Idle socket timeout. */
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Called at the last moment before the request goes on the wire (its
   * connection is up, nothing of it written yet); throwing refuses it.
   */
  beforeSend?: () => void;
}

export class Transport {
  private agent: HttpsAgent | undefined;
  private agentId = '';
  private readonly httpAgent = new HttpAgent({ keepAlive: true });

  constructor(private readonly kc: KubeConfig) {}

  get server(): string {
    const s = this.kc.getCurrentCluster()?.server;
    if (!s) throw new Error('kubeconfig has no current cluster (server)');
    return s.replace(/\/+$/, '');
  }

  /** Sends the request and resolves with the response head; the caller reads the body. */
  async send(o: SendOptions): Promise<IncomingMessage> {
    const url = new URL(this.server + o.path);
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': o.userAgent };
    if (o.contentType) headers['Content-Type'] = o.contentType;
    if (o.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(o.body));
    const opts: RequestOptions = { method: o.method, headers };
    await this.kc.applyToHTTPSOptions(opts);
    const https = url.protocol === 'https:';
    if (https && !this.kc.getCurrentCluster()?.proxyUrl) opts.agent = this.keepAliveAgent(opts);
    else if (!https) opts.agent = this.httpAgent;
    return new Promise((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(url, { ...opts, signal: o.signal }, resolve);
      req.setTimeout(o.timeoutMs, () => req.destroy(Object.assign(new Error(`${o.method} ${o.path}: timed out after ${o.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      const guard = o.beforeSend;
      if (!guard) return void req.end(o.body);
      // Nothing is written before end(): a request held up by a new connection (or a paused process) is checked when it can go.
      req.once('socket', (socket) => {
        const send = () => {
          try {
            guard();
          } catch (e) {
            return void req.destroy(e as Error);
          }
          req.end(o.body);
        };
        if (socket.connecting) socket.once(https ? 'secureConnect' : 'connect', send);
        else send();
      });
    });
  }

  private keepAliveAgent(opts: RequestOptions): HttpsAgent {
    const id = JSON.stringify([opts.ca, opts.cert, opts.key, opts.pfx, opts.passphrase, opts.rejectUnauthorized, opts.servername].map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v)));
    if (!this.agent || id !== this.agentId) {
      this.agent?.destroy();
      this.agent = new HttpsAgent({
        keepAlive: true,
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        pfx: opts.pfx,
        passphrase: opts.passphrase,
        rejectUnauthorized: opts.rejectUnauthorized,
        servername: opts.servername,
      });
      this.agentId = id;
    }
    return this.agent;
  }

  /** Closes idle connections (lets the process exit). */
  close(): void {
    this.agent?.destroy();
    this.httpAgent.destroy();
  }
}

export function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (text += c));
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}
