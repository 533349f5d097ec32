/**
 * The VM uid in the QEMU provider's state: kept in config.json (so a new
 * provider instance reports it), the reserved tag prefix not kept as a
 * tag, clones named only by customize_json, and no second VM of a name.
 */
import t from 'tap';
import { promises as fs } from 'node:fs';
import { createRequest, outcome } from '../../../src/providers/conformance';
import { Layout, QemuProvider } from '../../../src/providers/qemu';
import { UID_TAG_PREFIX, type CreateRequest } from '../../../src/providers/provider';
import { destroyStateDir, qemuPidsUnder, requireQemu, stateDir } from './support';

function small(name: string, over: Partial<CreateRequest> = {}): CreateRequest {
  const base = createRequest(name);
  return { ...base, class: { ...base.class, CPU: 1, MemoryMiB: 64, DiskDefaults: null }, image: { ...base.image, TemplateName: 'blank' }, disks: [], ...over };
}

t.test('QEMU provider: the uid in config.json', async (t) => {
  requireQemu();
  const dir = await stateDir('uid', { blank: { acpi: false } });
  t.teardown(() => destroyStateDir(dir));
  const p = new QemuProvider({ stateDir: dir });
  t.teardown(() => p.close());
  const uid = 'c0a8f3e2-7d41-4b9e-a6f5-2e1d0b9c8a77';

  const { id } = await p.create(small('web', { uid, tags: ['team-a', `${UID_TAG_PREFIX}forged`] }));
  const cfg = JSON.parse(await fs.readFile(new Layout(dir).config(id), 'utf8'));
  t.equal(cfg.uid, uid, 'config.json holds the uid');
  t.same(cfg.tags, ['team-a'], 'and the tags without the reserved uid tag');

  const again = new QemuProvider({ stateDir: dir });
  t.teardown(() => again.close());
  t.equal((await again.describe(id)).uid, uid, 'a new provider instance describes the uid');
  t.same((await again.listVMs()).map((v) => [v.id, v.uid]), [[id, uid]], 'and lists it');

  const dup = await p.create(small('web', { uid: 'd1e2f3a4-0000-4000-8000-000000000001' })).then(() => undefined, (e: Error) => e);
  t.match(dup, { category: 'InvalidSpec', message: `Create: a VM named "web" already exists (id ${id})` }, 'a second VM of the name is refused');
  t.same(await new Layout(dir).ids(), [id], 'no second VM directory');
  t.equal(await outcome(p.create(small('bad', { uid: '../../etc' }))), 'InvalidSpec', 'a uid that is not one is refused');

  const clone = await p.clone({
    sourceVmId: id, targetName: 'web-copy', linked: false, classJson: '', placementJson: '',
    customizeJson: JSON.stringify({ tags: [`${UID_TAG_PREFIX}e5f6a7b8-1111-4222-8333-444455556666`] }),
  });
  const cloneCfg = JSON.parse(await fs.readFile(new Layout(dir).config(clone.targetVmId), 'utf8'));
  t.equal(cloneCfg.uid, 'e5f6a7b8-1111-4222-8333-444455556666', 'a clone keeps the uid customize_json names');
  t.equal((await p.describe(clone.targetVmId)).uid, cloneCfg.uid, 'and describes it');

  await p.delete(clone.targetVmId);
  await p.delete(id);
  t.same(await qemuPidsUnder(dir), [], 'no QEMU left');
});
