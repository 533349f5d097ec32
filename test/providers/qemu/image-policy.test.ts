/**
 * The QEMU provider under the operator's HostPolicy, against real QEMU and
 * qemu-img: image paths confined to the roots, images with a backing file
 * or an external data file refused (given, downloaded, as a template),
 * URL sources refused by default, nothing half-built left behind, and the
 * per-image download lock (a stalled download does not hold up a VM on
 * another image; two VMs on one URL download it once).
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { createRequest } from '../../../src/providers/conformance';
import { hostPolicy, type HostPolicy } from '../../../src/providers/hostutil';
import { isProviderError, type CreateRequest, type ImagePayload } from '../../../src/providers/provider';
import { QemuProvider } from '../../../src/providers/qemu';
import { bootImage, destroyStateDir, requireQemu, stateDir } from './support';

let dir: string;
let src: string;
let policy: HostPolicy;

const NO_IMAGE: ImagePayload = { TemplateName: '', Path: '', URL: '', Format: '', Checksum: '', ChecksumType: 'sha256' };
function req(name: string, image: Partial<ImagePayload>): CreateRequest {
  const base = createRequest(name);
  return { ...base, class: { ...base.class, CPU: 1, MemoryMiB: 64, DiskDefaults: null }, image: { ...NO_IMAGE, ...image }, disks: [], networks: [] };
}
const img = (...args: string[]) => execFileSync('qemu-img', args, { stdio: 'pipe' });

t.before(async () => {
  requireQemu();
  dir = await stateDir('pol', { ok: { acpi: false } });
  src = join(dir, 'src');
  await fs.mkdir(src);
  policy = hostPolicy({ imageRoots: [src], tempDir: join(dir, 'tmp'), allowedUrlCidrs: ['127.0.0.0/8'] });
  await bootImage(join(src, 'good.qcow2'), { acpi: false });
  img('create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', join(src, 'backed.qcow2'));
  img('create', '-q', '-f', 'qcow2', '-o', `data_file=${join(dir, 'data.raw')}`, join(src, 'data.qcow2'), '1M');
  await fs.symlink('/etc/passwd', join(src, 'passwd.qcow2'));
  // A template an operator put there by mistake: it must be checked too.
  img('create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', join(dir, 'images', 'bad.qcow2'));
});
t.teardown(async () => {
  if (dir) await destroyStateDir(dir);
});

/** The VM directories (and half-built ones) in the state directory. */
const vmDirs = () => fs.readdir(join(dir, 'vms')).catch(() => [] as string[]);

t.test('given paths: confined to the roots and standalone', async (t) => {
  const p = new QemuProvider({ stateDir: dir, hostPolicy: policy });
  t.teardown(() => p.close());
  const refused = async (image: Partial<ImagePayload>, pattern: RegExp, what: string) => {
    const e = await p.create(req('refused', image)).catch((x) => x);
    t.ok(isProviderError(e, 'InvalidSpec'), `${what}: InvalidSpec`);
    t.match(e.message, pattern, what);
  };
  await refused({ Path: '/etc/shadow' }, /image path "\/etc\/shadow" is outside the image roots allowed by the operator/, 'a host file');
  await refused({ Path: `${src}/../images/ok.qcow2` }, /must not contain "\.\." segments/, 'a ".." escape');
  await refused({ Path: join(src, 'passwd.qcow2') }, /resolves to "\/etc\/passwd"\) is outside the image roots/, 'a symlink escape');
  await refused({ Path: join(src, 'backed.qcow2'), Format: 'qcow2' }, /has a backing file/, 'a qcow2 backed by /etc/passwd');
  await refused({ Path: join(src, 'data.qcow2') }, /has an external data file/, 'a qcow2 with an external data file');
  await refused({ Path: join(src, 'good.qcow2'), Format: 'raw' }, /is in format qcow2, not raw as declared/, 'a declared format that is not the real one');
  await refused({ TemplateName: 'bad' }, /template "bad" has a backing file/, 'a template with a backing file');
  t.same(await vmDirs(), [], 'nothing was built');

  const deny = new QemuProvider({ stateDir: dir });
  t.teardown(() => deny.close());
  const e = await deny.create(req('denied', { Path: join(src, 'good.qcow2') })).catch((x) => x);
  t.match(e.message, /the operator allows no local image paths/, 'the default policy allows no path at all');

  const { id } = await p.create(req('from-path', { Path: join(src, 'good.qcow2'), Format: 'qcow2' }));
  const info = await p.getDiskInfo(id, 'boot', '');
  t.equal(info.backingFile, join(src, 'good.qcow2'), 'a confined, standalone image is the boot overlay\'s backing file');
  await p.delete(id);
});

t.test('URLs: refused by default; downloads checked before they are cached', async (t) => {
  const good = readFileSync(join(src, 'good.qcow2'));
  const backed = readFileSync(join(src, 'backed.qcow2'));
  const hits: string[] = [];
  const stalled: ServerResponse[] = [];
  const server = createServer((rq, res) => {
    hits.push(rq.url ?? '');
    if (rq.url === '/good.qcow2') res.end(good);
    else if (rq.url === '/backed.qcow2') res.end(backed);
    else if (rq.url === '/stall.qcow2') stalled.push(res);
    else { res.statusCode = 404; res.end(); }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const p = new QemuProvider({ stateDir: dir, hostPolicy: policy });
  t.teardown(() => p.close());

  const deny = new QemuProvider({ stateDir: dir });
  t.teardown(() => deny.close());
  const e1 = await deny.create(req('url-denied', { URL: `${base}/good.qcow2` })).catch((x) => x);
  t.match(e1.message, /the operator allows no URL image sources \(allowedUrlCidrs is empty\)/, 'default policy: no URL sources');
  t.same(hits, [], 'nothing was fetched');

  const e2 = await p.create(req('url-backed', { URL: `${base}/backed.qcow2`, Format: 'qcow2' })).catch((x) => x);
  t.ok(isProviderError(e2, 'InvalidSpec'), 'InvalidSpec');
  t.match(e2.message, /image URL "http:\/\/127\.0\.0\.1:\d+\/backed\.qcow2" has a backing file/, 'a downloaded qcow2 backed by /etc/passwd is refused');
  t.same(await fs.readdir(join(dir, 'images', 'cache')), [], 'and never cached');
  t.same(await fs.readdir(join(dir, 'tmp')), [], 'no part file left');

  // One stalled download holds up only the VMs on that image.
  const slow = p.create(req('url-slow', { URL: `${base}/stall.qcow2` }));
  slow.catch(() => undefined);
  while (!stalled.length) await new Promise((r) => setTimeout(r, 20));
  const quick = await p.create(req('from-template', { TemplateName: 'ok' }));
  t.ok(quick.id, 'a VM on another image was built while the download stalled');
  // Two VMs on one URL: one download.
  const [a, b] = await Promise.all([
    p.create(req('url-a', { URL: `${base}/good.qcow2` })),
    p.create(req('url-b', { URL: `${base}/good.qcow2` })),
  ]);
  t.ok(a.id && b.id, 'both built');
  t.equal(hits.filter((h) => h === '/good.qcow2').length, 1, 'the image was downloaded once');
  stalled[0]!.end(good);
  const late = await slow;
  t.ok(late.id, 'the stalled download completed once the server answered');
  for (const id of [quick.id, a.id, b.id, late.id]) await p.delete(id);
  t.same(await vmDirs(), [], 'all deleted');
});
