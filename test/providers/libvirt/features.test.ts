/**
 * libvirt provider features beyond the conformance suite, on real libvirtd:
 * ImagePrepare (file and http on 127.0.0.1, checksum ok/mismatch), image
 * overlay vs thick copy, seed ISO, memory snapshot, linked/full clones,
 * delete removing volumes, graceful shutdown timing out into destroy.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awaitTask, createRequest } from '../../../src/providers/conformance';
import { hostPolicy as hostPolicyOf, qemuImg, stableMac } from '../../../src/providers/hostutil';
import { LibvirtProvider } from '../../../src/providers/libvirt';
import { isProviderError } from '../../../src/providers/provider';
import { requireHypervisorTools, TEST_POOL, TEST_URI, virsh } from './support';

requireHypervisorTools(t);

const P = `vrx-${randomBytes(2).toString('hex')}`;
const vols = () => virsh('vol-list', '--pool', TEST_POOL).split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter(Boolean);
const small = (name: string, over = {}) => createRequest(name, { class: { ...createRequest(name).class, CPU: 1, MemoryMiB: 64 }, networks: [], disks: [], ...over });

t.test('libvirt provider features', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vr-feat-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  // The operator's policy: images from this test's directory and its HTTP server on 127.0.0.1 only.
  const hostPolicy = hostPolicyOf({ imageRoots: [dir], tempDir: join(dir, 'tmp'), allowedUrlCidrs: ['127.0.0.0/8'] });
  const p = new LibvirtProvider({ uri: TEST_URI, pool: TEST_POOL, shutdownPollMs: 200, hostPolicy });
  t.teardown(() => p.close());
  const image = join(dir, 'img.qcow2');
  await qemuImg.create(image, 32 * 1024 * 1024);
  const body = await readFile(image);
  const sha = createHash('sha256').update(body).digest('hex');
  const server = createServer((req, res) => (req.url === '/img.qcow2' ? res.end(body) : ((res.statusCode = 404), res.end())));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/img.qcow2`;
  const prepared: string[] = [];
  t.teardown(() => { for (const v of prepared) virsh('vol-delete', '--pool', TEST_POOL, v); });

  await t.test('ImagePrepare: local path and http URL, checksums', async (t) => {
    const fromPath = await p.imagePrepare({ imageJson: JSON.stringify({ source: { libvirt: { path: image, checksum: sha } } }), targetName: `${P}-img-path`, storageHint: '' });
    prepared.push(fromPath.preparedImageId);
    t.equal(fromPath.preparedImageId, `${P}-img-path.qcow2`);
    t.ok(vols().includes(fromPath.preparedImageId), 'volume in the pool');
    const fromUrl = await p.imagePrepare({ imageJson: JSON.stringify({ source: { libvirt: { url, checksum: sha, checksumType: 'sha256' } } }), targetName: `${P}-img-url`, storageHint: '' });
    prepared.push(fromUrl.preparedImageId);
    t.match(fromUrl.preparedImagePath, new RegExp(`${P}-img-url.qcow2$`));
    const bad = await p.imagePrepare({ imageJson: JSON.stringify({ source: { http: { url, checksum: '0'.repeat(64) } } }), targetName: `${P}-img-bad`, storageHint: '' }).catch((e) => e);
    t.ok(isProviderError(bad, 'InvalidSpec'), `checksum mismatch is InvalidSpec (${bad.message})`);
    t.notOk(vols().includes(`${P}-img-bad.qcow2`), 'nothing imported on mismatch');
    const badPath = await p.imagePrepare({ imageJson: JSON.stringify({ source: { libvirt: { path: image, checksum: 'ab' } } }), targetName: `${P}-img-bad2`, storageHint: '' }).catch((e) => e);
    t.ok(isProviderError(badPath, 'InvalidSpec'), 'path checksum mismatch is InvalidSpec');
  });

  await t.test('create from a URL image with a seed ISO; memory snapshot; clones; delete removes volumes', async (t) => {
    const req = small(`${P}-a`, {
      image: { TemplateName: '', Path: '', URL: url, Format: 'qcow2', Checksum: sha, ChecksumType: 'sha256' },
      disks: [{ SizeGiB: 1, Type: 'thick', Name: 'd1' }],
      userData: '#cloud-config\nhostname: a\n',
    });
    const { id } = await p.create(req);
    const info = await p.getDiskInfo(id, 'vda', '');
    t.match(info.backingFile, /image-[0-9a-f]{16}\.qcow2$/, 'root is an overlay on the imported image');
    t.match(virsh('dumpxml', id), /<disk type='file' device='cdrom'>[\s\S]*-seed\.iso/, 'seed ISO attached');
    const thick = virsh('vol-info', '--pool', TEST_POOL, `${P}-a-disk-d1.qcow2`);
    t.match(thick, /Allocation:\s+1\.0\d GiB/, 'thick data disk fully allocated');
    const imageVol = info.backingFile.split('/').pop()!;
    prepared.push(imageVol);

    const s = await p.snapshotCreate({ vmId: id, nameHint: 'with-mem', includeMemory: true, description: 'm' });
    t.match(virsh('snapshot-info', id, s.snapshotId), /State:\s+running/, 'checkpoint of a running domain (memory included)');
    await p.power(id, 'Off', 0);
    await p.snapshotRevert(id, s.snapshotId);
    t.equal((await p.describe(id)).powerState, 'On', 'revert to a memory snapshot resumes the running state');

    const linked = await p.clone({ sourceVmId: id, targetName: `${P}-linked`, linked: true, classJson: '', placementJson: '', customizeJson: '' });
    const full = await p.clone({ sourceVmId: id, targetName: `${P}-full`, linked: false, classJson: '', placementJson: '', customizeJson: '' });
    t.match((await p.getDiskInfo(linked.targetVmId, 'vda', '')).backingFile, new RegExp(`${P}-linked-base0\\.qcow2$`), 'linked clone: overlay on a frozen copy');
    t.equal((await p.getDiskInfo(full.targetVmId, 'vda', '')).backingFile, '', 'full clone: no backing file');
    t.ok(isProviderError(await p.clone({ sourceVmId: id, targetName: `${P}-full`, linked: false, classJson: '', placementJson: '', customizeJson: '' }).catch((e) => e), 'InvalidSpec'), 'clone onto an existing name is InvalidSpec');

    for (const x of [linked.targetVmId, full.targetVmId, id]) await p.delete(x);
    t.same(vols().filter((v) => v.startsWith(P) && !prepared.includes(v)), [], 'every VM volume deleted (overlays, frozen base, seed, disks)');
    t.ok(vols().includes(imageVol), 'the prepared image stays');
  });

  await t.test('a static address reaches the guest (network-config in the seed ISO, matched by a stable MAC); qos limits become <bandwidth>', async (t) => {
    const defined = new LibvirtProvider({ uri: TEST_URI, pool: TEST_POOL, startOnCreate: false, hostPolicy });
    t.teardown(() => defined.close());
    const nic = { Portgroup: '', Bridge: '', VLAN: 0, Model: '', MacAddress: '', IPPolicy: '', StaticIP: '', Prefix: 0, Gateway: '', DNS: '', PCISlotNumber: null };
    const name = `${P}-net`;
    const { id } = await defined.create(small(name, {
      class: { ...small('x').class, DiskDefaults: { Type: 'thin', SizeGiB: 1 } }, image: { TemplateName: '', Path: '', URL: '', Format: '', Checksum: '', ChecksumType: '' },
      networks: [
        { ...nic, Name: 'eth0', NetworkName: 'default', IPPolicy: 'static', StaticIP: '10.30.0.7', Prefix: 24, Gateway: '10.30.0.1', DNS: '10.30.0.53,10.30.0.54' },
        { ...nic, Name: 'eth1', NetworkName: 'default', MacAddress: '52:54:00:aa:bb:cc', IngressLimit: 8_000_000, EgressLimit: 16_000_000 },
        { ...nic, Name: 'eth2', NetworkName: 'default', IPPolicy: 'none' },
      ],
    }));
    const xml = virsh('dumpxml', id);
    const macs = [...xml.matchAll(/<mac address='([0-9a-f:]+)'\/>/g)].map((m) => m[1]);
    t.same(macs, [stableMac(name, 0), '52:54:00:aa:bb:cc', stableMac(name, 2)], 'NICs without a MAC got stable ones; the other keeps its own');
    const ifaces = [...xml.matchAll(/<interface[\s\S]*?<\/interface>/g)].map((m) => m[0]);
    t.notMatch(ifaces[0], /<bandwidth>/, 'no qos: no bandwidth limit');
    t.match(ifaces[1], /<bandwidth>\s*<inbound average='1000'\/>\s*<outbound average='2000'\/>\s*<\/bandwidth>/, 'qos 8 Mbit/s in, 16 Mbit/s out: 1000 and 2000 kB/s');
    const iso = virsh('vol-path', '--pool', TEST_POOL, `${name}-seed.iso`).trim();
    const out = join(dir, 'network-config');
    execFileSync('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/network-config', out], { stdio: 'ignore' });
    t.same(JSON.parse(await readFile(out, 'utf8')), {
      network: {
        version: 2,
        ethernets: {
          nic0: { match: { macaddress: stableMac(name, 0) }, dhcp4: false, addresses: ['10.30.0.7/24'], routes: [{ to: 'default', via: '10.30.0.1' }], nameservers: { addresses: ['10.30.0.53', '10.30.0.54'] } },
          nic1: { match: { macaddress: '52:54:00:aa:bb:cc' }, dhcp4: true },
          nic2: { match: { macaddress: stableMac(name, 2) }, dhcp4: false },
        },
      },
    }, 'the seed carries the address, gateway and resolvers for the first NIC, DHCP for the second, no address for the third (ipAllocation None)');
    await defined.delete(id);
    t.same(vols().filter((v) => v.startsWith(name)), [], 'seed and disks deleted with the VM');
  });

  await t.test('an Ignition config goes to the guest through fw_cfg opt/com.coreos/config, not into a cloud-init seed', async (t) => {
    const name = `${P}-ign`;
    const doc = '{"ignition":{"version":"3.4.0"},"passwd":{"users":[{"name":"core"}]}}';
    const { id } = await p.create(small(name, {
      class: { ...small('x').class, DiskDefaults: { Type: 'thin', SizeGiB: 1 } }, image: { TemplateName: '', Path: '', URL: '', Format: '', Checksum: '', ChecksumType: '' },
      userData: doc, userDataFormat: 'ignition',
    }));
    const xml = virsh('dumpxml', id);
    const file = /<sysinfo type='fwcfg'>\s*<entry name='opt\/com\.coreos\/config' file='([^']+)'\/>/.exec(xml)?.[1];
    t.ok(file, 'the domain has the fw_cfg entry');
    t.equal(await readFile(file!, 'utf8'), doc, 'the entry\'s file holds the config');
    t.notMatch(xml, /-seed\.iso/, 'no cloud-init seed');
    const cmdline = execFileSync('pgrep', ['-af', `uuid ${id}`], { encoding: 'utf8' });
    t.match(cmdline, /-fw_cfg name=opt\/com\.coreos\/config,file=/, 'QEMU runs with the fw_cfg file');
    await p.delete(id);
    t.same(vols().filter((v) => v.startsWith(name)), [], 'the config volume is deleted with the VM');
  });

  await t.test('graceful shutdown: a guest ignoring ACPI is destroyed after the timeout', async (t) => {
    const { id } = await p.create(small(`${P}-g`, { class: { ...small('x').class, DiskDefaults: { Type: 'thin', SizeGiB: 1 } }, image: { TemplateName: '', Path: '', URL: '', Format: '', Checksum: '', ChecksumType: '' } }));
    const start = Date.now();
    await awaitTask(p, await p.power(id, 'ShutdownGraceful', 2), 30_000);
    const took = Date.now() - start;
    t.ok(took >= 2000, `waited out the timeout (${took} ms)`);
    t.match(virsh('domstate', '--reason', id), /shut off \(destroyed\)/, 'destroyed after the timeout');
    await p.delete(id);
  });
});
