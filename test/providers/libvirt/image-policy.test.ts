/**
 * The libvirt provider under the operator's HostPolicy, on real libvirtd
 * (qemu:///system) and qemu-img: local image paths confined to the roots,
 * images with a backing file or an external data file refused (given and
 * downloaded), URL and file:// sources refused by default, the size cap;
 * and pool volumes as a remote host's paths are checked (lexically under
 * the roots, a volume, standalone), templates never being a VM's volume.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequest } from '../../../src/providers/conformance';
import { hostPolicy, type HostPolicy } from '../../../src/providers/hostutil';
import { prepareImage } from '../../../src/providers/libvirt/image';
import { Pool } from '../../../src/providers/libvirt/storage';
import { Virsh } from '../../../src/providers/libvirt/virsh';
import { LibvirtProvider } from '../../../src/providers/libvirt';
import { isProviderError } from '../../../src/providers/provider';
import { requireHypervisorTools, TEST_POOL, TEST_URI, virsh } from './support';

requireHypervisorTools(t);

const P = `vrpol-${randomBytes(2).toString('hex')}`;
const mine = () => virsh('vol-list', '--pool', TEST_POOL).split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((v) => v.startsWith(P));
const img = (...args: string[]) => execFileSync('qemu-img', args, { stdio: 'pipe' });

let dir: string;
let roots: string;
let policy: HostPolicy;

t.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vr-lvpol-'));
  await chmod(dir, 0o755);
  roots = join(dir, 'images');
  await mkdir(roots);
  policy = hostPolicy({ imageRoots: [roots], tempDir: join(dir, 'tmp'), allowedUrlCidrs: ['127.0.0.0/8'] });
  img('create', '-q', '-f', 'qcow2', join(roots, 'good.qcow2'), '16M');
  img('create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', join(roots, 'backed.qcow2'));
  img('create', '-q', '-f', 'qcow2', '-o', `data_file=${join(dir, 'data.raw')}`, join(roots, 'data.qcow2'), '1M');
  await symlink('/etc/passwd', join(roots, 'passwd.img'));
});
t.teardown(async () => {
  for (const v of mine()) virsh('vol-delete', '--pool', TEST_POOL, v);
  await rm(dir, { recursive: true, force: true });
});

const prep = (p: LibvirtProvider, source: Record<string, string>, target: string) =>
  p.imagePrepare({ imageJson: JSON.stringify({ source: { libvirt: source } }), targetName: `${P}-${target}`, storageHint: '' });

t.test('local paths and URLs through the provider', async (t) => {
  const p = new LibvirtProvider({ uri: TEST_URI, pool: TEST_POOL, hostPolicy: policy });
  t.teardown(() => p.close());
  const refused = async (source: Record<string, string>, pattern: RegExp, what: string, provider = p) => {
    const e = await prep(provider, source, 'refused').catch((x) => x);
    t.ok(isProviderError(e, 'InvalidSpec'), `${what}: InvalidSpec`);
    t.match(e.message, pattern, what);
  };
  await refused({ path: '/etc/shadow' }, /image path "\/etc\/shadow" is outside the image roots allowed by the operator/, 'a host file');
  await refused({ path: `${roots}/../../../etc/shadow` }, /must not contain "\.\." segments/, 'a ".." escape');
  await refused({ path: join(roots, 'passwd.img') }, /resolves to "\/etc\/passwd"\) is outside the image roots/, 'a symlink escape');
  await refused({ path: join(roots, 'backed.qcow2'), format: 'qcow2' }, /image path ".*backed\.qcow2" has a backing file/, 'a qcow2 backed by /etc/passwd');
  await refused({ path: join(roots, 'data.qcow2') }, /has an external data file/, 'a qcow2 with an external data file');

  const body = await readFile(join(roots, 'backed.qcow2'));
  const server = createServer((rq, res) => (rq.url === '/backed.qcow2' ? res.end(body) : ((res.statusCode = 404), res.end())));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/backed.qcow2`;
  await refused({ url }, /image URL "http:\/\/127\.0\.0\.1:\d+\/backed\.qcow2" has a backing file/, 'a downloaded qcow2 backed by /etc/passwd');
  await refused({ url: pathToFileURL(join(roots, 'good.qcow2')).href }, /does not allow file:\/\/ image URLs/, 'file:// by default');

  const deny = new LibvirtProvider({ uri: TEST_URI, pool: TEST_POOL });
  t.teardown(() => deny.close());
  await refused({ path: join(roots, 'good.qcow2') }, /the operator allows no local image paths/, 'the default policy: no path', deny);
  await refused({ url }, /the operator allows no URL image sources/, 'the default policy: no URL', deny);

  const capped = new LibvirtProvider({ uri: TEST_URI, pool: TEST_POOL, hostPolicy: hostPolicy({ ...policy, maxImageBytes: 1024 }) });
  t.teardown(() => capped.close());
  await writeFile(join(roots, 'big.img'), Buffer.alloc(64 * 1024));
  await refused({ path: join(roots, 'big.img') }, /is 65536 bytes, more than the 1024 bytes allowed by the operator \(maxImageBytes\)/, 'a local file over the cap', capped);

  t.same(mine(), [], 'no volume was imported');
  t.same(await readdir(join(dir, 'tmp')), [], 'no temporary file left');

  // Create refuses the same way and leaves no volume behind.
  const e = await p.create(createRequest(`${P}-vm`, {
    class: { ...createRequest('x').class, CPU: 1, MemoryMiB: 64 }, networks: [], disks: [],
    image: { TemplateName: '', Path: join(roots, 'backed.qcow2'), URL: '', Format: 'qcow2', Checksum: '', ChecksumType: 'sha256' },
  })).catch((x) => x);
  t.match(e.message, /has a backing file/, 'Create with a backed image is refused');
  t.same(mine(), [], 'and leaves no root volume');

  const ok = await prep(p, { path: join(roots, 'good.qcow2'), format: 'qcow2' }, 'good');
  t.equal(ok.preparedImageId, `${P}-good.qcow2`, 'a confined, standalone image is imported');
});

t.test('pool volumes: remote paths and templates', async (t) => {
  const pool = new Pool(new Virsh(TEST_URI), TEST_POOL, `/var/lib/libvirt/images/${TEST_POOL}`);
  await pool.ensure();
  const poolDir = (await pool.info(`${P}-good.qcow2`))?.path.replace(/\/[^/]+$/, '') ?? `/var/lib/libvirt/images/${TEST_POOL}`;
  const remote = hostPolicy({ ...policy, imageRoots: [poolDir] });
  const o = { remote: true, policy: remote, operation: 'ImagePrepare' };
  await pool.overlay(`${P}-overlay.qcow2`, join(poolDir, `${P}-good.qcow2`), 'qcow2', 16 * 1024 * 1024);
  await pool.upload(`${P}-data.qcow2`, join(roots, 'data.qcow2'));
  await pool.upload(`${P}-victim-root.qcow2`, join(roots, 'good.qcow2'));

  const good = await prepareImage(pool, { path: join(poolDir, `${P}-good.qcow2`) }, o);
  t.equal(good?.volume, `${P}-good.qcow2`, 'a standalone volume under the roots is used as it is');
  const rejects = async (src: Record<string, string>, pattern: RegExp, what: string, opts = o) => {
    const e = await prepareImage(pool, src, opts).catch((x) => x);
    t.ok(isProviderError(e, 'InvalidSpec'), `${what}: InvalidSpec`);
    t.match(e?.message, pattern, what);
  };
  await rejects({ path: join(poolDir, `${P}-overlay.qcow2`) }, /has a backing file/, 'a volume with a backing store');
  await rejects({ path: join(poolDir, `${P}-data.qcow2`) }, /has an external data file/, 'a volume with an external data file (from its header)');
  await rejects({ path: '/etc/passwd' }, /is outside the image roots allowed by the operator/, 'a path outside the roots');
  await rejects({ path: join(poolDir, `${P}-missing.qcow2`) }, /is not a volume of any storage pool on the libvirt host/, 'a path that is no volume');
  await rejects({ path: `${poolDir}/../${TEST_POOL}/${P}-good.qcow2` }, /must not contain "\.\." segments/, 'a ".." path');
  await rejects({ path: `${P}-good.qcow2` }, /must be an absolute path/, 'a bare volume name');
  await rejects({ path: join(poolDir, `${P}-good.qcow2`) }, /outside the image roots allowed by the operator \(none\)/, 'no roots: no remote path', { ...o, policy: hostPolicy({ tempDir: join(dir, 'tmp') }) });

  const local = { remote: false, policy, operation: 'Create' };
  t.equal(await prepareImage(pool, { templateName: `${P}-victim` }, local), undefined, 'no template of that name');
  t.equal(await prepareImage(pool, { templateName: `${P}-victim-root` }, local), undefined, 'a VM\'s root volume is never a template');
  await rejects({ templateName: `${P}-overlay` }, /template volume ".*-overlay\.qcow2" has a backing file/, 'a template volume with a backing store', local);
  t.equal((await prepareImage(pool, { templateName: `${P}-good` }, local))?.volume, `${P}-good.qcow2`, 'a standalone template volume');
});

t.test('VMImage prepare options: validateChecksum, onMissing Fail and Wait', async (t) => {
  const p = new LibvirtProvider({ uri: TEST_URI, pool: TEST_POOL, hostPolicy: policy });
  t.teardown(() => p.close());
  const withPrepare = (source: Record<string, string>, prepare: Record<string, unknown>, target: string) =>
    p.imagePrepare({ imageJson: JSON.stringify({ source: { libvirt: source }, prepare }), targetName: `${P}-${target}`, storageHint: '' });
  const wrong = { path: join(roots, 'good.qcow2'), format: 'qcow2', checksum: '0'.repeat(64), checksumType: 'sha256' };
  const bad = await withPrepare(wrong, {}, 'sum').catch((x) => x);
  t.ok(isProviderError(bad, 'InvalidSpec'), 'a wrong checksum is refused');
  t.match(bad.message, /checksum/i);
  const skipped = await withPrepare(wrong, { validateChecksum: false }, 'sum');
  t.equal(skipped.preparedImageId, `${P}-sum.qcow2`, 'validateChecksum false: imported without the check');

  // Fail: a URL is never fetched when the volume is not in the pool (the listener counts requests).
  let requests = 0;
  const server = createServer((_rq, res) => { requests++; res.statusCode = 404; res.end(); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/x.qcow2`;
  const fail = await withPrepare({ url }, { onMissing: 'Fail' }, 'url').catch((x) => x);
  t.ok(isProviderError(fail, 'NotFound'), `onMissing Fail: NotFound (${fail.message})`);
  t.match(fail.message, new RegExp(`volume "${P}-url\\.qcow2" is not in pool ${TEST_POOL} and spec\\.prepare\\.onMissing is Fail: not downloading`));
  t.equal(requests, 0, 'no request was made');
  // Once the volume is there (an outside preparer), Fail and Wait use it as it is.
  await withPrepare({ path: join(roots, 'good.qcow2') }, {}, 'url');
  t.equal((await withPrepare({ url }, { onMissing: 'Fail' }, 'url')).preparedImageId, `${P}-url.qcow2`);
  t.equal(requests, 0, 'still no request');

  // Wait: a path under the roots that is not there yet is NotFound (looked at again), not InvalidSpec.
  const later = join(roots, 'later.qcow2');
  const waiting = await withPrepare({ path: later }, { onMissing: 'Wait' }, 'later').catch((x) => x);
  t.ok(isProviderError(waiting, 'NotFound'), `onMissing Wait: NotFound (${waiting.message})`);
  const importing = await withPrepare({ path: later }, {}, 'later').catch((x) => x);
  t.ok(isProviderError(importing, 'InvalidSpec'), 'onMissing Import: a missing path is InvalidSpec');
  const outside = await withPrepare({ path: '/etc/no-such-image.qcow2' }, { onMissing: 'Wait' }, 'later').catch((x) => x);
  t.ok(isProviderError(outside, 'InvalidSpec'), 'a missing path outside the roots is refused, not waited for');
  t.match(outside.message, /outside the image roots/);
  img('create', '-q', '-f', 'qcow2', later, '8M');
  t.equal((await withPrepare({ path: later }, { onMissing: 'Wait' }, 'later')).preparedImageId, `${P}-later.qcow2`, 'taken in once it is there');
});
