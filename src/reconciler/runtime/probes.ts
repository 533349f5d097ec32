/** Health (/healthz, /readyz) and metrics (/metrics) HTTP servers. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics';

export interface ProbeServerOptions {
  /** ":8081", "127.0.0.1:0" (free port); "0" disables. @default ":8081" */
  healthProbeBindAddress?: string;
  /** @default ":8080"; "0" disables */
  metricsBindAddress?: string;
  metrics: Metrics;
  ready: () => boolean;
  healthy?: () => boolean;
}

export interface ProbeServers {
  /** Bound ports; 0 when that server is disabled. */
  healthPort: number;
  metricsPort: number;
  close(): Promise<void>;
}

/** Splits "host:port" / ":port"; undefined for "0" (disabled). */
export function parseBindAddress(addr: string): { host?: string; port: number } | undefined {
  if (addr === '0' || addr === '') return undefined;
  const i = addr.lastIndexOf(':');
  if (i < 0) throw new Error(`bind address "${addr}" must be host:port or :port`);
  const host = addr.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bind address "${addr}" has no valid port`);
  return { host: host || undefined, port };
}

function listen(server: Server, addr: { host?: string; port: number }): Promise<number> {
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(addr.port, addr.host, () => {
      server.off('error', rej);
      res((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((res) => {
    server.close(() => res());
    server.closeAllConnections();
  });
}

export async function startProbeServers(opts: ProbeServerOptions): Promise<ProbeServers> {
  const servers: Server[] = [];
  const close = () => Promise.all(servers.map(closeServer)).then(() => undefined);
  try {
    let healthPort = 0;
    let metricsPort = 0;
    const h = parseBindAddress(opts.healthProbeBindAddress ?? ':8081');
    if (h) {
      const srv = createServer((req, res) => {
        const path = (req.url ?? '').split('?')[0];
        const check = path === '/healthz' || path === '/livez' ? opts.healthy ?? (() => true) : path === '/readyz' ? opts.ready : undefined;
        if (!check) {
          res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
          return;
        }
        let ok = false;
        try {
          ok = check();
        } catch {
          ok = false;
        }
        res.writeHead(ok ? 200 : 500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(ok ? 'ok' : 'not ok');
      });
      servers.push(srv);
      healthPort = await listen(srv, h);
    }
    const m = parseBindAddress(opts.metricsBindAddress ?? ':8080');
    if (m) {
      const srv = createServer((req, res) => {
        if ((req.url ?? '').split('?')[0] !== '/metrics') {
          res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
          return;
        }
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(opts.metrics.render());
      });
      servers.push(srv);
      metricsPort = await listen(srv, m);
    }
    return { healthPort, metricsPort, close };
  } catch (e) {
    await close();
    throw e;
  }
}
