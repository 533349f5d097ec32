/**
 * Minimal HTTPS request to the API server with a kubeconfig's credentials,
 * for calls client-node's typed APIs cannot make faithfully: raw JSON
 * bodies (see crds.ts) and content negotiation (e.g. Table output).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { request, type RequestOptions } from 'node:https';

export interface RawRequest {
  readonly method?: string;
  /** Path and query, e.g. `/api/v1/namespaces`. */
  readonly path: string;
  readonly body?: unknown;
  readonly contentType?: string;
  /** @default application/json */
  readonly accept?: string;
  /** @default 30000 */
  readonly timeoutMs?: number;
}

export interface RawResponse {
  readonly status: number;
  readonly text: string;
}

/** Sends the request; resolves for any HTTP status (check `status`). */
export async function rawRequest(kc: KubeConfig, req: RawRequest): Promise<RawResponse> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig has no current cluster');
  const opts: RequestOptions = {
    method: req.method ?? 'GET',
    headers: {
      Accept: req.accept ?? 'application/json',
      ...(req.contentType ? { 'Content-Type': req.contentType } : {}),
    },
    timeout: req.timeoutMs ?? 30_000,
  };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((res, rej) => {
    const r = request(new URL(`${server}${req.path}`), opts, (resp) => {
      let text = '';
      resp.setEncoding('utf8');
      resp.on('data', (c: string) => (text += c));
      resp.on('end', () => res({ status: resp.statusCode ?? 0, text }));
    });
    r.on('timeout', () => r.destroy(new Error(`${opts.method} ${req.path} timed out`)));
    r.on('error', rej);
    r.end(req.body === undefined ? undefined : JSON.stringify(req.body));
  });
}
