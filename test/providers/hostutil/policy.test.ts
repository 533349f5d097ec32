/**
 * The operator's HostPolicy and the checks every image goes through, on
 * real files, real qemu-img and real HTTP servers on 127.0.0.1: confined
 * paths (`..`, symlinks, prefixes, no roots), standalone images (backing
 * file, external data file, VMDK extents, declared format), the guarded
 * download (address ranges, always-refused ranges, redirects, size cap,
 * timeout, file:// URLs) and the connect to the checked address.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, symlink, writeFile, mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  addressRefusal, checkQcow2, confinePath, confineRemotePath, download, hostPolicy, openLocalImage, parseCidr, parseCidrs,
  parseQcow2Header, pinnedGet, resolveChecked, DEFAULT_HOST_POLICY, type HostPolicy,
} from '../../../src/providers/hostutil';
import { isProviderError } from '../../../src/providers/provider';

const MiB = 1024 * 1024;
const img = (...args: string[]) => execFileSync('qemu-img', args, { stdio: 'pipe' });

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; base: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as { port: number }).port}`, hits };
}
const close = (s: Server) => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); });

let dir: string;
let roots: string;
let temp: string;
let policy: HostPolicy;

t.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vr-policy-'));
  roots = join(dir, 'images');
  temp = join(dir, 'tmp');
  await mkdir(roots);
  policy = hostPolicy({ imageRoots: [roots], tempDir: temp, allowedUrlCidrs: ['127.0.0.0/8'] });
});
t.teardown(() => rm(dir, { recursive: true, force: true }));

t.test('defaults deny, and a bad policy is refused at construction', async (t) => {
  t.same(DEFAULT_HOST_POLICY.imageRoots, [], 'no image roots');
  t.same(DEFAULT_HOST_POLICY.allowedUrlCidrs, [], 'no URL ranges');
  t.same(DEFAULT_HOST_POLICY.hookAllowedCidrs, [], 'no hook ranges');
  t.equal(DEFAULT_HOST_POLICY.allowFileUrls, false);
  t.equal(DEFAULT_HOST_POLICY.maxImageBytes, 50 * 1024 ** 3, '50 GiB cap');
  t.equal(DEFAULT_HOST_POLICY.tempDir, '/var/lib/virtrigaud/tmp', 'temp dir is not /tmp');
  t.throws(() => hostPolicy({ allowedUrlCidrs: ['10.0.0.0/33'] }), /allowedUrlCidrs: "10.0.0.0\/33" is not a CIDR/);
  t.throws(() => hostPolicy({ hookAllowedCidrs: ['example.com'] }), /hookAllowedCidrs: "example.com" is not a CIDR/);
  t.throws(() => hostPolicy({ imageRoots: ['images'] }), /directory "images" must be an absolute path/);
  t.throws(() => hostPolicy({ maxImageBytes: 0 }), /maxImageBytes must be positive/);
});

t.test('address ranges: allowed ranges, always-refused ranges, mapped and v6 forms', async (t) => {
  const any = parseCidrs(['0.0.0.0/0', '::/0'], 'x');
  t.equal(addressRefusal('203.0.113.7', any), undefined, 'a public address under 0.0.0.0/0');
  t.match(addressRefusal('127.0.0.1', any), /is in 127\.0\.0\.0\/8, which is refused unless the operator lists a range inside it/, '0.0.0.0/0 does not open loopback');
  t.match(addressRefusal('169.254.169.254', any), /169\.254\.0\.0\/16/, 'metadata service refused');
  t.match(addressRefusal('0.0.0.0', any), /0\.0\.0\.0\/8/, '0.0.0.0 refused');
  t.match(addressRefusal('::1', any), /::1\/128/, 'v6 loopback refused');
  t.match(addressRefusal('::', any), /::\/128/, 'v6 unspecified refused');
  t.match(addressRefusal('fe80::1%eth0', any), /fe80::\/10/, 'v6 link-local (with a zone) refused');
  t.match(addressRefusal('::ffff:127.0.0.1', any), /127\.0\.0\.0\/8/, 'IPv4-mapped loopback refused');
  t.match(addressRefusal('::ffff:7f00:1', any), /127\.0\.0\.0\/8/, 'IPv4-mapped loopback in hex refused');
  const lo = parseCidrs(['127.0.0.0/8'], 'x');
  t.equal(addressRefusal('127.0.0.1', lo), undefined, 'a listed range inside loopback opens it');
  t.equal(addressRefusal('::ffff:127.0.0.1', lo), undefined, 'the mapped form too');
  t.match(addressRefusal('10.1.2.3', lo), /is not in the address ranges allowed by the operator \(127\.0\.0\.0\/8\)/);
  t.match(addressRefusal('10.1.2.3', []), /allowed by the operator \(none\)/);
  t.equal(addressRefusal('10.1.2.3', parseCidrs(['10.0.0.0/8'], 'x')), undefined);
  t.match(addressRefusal('11.0.0.1', parseCidrs(['10.0.0.0/8'], 'x')), /is not in/, 'just outside the range');
  t.equal(addressRefusal('2001:db8::5', parseCidrs(['2001:db8::/32'], 'x')), undefined, 'v6 range');
  t.match(addressRefusal('2001:db9::5', parseCidrs(['2001:db8::/32'], 'x')), /is not in/);
  t.equal(addressRefusal('192.0.2.10', [], ['192.0.2.10']), undefined, 'an exact address (the VM\'s own)');
  t.match(addressRefusal('127.0.0.1', [], ['127.0.0.1']), /127\.0\.0\.0\/8/, 'an exact address does not open loopback');
  t.equal(parseCidr('10.9.8.7/8').base, parseCidr('10.0.0.0/8').base, 'host bits are masked');
  for (const bad of ['10.0.0/8', '10.0.0.256', '::1::2', '1:2:3:4:5:6:7:8:9', 'fe80::/129', '']) t.throws(() => parseCidr(bad), /is not a CIDR/, `"${bad}" refused`);
  await t.rejects(resolveChecked('localhost', 'image URL "http://localhost/"', []), /image URL "http:\/\/localhost\/": host "localhost" resolves to .*, which is/, 'a name resolving to loopback refused');
});

t.test('confinePath: roots, "..", symlinks, prefixes', async (t) => {
  const file = join(roots, 'good.qcow2');
  img('create', '-q', '-f', 'qcow2', file, '1M');
  t.equal(await confinePath(policy, file), file, 'a file under the root: its real path');
  await t.rejects(confinePath(DEFAULT_HOST_POLICY, file), /image path ".*good\.qcow2" is refused: the operator allows no local image paths/, 'no roots: no local path');
  await t.rejects(confinePath(policy, '/etc/shadow'), { message: `image path "/etc/shadow" is outside the image roots allowed by the operator (${roots})` });
  await t.rejects(confinePath(policy, `${roots}/../../../etc/passwd`), /must not contain "\.\." segments/, '".." refused even when it would resolve');
  await t.rejects(confinePath(policy, 'images/good.qcow2'), /must be an absolute path/);
  await symlink('/etc/passwd', join(roots, 'passwd.qcow2'));
  await t.rejects(confinePath(policy, join(roots, 'passwd.qcow2')), /\(it resolves to "\/etc\/passwd"\) is outside the image roots/, 'a symlink out of the root refused');
  await symlink('/etc', join(roots, 'etc'));
  await t.rejects(confinePath(policy, join(roots, 'etc', 'shadow')), /resolves to "\/etc\/shadow"/, 'a symlinked directory out of the root refused');
  await mkdir(`${roots}2`);
  await writeFile(join(`${roots}2`, 'x.img'), 'x');
  await t.rejects(confinePath(policy, join(`${roots}2`, 'x.img')), /outside the image roots/, 'a sibling sharing the root as a prefix refused');
  await t.rejects(confinePath(policy, join(roots, 'missing.qcow2')), /does not exist/);
  // No probe of the host: a missing path outside the roots reads exactly like an existing one.
  const absent = await confinePath(policy, '/etc/no-such-file-vr.qcow2').catch((x) => x);
  t.equal(absent.message, `image path "/etc/no-such-file-vr.qcow2" is outside the image roots allowed by the operator (${roots})`, 'a missing file outside the roots: not told it is missing');
  // A root that is itself a symlink: compared by real paths on both sides.
  await symlink(roots, join(dir, 'link-root'));
  const viaLink = hostPolicy({ ...policy, imageRoots: [join(dir, 'link-root')] });
  t.equal(await confinePath(viaLink, join(dir, 'link-root', 'good.qcow2')), file, 'a symlinked root works');
  const e = await confinePath(policy, '/etc/shadow').catch((x) => x);
  t.ok(isProviderError(e, 'InvalidSpec'), 'refusals are InvalidSpec');

  t.equal(confineRemotePath(policy, `${roots}//./good.qcow2`), file, 'remote: a lexical match, normalized');
  t.throws(() => confineRemotePath(policy, `${roots}/x/../../etc/shadow`), /"\.\." segments/);
  t.throws(() => confineRemotePath(policy, '/etc/shadow'), /outside the image roots/);
  t.throws(() => confineRemotePath(policy, 'good.qcow2'), /absolute path/, 'a bare volume name is not a path under a root');
});

t.test('checkQcow2: standalone images only, in the declared format', async (t) => {
  const good = join(roots, 'good.qcow2');
  t.equal((await checkQcow2(good, { format: 'qcow2' })).format, 'qcow2', 'a standalone qcow2 passes');

  const backed = join(roots, 'backed.qcow2');
  img('create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', backed);
  const h = parseQcow2Header(await readFile(backed));
  t.ok(h && h.backingFileOffset > 0n, 'the header parser sees the backing file');
  await t.rejects(checkQcow2(backed), /has a backing file; images must be standalone/, 'backing file /etc/passwd refused');
  await t.rejects(openLocalImage(policy, backed), /image path ".*backed\.qcow2" has a backing file/, 'also through openLocalImage');

  const inRoot = join(roots, 'backed-in-root.qcow2');
  img('create', '-q', '-f', 'qcow2', '-b', good, '-F', 'qcow2', inRoot);
  await t.rejects(checkQcow2(inRoot), /has a backing file/, 'a backing file inside the roots is refused too');

  const withData = join(roots, 'data.qcow2');
  img('create', '-q', '-f', 'qcow2', '-o', `data_file=${join(dir, 'data.raw')}`, withData, '1M');
  const dh = parseQcow2Header(await readFile(withData));
  t.equal(dh?.externalDataFile, true, 'incompatible bit: external data file');
  t.equal(dh?.dataFileName, join(dir, 'data.raw'), 'the data-file extension');
  await t.rejects(checkQcow2(withData), /has an external data file \(".*data\.raw"\)/, 'external data file refused');

  const raw = join(roots, 'raw.img');
  await writeFile(raw, Buffer.alloc(MiB));
  t.equal((await checkQcow2(raw)).format, 'raw', 'a raw file is raw');
  await t.rejects(checkQcow2(raw, { format: 'qcow2' }), /is in format raw, not qcow2 as declared/, 'raw declared as qcow2 refused');
  await t.rejects(checkQcow2(good, { format: 'raw' }), /is in format qcow2, not raw as declared/, 'qcow2 declared as raw refused');
  t.equal((await checkQcow2(raw, { format: 'iso' })).format, 'raw', 'iso declares raw bytes');
  t.equal((await checkQcow2(good, { format: 'template' })).format, 'qcow2', '"template" declares nothing');
  await t.rejects(checkQcow2(raw, { formats: ['qcow2'] }), /format raw, which is not accepted \(qcow2\)/);

  const flat = join(roots, 'flat.vmdk');
  img('create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', flat, '1M');
  await t.rejects(checkQcow2(flat), /is a VMDK whose data lies in other files/, 'a VMDK with a separate extent refused');
  const sparse = join(roots, 'sparse.vmdk');
  img('create', '-q', '-f', 'vmdk', sparse, '1M');
  t.equal((await checkQcow2(sparse, { format: 'vmdk' })).format, 'vmdk', 'a single-file VMDK passes');

  await t.rejects(checkQcow2(join(roots, 'nope')), /no such file/);
});

t.test('download: address ranges and the pinned connect', async (t) => {
  const body = Buffer.from('virtrigaud image bytes');
  const sha = createHash('sha256').update(body).digest('hex');
  const { server, base, hits } = await serve((req, res) => (req.url === '/img' ? res.end(body) : ((res.statusCode = 404), res.end())));
  t.teardown(() => close(server));
  const dest = (n: string) => join(dir, `dl-${n}`);

  const none = hostPolicy({ tempDir: temp });
  await t.rejects(download(`${base}/img`, dest('a'), none), /image URL "http:\/\/127\.0\.0\.1:\d+\/img" is refused: the operator allows no URL image sources \(allowedUrlCidrs is empty\)/, 'default: URL sources refused');
  const broad = hostPolicy({ tempDir: temp, allowedUrlCidrs: ['0.0.0.0/0'] });
  await t.rejects(download(`${base}/img`, dest('b'), broad), /address 127\.0\.0\.1 is in 127\.0\.0\.0\/8, which is refused/, '0.0.0.0/0 does not reach loopback');
  const other = hostPolicy({ tempDir: temp, allowedUrlCidrs: ['10.0.0.0/8'] });
  await t.rejects(download(`${base}/img`, dest('c'), other), /is in 127\.0\.0\.0\/8/);
  t.same(hits, [], 'no refused request reached the server');

  await download(`${base}/img`, dest('d'), policy, { checksum: { algo: 'sha256', expected: sha } });
  t.same(await readFile(dest('d')), body, 'allowed with 127.0.0.0/8 listed');
  const bad = await download(`${base}/img`, dest('e'), policy, { checksum: { algo: 'sha256', expected: '0'.repeat(64) } }).catch((x) => x);
  t.ok(isProviderError(bad, 'InvalidSpec'), 'checksum mismatch is InvalidSpec');
  await t.rejects(stat(dest('e')), 'nothing at dest after a mismatch');
  t.ok(isProviderError(await download(`${base}/missing`, dest('f'), policy).catch((x) => x), 'InvalidSpec'), '404 is InvalidSpec');
  t.same(await readdir(temp), [], 'no part file left in tempDir');

  // The socket goes to the checked address, whatever the name would resolve to now.
  const port = (server.address() as { port: number }).port;
  const res = await pinnedGet(new URL(`http://rebound.invalid:${port}/img`), [{ address: '127.0.0.1', family: 4 }]);
  res.resume();
  t.equal(res.statusCode, 200, 'connected to the checked address; no second DNS lookup');
  t.equal(hits.at(-1), '/img');
});

t.test('download: redirects are followed only to allowed addresses, at most 5', async (t) => {
  const body = Buffer.from('redirected image');
  const { server, base, hits } = await serve((req, res) => {
    const to = (l: string) => { res.statusCode = 302; res.setHeader('location', l); res.end(); };
    if (req.url === '/img') res.end(body);
    else if (req.url === '/to-img') to('/img');
    else if (req.url === '/to-metadata') to('http://169.254.169.254/latest/meta-data/');
    else if (req.url === '/to-internal') to('http://10.20.30.40/secret');
    else if (req.url === '/to-file') to('file:///etc/passwd');
    else if (req.url?.startsWith('/loop')) to(`/loop${Number(req.url.slice(5) || 0) + 1}`);
    else { res.statusCode = 404; res.end(); }
  });
  t.teardown(() => close(server));

  await download(`${base}/to-img`, join(dir, 'r1'), policy);
  t.same(await readFile(join(dir, 'r1')), body, 'a redirect to an allowed address is followed');
  await t.rejects(download(`${base}/to-metadata`, join(dir, 'r2'), policy), /redirected to "http:\/\/169\.254\.169\.254\/latest\/meta-data\/"\): address 169\.254\.169\.254 is in 169\.254\.0\.0\/16/, 'redirect to the metadata service refused');
  await t.rejects(download(`${base}/to-internal`, join(dir, 'r3'), policy), /address 10\.20\.30\.40 is not in the address ranges allowed by the operator \(127\.0\.0\.0\/8\)/, 'redirect to an internal address refused');
  await t.rejects(download(`${base}/to-file`, join(dir, 'r4'), policy), /a redirect to file: is not allowed/, 'redirect to file:// refused');
  hits.length = 0;
  await t.rejects(download(`${base}/loop`, join(dir, 'r5'), policy), /more than 5 redirects/);
  t.equal(hits.length, 6, 'the first request and 5 redirects, no more');
  t.same(await readdir(temp), [], 'no part file left');
});

t.test('download: the size cap aborts while streaming and removes the part file', async (t) => {
  let sent = 0;
  const { server, base } = await serve((req, res) => {
    if (req.url === '/big-declared') {
      res.setHeader('content-length', String(4 * MiB));
      res.end(Buffer.alloc(4 * MiB));
      return;
    }
    // No content-length: chunked, 64 KiB at a time, up to 64 MiB.
    const chunk = Buffer.alloc(64 * 1024, 1);
    const push = () => {
      while (sent < 64 * MiB) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', push);
      }
      res.end();
    };
    push();
  });
  t.teardown(() => close(server));
  const small = hostPolicy({ ...policy, maxImageBytes: MiB });
  const e = await download(`${base}/big`, join(dir, 'big'), small).catch((x) => x);
  t.ok(isProviderError(e, 'InvalidSpec'), 'InvalidSpec');
  t.match(e.message, /the image is larger than the 1048576 bytes allowed by the operator \(maxImageBytes\); download aborted/);
  t.ok(sent < 64 * MiB, `the transfer stopped early (${sent} bytes sent)`);
  await t.rejects(stat(join(dir, 'big')), 'no file at dest');
  t.same(await readdir(temp), [], 'the part file is removed');
  await t.rejects(download(`${base}/big-declared`, join(dir, 'big2'), small), /the image is 4194304 bytes, more than the 1048576 bytes allowed/, 'a declared length over the cap refused before streaming');
});

t.test('download: timeout, file:// URLs and the image check before the move', async (t) => {
  const { server, base } = await serve((req, res) => {
    if (req.url === '/slow') return; // never answers
    if (req.url === '/backed') {
      res.end(readFileSync(join(roots, 'backed.qcow2')));
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  t.teardown(() => close(server));
  const quick = hostPolicy({ ...policy, downloadTimeoutMs: 300 });
  const e = await download(`${base}/slow`, join(dir, 'slow'), quick).catch((x) => x);
  t.ok(isProviderError(e, 'Retryable'), 'a timeout is Retryable');
  t.match(e.message, /timed out after 300 ms/);

  const verifyFails = await download(`${base}/backed`, join(dir, 'backed'), policy, { verify: async (f) => { await checkQcow2(f); } }).catch((x) => x);
  t.match(verifyFails.message, /has a backing file/, 'a downloaded qcow2 with a backing file refused');
  await t.rejects(stat(join(dir, 'backed')), 'and never moved into place');

  const src = join(roots, 'plain.bin');
  await writeFile(src, 'plain bytes');
  await t.rejects(download(pathToFileURL(src).href, join(dir, 'f1'), policy), /is refused: the operator does not allow file:\/\/ image URLs \(allowFileUrls is false\)/, 'file:// refused by default');
  const files = hostPolicy({ ...policy, allowFileUrls: true });
  await download(pathToFileURL(src).href, join(dir, 'f2'), files);
  t.equal(await readFile(join(dir, 'f2'), 'utf8'), 'plain bytes', 'file:// under a root with allowFileUrls');
  await t.rejects(download('file:///etc/passwd', join(dir, 'f3'), files), /image path "\/etc\/passwd" is outside the image roots/, 'file:// outside the roots refused');
  await t.rejects(download('ftp://example.com/x', join(dir, 'f4'), files), /scheme ftp: is not supported/);
  t.same(await readdir(temp), [], 'no part file left');
});
