/**
 * Provider conformance: what the reconciler relies on from any Provider,
 * in-process or over the wire. Capability-dependent checks never skip
 * silently: an unsupported feature must be refused with Unimplemented or
 * InvalidSpec, and the suite asserts that instead.
 */
import type { Capabilities, CreateRequest, Provider, VMInfo } from '../provider';
import { uidTag } from '../uid';
import { classPayload, createRequest, desiredPayload, fixtureUid } from './fixtures';
import { awaitTask, outcome, rejectsWith, type ConformanceTest } from './helpers';

export interface ConformanceOptions {
  /** Prefix of the VM names the suite creates (default `conf`). */
  readonly namePrefix?: string;
  /** Timeout of each task (default 10 s). */
  readonly taskTimeoutMs?: number;
}

export interface ProviderUnderTest {
  readonly provider: Provider;
  cleanup(): Promise<void>;
}

const REFUSED = ['Unimplemented', 'InvalidSpec'] as const;

export async function runProviderConformance(
  t: ConformanceTest, makeProvider: () => Promise<ProviderUnderTest>, opts: ConformanceOptions = {},
): Promise<void> {
  const put = await makeProvider();
  t.teardown(() => put.cleanup());
  const p = put.provider;
  const prefix = opts.namePrefix ?? 'conf';
  const wait = (task: Parameters<typeof awaitTask>[1]) => awaitTask(p, task, opts.taskTimeoutMs);
  const caps: Capabilities = await p.getCapabilities();

  /** Creates a VM, waits for it, and returns its id and request. */
  const make = async (suffix: string, over: Partial<CreateRequest> = {}) => {
    const req = createRequest(`${prefix}-${suffix}`, over);
    const r = await p.create(req);
    await wait(r.task);
    return { id: r.id, req };
  };
  const named = async (name: string): Promise<VMInfo[]> => (await p.listVMs()).filter((v) => v.name === name);
  /** CPU and memory as observed: Describe when it reports them (in-process), else ListVMs (the wire). */
  const size = async (id: string) => {
    const d = await p.describe(id);
    if (d.cpu !== undefined && d.memoryMiB !== undefined) return { cpu: d.cpu, memoryMiB: d.memoryMiB };
    const v = (await p.listVMs()).find((x) => x.id === id);
    return { cpu: v?.cpu, memoryMiB: v?.memoryMiB };
  };

  await t.test('validate and capabilities', async (t: ConformanceTest) => {
    const v = await p.validate();
    t.equal(v.ok, true, `validate ok (${v.message})`);
    for (const [k, val] of Object.entries(caps)) {
      t.ok(k.startsWith('supported') ? Array.isArray(val) : typeof val === 'boolean', `capability ${k} well-typed`);
    }
  });

  await t.test('create, describe, list', async (t: ConformanceTest) => {
    const { id, req } = await make('basic');
    t.ok(id, 'create returns an id');
    const d = await p.describe(id);
    t.equal(d.exists, true, 'describe: exists');
    t.ok(['On', 'Off'].includes(d.powerState), `power state On or Off (${d.powerState})`);
    t.ok(d.ips.every((ip) => typeof ip === 'string'), 'ips are strings');
    t.equal(typeof d.providerRaw, 'object', 'providerRaw is an object');
    const listed = await named(req.name);
    t.equal(listed.length, 1, 'listVMs shows the VM once');
    t.equal(listed[0]?.id, id, 'listVMs id matches');
    await wait(await p.delete(id));
  });

  await t.test('create with a uid: describe and listVMs report it', async (t: ConformanceTest) => {
    const uid = fixtureUid();
    const { id, req } = await make('uid', { uid });
    const d = await p.describe(id);
    t.equal(d.uid, uid, 'describe reports the uid of the create');
    const listed = await named(req.name);
    t.equal(listed.length, 1, 'listVMs shows the VM once');
    t.equal(listed[0]?.uid, uid, 'listVMs reports the uid of the create');
    const plain = await make('no-uid');
    t.equal((await p.describe(plain.id)).uid, undefined, 'a VM created without a uid reports none (describe)');
    t.equal((await named(plain.req.name))[0]?.uid, undefined, 'a VM created without a uid reports none (listVMs)');
    for (const x of [id, plain.id]) await wait(await p.delete(x));
  });

  await t.test('create of a name that exists fails and leaves that VM alone', async (t: ConformanceTest) => {
    const uid = fixtureUid();
    const first = await make('twice', { uid });
    const before = await p.describe(first.id);
    // Another tenant's VirtualMachine of the same name: it must not be handed the first one's VM.
    const other = fixtureUid();
    await rejectsWith(t, p.create({ ...first.req, uid: other, class: classPayload(3, 3072) }).then((r) => wait(r.task)), ['InvalidSpec'], 'second create of the name');
    const listed = await named(first.req.name);
    t.equal(listed.length, 1, 'still one VM with that name');
    t.equal(listed[0]?.id, first.id, 'and it is the first one');
    t.equal(listed[0]?.uid, uid, 'with the first uid');
    const after = await p.describe(first.id);
    t.equal(after.exists, true, 'the first VM still exists');
    t.equal(after.uid, uid, 'describe: the first uid');
    t.equal(after.powerState, before.powerState, 'power state untouched');
    t.same(await size(first.id), { cpu: first.req.class.CPU, memoryMiB: first.req.class.MemoryMiB }, 'size untouched');
    await wait(await p.delete(first.id));
  });

  await t.test('power operations', async (t: ConformanceTest) => {
    const { id } = await make('power');
    const step = async (op: Parameters<Provider['power']>[1], want: string) => {
      await wait(await p.power(id, op, op === 'ShutdownGraceful' ? 60 : 0));
      t.equal((await p.describe(id)).powerState, want, `${op} -> ${want}`);
    };
    await step('Off', 'Off');
    await step('On', 'On');
    await step('ShutdownGraceful', 'Off');
    await step('On', 'On');
    await step('Reboot', 'On');
    await wait(await p.delete(id));
  });

  await t.test('reconfigure cpu and memory', async (t: ConformanceTest) => {
    const { id, req } = await make('resize');
    await wait(await p.reconfigure(id, desiredPayload(req, 3, 3072)));
    t.same(await size(id), { cpu: 3, memoryMiB: 3072 }, 'new size observed');
    await rejectsWith(t, p.reconfigure(id, desiredPayload(req, 0, 3072)), ['InvalidSpec'], 'reconfigure to CPU 0');
    await wait(await p.delete(id));
  });

  await t.test('snapshots', async (t: ConformanceTest) => {
    const { id, req } = await make('snap');
    const snapReq = { vmId: id, nameHint: 'before-resize', includeMemory: false, description: 'conformance' };
    if (!caps.supportsSnapshots) {
      t.comment('provider reports supportsSnapshots=false: snapshot calls must be refused');
      await rejectsWith(t, p.snapshotCreate(snapReq), REFUSED, 'snapshotCreate unsupported');
      await rejectsWith(t, p.snapshotRevert(id, 'none'), [...REFUSED, 'NotFound'], 'snapshotRevert unsupported');
      await rejectsWith(t, p.snapshotDelete(id, 'none'), [...REFUSED, 'NotFound'], 'snapshotDelete unsupported');
    } else {
      const s = await p.snapshotCreate(snapReq);
      await wait(s.task);
      t.ok(s.snapshotId, 'snapshot id');
      await wait(await p.reconfigure(id, desiredPayload(req, 4, 4096)));
      await wait(await p.snapshotRevert(id, s.snapshotId));
      t.same(await size(id), { cpu: req.class.CPU, memoryMiB: req.class.MemoryMiB }, 'revert restores the size');
      await wait(await p.snapshotDelete(id, s.snapshotId));
      await rejectsWith(t, p.snapshotRevert(id, s.snapshotId), ['NotFound'], 'revert to a deleted snapshot');
      await rejectsWith(t, p.snapshotDelete(id, 'no-such-snapshot'), ['NotFound'], 'delete of an unknown snapshot');
    }
    await wait(await p.delete(id));
  });

  await t.test('clone', async (t: ConformanceTest) => {
    const { id, req } = await make('src', { uid: fixtureUid() });
    const base = { sourceVmId: id, classJson: '', placementJson: '', customizeJson: '' };
    // class_json of a Clone is a VMClass spec with the CRD's keys (memory a quantity), not the Create payload.
    const classJson = JSON.stringify({ cpu: 1, memory: '1Gi', firmware: 'BIOS', diskDefaults: { type: 'thin', size: '20Gi' } });
    const full = await p.clone({ ...base, classJson, targetName: `${prefix}-full`, linked: false });
    await wait(full.task);
    t.equal((await p.describe(full.targetVmId)).exists, true, 'full clone exists');
    t.same(await size(full.targetVmId), { cpu: 1, memoryMiB: 1024 }, 'full clone: the size class_json names (cpu 1, memory 1Gi)');
    t.same(await size(id), { cpu: req.class.CPU, memoryMiB: req.class.MemoryMiB }, 'the source keeps its size');
    await rejectsWith(t, p.clone({ ...base, classJson: JSON.stringify({ cpu: 2, memory: 'lots' }), targetName: `${prefix}-badsize`, linked: false }), ['InvalidSpec'], 'clone with a memory that is not a quantity');
    t.equal((await named(`${prefix}-badsize`)).length, 0, 'no VM left behind by a refused clone');
    t.equal((await named(`${prefix}-full`)).length, 1, 'full clone listed');
    // A clone is another VM: it must not pass for its source (CloneRequest carries no uid).
    t.equal((await p.describe(full.targetVmId)).uid, undefined, 'full clone: no uid (not the source\'s)');
    t.equal((await named(`${prefix}-full`))[0]?.uid, undefined, 'full clone listed without a uid');
    const ids = [full.targetVmId];
    if (caps.supportsLinkedClones) {
      const cloneUid = fixtureUid();
      const linked = await p.clone({ ...base, targetName: `${prefix}-linked`, linked: true, customizeJson: JSON.stringify({ tags: [uidTag(cloneUid)] }) });
      await wait(linked.task);
      t.equal((await p.describe(linked.targetVmId)).exists, true, 'linked clone exists');
      t.equal((await p.describe(linked.targetVmId)).uid, cloneUid, 'linked clone: the uid customize_json names');
      t.equal((await named(`${prefix}-linked`))[0]?.uid, cloneUid, 'linked clone listed with that uid');
      t.same(await size(linked.targetVmId), { cpu: req.class.CPU, memoryMiB: req.class.MemoryMiB }, 'linked clone without class_json: the source\'s size');
      ids.push(linked.targetVmId);
    } else {
      await rejectsWith(t, p.clone({ ...base, targetName: `${prefix}-linked`, linked: true }), REFUSED, 'linked clone unsupported');
      const cloneUid = fixtureUid();
      const second = await p.clone({ ...base, targetName: `${prefix}-full2`, linked: false, customizeJson: JSON.stringify({ tags: [uidTag(cloneUid)] }) });
      await wait(second.task);
      t.equal((await p.describe(second.targetVmId)).uid, cloneUid, 'full clone: the uid customize_json names');
      t.equal((await named(`${prefix}-full2`))[0]?.uid, cloneUid, 'full clone listed with that uid');
      t.same(await size(second.targetVmId), { cpu: req.class.CPU, memoryMiB: req.class.MemoryMiB }, 'full clone without class_json: the source\'s size');
      ids.push(second.targetVmId);
    }
    await rejectsWith(t, p.clone({ ...base, sourceVmId: 'no-such-vm', targetName: `${prefix}-x`, linked: false }), ['NotFound'], 'clone of an unknown VM');
    for (const x of [...ids, id]) await wait(await p.delete(x));
  });

  await t.test('unknown ids', async (t: ConformanceTest) => {
    const d = await p.describe('no-such-vm');
    t.equal(d.exists, false, 'describe of an unknown id answers exists=false (no error)');
    await rejectsWith(t, p.power('no-such-vm', 'On', 0), ['NotFound'], 'power of an unknown id');
    await rejectsWith(t, p.reconfigure('no-such-vm', desiredPayload(createRequest('x'), 2, 2048)), ['NotFound'], 'reconfigure of an unknown id');
  });

  await t.test('invalid specs', async (t: ConformanceTest) => {
    await rejectsWith(t, p.create(createRequest(`${prefix}-cpu0`, { class: { ...createRequest('x').class, CPU: 0 } })), ['InvalidSpec'], 'create with CPU 0');
    t.equal((await named(`${prefix}-cpu0`)).length, 0, 'no VM left behind by a refused create');
  });

  await t.test('delete', async (t: ConformanceTest) => {
    const { id } = await make('gone');
    await wait(await p.delete(id));
    t.equal((await p.describe(id)).exists, false, 'deleted VM does not exist');
    // Success is as good as NotFound: the reconciler treats both as "gone".
    const second = await outcome(p.delete(id).then((task) => wait(task)));
    t.ok(second === 'resolved' || second === 'NotFound', `second delete succeeds or answers NotFound (got ${second})`);
  });
}
