/**
 * Lifecycle httpGet hooks reach only the VM's own addresses or ranges the
 * operator lists, against a real HTTP server on 127.0.0.1: a host that is
 * not the VM's is refused (no request made), loopback stays refused even
 * when the VM reports it, the operator's range opens it, redirects are not
 * followed, a URL trick in `path` does not move the request elsewhere,
 * and a silent server ends in the 10 s timeout's failure.
 */
import t from 'tap';
import { createServer } from 'node:http';
import type { VirtualMachine } from '../../../src/generated/virtual-machine';
import { MemoryProvider } from '../../../src/providers/memory';
import { runHook } from '../../../src/reconciler/vm/hooks';

type HttpGet = NonNullable<NonNullable<NonNullable<VirtualMachine['spec']>['lifecycle']>['postStart']>['httpGet'];

const vm = (httpGet: HttpGet): VirtualMachine => ({
  apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VirtualMachine',
  metadata: { name: 'web', namespace: 'team-a' },
  spec: { providerRef: { name: 'p' }, classRef: { name: 'c' }, lifecycle: { postStart: { httpGet } } },
  status: { id: 'vm-1' },
} as VirtualMachine);

t.test('httpGet hooks', async (t) => {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/ready') res.end('ok');
    else if (req.url === '/moved') { res.statusCode = 302; res.setHeader('location', 'http://169.254.169.254/latest/meta-data/'); res.end(); }
    else if (req.url === '/silent') return; // never answers
    else { res.statusCode = 404; res.end(); }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  const port = (server.address() as { port: number }).port;
  const provider = new MemoryProvider();
  const lo = { hookAllowedCidrs: ['127.0.0.0/8'] };

  const other = await runHook('postStart', vm({ host: '10.1.2.3', port, path: '/ready' }), provider, ['192.0.2.10']);
  t.equal(other?.ok, false, 'a host that is not the VM\'s is refused');
  t.match(other?.detail, /^postStart httpGet http:\/\/10\.1\.2\.3:\d+\/ready refused: address 10\.1\.2\.3 is not in the VM's own addresses \(192\.0\.2\.10\) or the ranges the operator allows for hooks \(none\)$/);

  const local = await runHook('postStart', vm({ host: '127.0.0.1', port, path: '/ready' }), provider, ['192.0.2.10']);
  t.match(local?.detail, /address 127\.0\.0\.1 is in 127\.0\.0\.0\/8, which is refused/, 'the reconciler\'s own host is refused');
  const reported = await runHook('postStart', vm({ port, path: '/ready' }), provider, ['127.0.0.1']);
  t.match(reported?.detail, /is in 127\.0\.0\.0\/8, which is refused/, 'even when the VM reports a loopback address');
  const meta = await runHook('postStart', vm({ host: '169.254.169.254', port: 80 }), provider, ['169.254.169.254']);
  t.match(meta?.detail, /is in 169\.254\.0\.0\/16/, 'the metadata address is refused even as a VM address');
  t.same(hits, [], 'no refused hook made a request');

  const ok = await runHook('postStart', vm({ port, path: '/ready' }), provider, ['127.0.0.1'], undefined, lo);
  t.same(ok, { ok: true, detail: `postStart httpGet http://127.0.0.1:${port}/ready: HTTP 200` }, 'the VM\'s address, opened by the operator\'s range');
  const listed = await runHook('postStart', vm({ host: '127.0.0.1', port, path: '/ready' }), provider, ['192.0.2.10'], undefined, lo);
  t.equal(listed?.ok, true, 'a host in the operator\'s range');

  hits.length = 0;
  const moved = await runHook('postStart', vm({ port, path: '/moved' }), provider, ['127.0.0.1'], undefined, lo);
  t.same(moved, { ok: true, detail: `postStart httpGet http://127.0.0.1:${port}/moved: HTTP 302` }, 'a redirect is the answer, not followed');
  t.same(hits, ['/moved'], 'one request only');

  const trick = await runHook('postStart', vm({ port, path: '@169.254.169.254/latest' }), provider, ['127.0.0.1'], undefined, lo);
  t.match(trick?.detail, /address 169\.254\.169\.254 is in 169\.254\.0\.0\/16/, 'a userinfo trick in path is checked on the real target');

  const start = Date.now();
  const silent = await runHook('postStart', vm({ port, path: '/silent' }), provider, ['127.0.0.1'], undefined, lo);
  t.same(silent, { ok: false, detail: `postStart httpGet http://127.0.0.1:${port}/silent: no answer within 10 s` }, 'a silent server times out');
  t.ok(Date.now() - start >= 9_900 && Date.now() - start < 15_000, 'after about 10 s');
});
