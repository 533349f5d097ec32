import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isProviderError } from '../../../src/providers/provider';
import { buildSeedIso, CommandError, download, hostPolicy, qemuImg, run, verifyChecksum } from '../../../src/providers/hostutil';
import { requireHypervisorTools } from './support';

requireHypervisorTools(t);

t.test('hostutil', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vr-hostutil-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));

  await t.test('run: failures carry stderr and a category', async (t) => {
    const e = await run('sh', ['-c', 'echo boom >&2; exit 3'], { classify: () => 'InvalidSpec' }).catch((x) => x);
    t.ok(e instanceof CommandError, 'CommandError');
    t.equal(e.category, 'InvalidSpec');
    t.match(e.message, /boom/);
    t.equal(e.exitCode, 3);
    const slow = await run('sleep', ['5'], { timeoutMs: 100 }).catch((x) => x);
    t.equal(slow.category, 'Retryable', 'timeout is Retryable');
    const missing = await run('no-such-binary-xyz', []).catch((x) => x);
    t.match(missing.message, /hypervisors\.sh/, 'ENOENT names the set-up script');
  });

  await t.test('qemu-img: create, overlay, resize, convert, info', async (t) => {
    const base = join(dir, 'base.qcow2');
    await qemuImg.create(base, 64 * 1024 * 1024);
    const ov = join(dir, 'ov.qcow2');
    await qemuImg.overlay(ov, base);
    const info = await qemuImg.info(ov);
    t.equal(info.format, 'qcow2');
    t.equal(info['backing-filename'], base);
    await qemuImg.resize(ov, 128 * 1024 * 1024);
    t.equal((await qemuImg.info(ov))['virtual-size'], 128 * 1024 * 1024, 'grown');
    const shrink = await qemuImg.resize(ov, 1024 * 1024).catch((x) => x);
    t.ok(isProviderError(shrink, 'InvalidSpec'), 'shrink refused');
    const flat = join(dir, 'flat.qcow2');
    await qemuImg.convert(ov, flat);
    t.equal((await qemuImg.info(flat))['backing-filename'], undefined, 'full copy has no backing file');
    const thick = join(dir, 'thick.raw');
    await qemuImg.create(thick, 8 * 1024 * 1024, { format: 'raw', preallocation: 'full' });
    t.ok((await stat(thick)).blocks * 512 >= 8 * 1024 * 1024, 'thick image allocated');
    const gone = await qemuImg.info(join(dir, 'nope.qcow2')).catch((x) => x);
    t.equal(gone.category, 'NotFound');
  });

  await t.test('seed ISO: volume label cidata with the files', async (t) => {
    const iso = await buildSeedIso(join(dir, 'seed'), { userData: '#cloud-config\nhostname: a\n', metaData: 'instance-id: a\n' });
    const { stdout } = await run('xorriso', ['-indev', iso, '-pvd_info']);
    t.match(stdout, /Volume Id\s*:\s*cidata/);
    const ls = await run('xorriso', ['-indev', iso, '-find', '/', '-type', 'f']);
    t.match(ls.stdout, /user-data/);
    t.match(ls.stdout, /meta-data/);
  });

  await t.test('checksum and download (file:// and http on 127.0.0.1)', async (t) => {
    const src = join(dir, 'img.bin');
    const body = Buffer.from('virtrigaud image bytes');
    await writeFile(src, body);
    const sha = createHash('sha256').update(body).digest('hex');
    t.equal(await verifyChecksum(src, 'sha256', `sha256:${sha.toUpperCase()}`), sha);
    t.ok(isProviderError(await verifyChecksum(src, 'sha256', '00').catch((x) => x), 'InvalidSpec'), 'mismatch is InvalidSpec');

    // The operator's policy: file:// and http only from this test's directory and 127.0.0.1.
    const policy = hostPolicy({ imageRoots: [dir], tempDir: join(dir, 'tmp'), allowedUrlCidrs: ['127.0.0.0/8'], allowFileUrls: true });
    await download(pathToFileURL(src).href, join(dir, 'a.bin'), policy, { checksum: { algo: 'sha256', expected: sha } });
    t.same(await readFile(join(dir, 'a.bin')), body, 'file:// copied');

    const server = createServer((req, res) => {
      if (req.url === '/img.bin') res.end(body);
      else { res.statusCode = 404; res.end(); }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.teardown(() => new Promise<void>((r) => server.close(() => r())));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    await download(`${base}/img.bin`, join(dir, 'b.bin'), policy, { checksum: { algo: 'sha256', expected: sha } });
    t.same(await readFile(join(dir, 'b.bin')), body, 'http downloaded');
    const bad = await download(`${base}/img.bin`, join(dir, 'c.bin'), policy, { checksum: { algo: 'md5', expected: 'ffff' } }).catch((x) => x);
    t.ok(isProviderError(bad, 'InvalidSpec'), 'checksum mismatch is InvalidSpec');
    await t.rejects(stat(join(dir, 'c.bin')), 'no file left behind on mismatch');
    await t.rejects(stat(join(dir, 'c.bin.part')), 'no partial file left behind');
    t.ok(isProviderError(await download(`${base}/missing`, join(dir, 'd.bin'), policy).catch((x) => x), 'InvalidSpec'), '404 is InvalidSpec');
  });
});
