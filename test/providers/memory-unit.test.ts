import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryProvider, MemoryStore, ipFor, memoryOptionsFromContext, registerMemoryProvider } from '../../src/providers/memory';
import { awaitTask, createRequest, desiredPayload, outcome } from '../../src/providers/conformance';
import { ProviderError, UID_TAG_PREFIX } from '../../src/providers/provider';
import { ProviderRegistry, type ProviderContext } from '../../src/providers/registry';

const tempDir = (t: Test) => {
  const dir = mkdtempSync(join(tmpdir(), 'vr-mem-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

t.test('ids, addresses and console URL are deterministic', async (t) => {
  const a = new MemoryProvider();
  const b = new MemoryProvider();
  const ra = await a.create(createRequest('web'));
  const rb = await b.create(createRequest('web'));
  t.equal(ra.id, 'mem-web-1');
  t.equal(rb.id, ra.id, 'same sequence, same ids');
  const d = await a.describe(ra.id);
  t.same(d.ips, [ipFor('web')]);
  t.match(d.ips[0], /^198\.51\.100\.\d+$/, 'TEST-NET-2 address');
  t.equal(d.consoleURL, `memory://${ra.id}/console`);
  await a.power(ra.id, 'Off', 0);
  t.same((await a.describe(ra.id)).ips, [], 'no address while off');
});

t.test('failNext, failAlways, clear and call counters', async (t) => {
  const p = new MemoryProvider();
  const { id } = await p.create(createRequest('f'));
  p.faults.failNext('Power', new ProviderError('Retryable', 'host busy'), 2);
  t.equal(await outcome(p.power(id, 'Off', 0)), 'Retryable');
  t.equal(await outcome(p.power(id, 'Off', 0)), 'Retryable');
  t.equal(await outcome(p.power(id, 'Off', 0)), 'resolved', 'third call passes');
  t.equal(p.calls.Power, 3, 'every call counted');
  p.faults.failAlways('Describe', new ProviderError('Unauthenticated', 'denied'));
  for (let i = 0; i < 3; i++) t.equal(await outcome(p.describe(id)), 'Unauthenticated');
  p.faults.clear();
  t.equal((await p.describe(id)).powerState, 'Off');
  const errors = p.events.filter((e) => e.outcome === 'error').map((e) => `${e.op}:${e.error}`);
  t.same(errors, ['Power:Retryable', 'Power:Retryable', 'Describe:Unauthenticated', 'Describe:Unauthenticated', 'Describe:Unauthenticated']);
});

t.test('timeout fault hangs until the call deadline', async (t) => {
  const p = new MemoryProvider();
  p.faults.failNext('Validate', 'timeout');
  const start = Date.now();
  const err = await p.validate({ timeoutMs: 80 }).catch((e: unknown) => e);
  t.ok(err instanceof ProviderError && err.category === 'Retryable', 'Retryable');
  t.ok(Date.now() - start >= 70, 'waited for the deadline');
  const ac = new AbortController();
  p.faults.failNext('Validate', 'timeout');
  const pending = p.validate({ signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  t.equal(await outcome(pending), 'Retryable', 'abort ends the hang');
});

t.test('failTask: the task fails and the operation has no effect', async (t) => {
  const p = new MemoryProvider();
  const { id } = await p.create(createRequest('ft'));
  p.faults.failTask('Power', 'host lost power');
  const task = await p.power(id, 'Off', 0);
  t.ok(task, 'a task even in synchronous mode');
  await t.rejects(awaitTask(p, task, 1000), /host lost power/);
  t.equal((await p.describe(id)).powerState, 'On', 'unchanged');
  p.faults.failTask('Power', 'again');
  t.equal(await outcome(p.power('nope', 'Off', 0)), 'NotFound', 'a refused call...');
  await t.rejects(awaitTask(p, await p.power(id, 'Off', 0), 1000), /again/, '...does not use up the task failure');
});

t.test('async tasks complete after N polls or after a delay', async (t) => {
  const polls = new MemoryProvider({ asyncTasks: { completeAfterPolls: 3 } });
  const r = await polls.create(createRequest('a'));
  const seen = [];
  for (let i = 0; i < 3; i++) seen.push((await polls.taskStatus(r.task!)).done);
  t.same(seen, [false, false, true]);
  let now = 1000;
  const timed = new MemoryProvider({ asyncTasks: { completeAfterMs: 500 }, now: () => now });
  const r2 = await timed.create(createRequest('b'));
  t.equal((await timed.taskStatus(r2.task!)).done, false);
  now += 500;
  t.equal((await timed.taskStatus(r2.task!)).done, true);
  t.equal(await outcome(timed.taskStatus({ id: 'nope' })), 'NotFound');
});

t.test('invalid specs, unknown ids, unsupported features', async (t) => {
  const p = new MemoryProvider({ capabilities: { supportsSnapshots: false } });
  t.equal(await outcome(p.create(createRequest('z', { class: { ...createRequest('z').class, MemoryMiB: 0 } }))), 'InvalidSpec');
  t.equal(await outcome(p.delete('nope')), 'NotFound');
  t.equal(await outcome(p.getDiskInfo('nope', '', '')), 'NotFound');
  const { id } = await p.create(createRequest('s'));
  t.equal(await outcome(p.snapshotCreate({ vmId: id, nameHint: 'x', includeMemory: false, description: '' })), 'Unimplemented');
  t.equal(await outcome(p.hardwareUpgrade(id, 10)), 'InvalidSpec', 'no downgrade');
});

t.test('guestExec records commands; exit code from a fault', async (t) => {
  const p = new MemoryProvider();
  const { id } = await p.create(createRequest('g'));
  t.same(await p.guestExec(id, ['systemctl', 'stop', 'app']), { exitCode: 0, output: '' });
  p.faults.execResult({ exitCode: 3, output: 'failed' });
  t.same(await p.guestExec(id, ['false']), { exitCode: 3, output: 'failed' });
  t.same(p.vms()[id]!.execLog, [['systemctl', 'stop', 'app'], ['false']]);
});

t.test('export, import and disk info are consistent', async (t) => {
  const p = new MemoryProvider();
  const { id } = await p.create(createRequest('m'));
  const base = { credentials: {}, backendType: 'pvc', transferMode: 'relay', storageOptionsJson: '' };
  const url = 'pvc://staging/vmmigrations/ns/m/export.qcow2';
  const ex = await p.exportDisk({ ...base, url, format: 'qcow2', vmId: id, diskId: '', snapshotId: '', compress: false });
  const info = await p.getDiskInfo(id, '', '');
  t.equal(ex.estimatedSizeBytes, info.virtualSizeBytes);
  const im = await p.importDisk({ ...base, url, format: 'qcow2', storageHint: '', targetName: 'm-migrated', verifyChecksum: true, expectedChecksum: ex.checksum });
  t.equal(im.checksum, ex.checksum);
  t.equal(await outcome(p.importDisk({ ...base, url, format: 'qcow2', storageHint: '', targetName: 'x', verifyChecksum: true, expectedChecksum: 'bad' })), 'InvalidSpec');
  t.equal(await outcome(p.exportDisk({ ...base, url, format: 'vhdx', vmId: id, diskId: '', snapshotId: '', compress: false })), 'InvalidSpec');
  const img = await p.imagePrepare({ imageJson: '{"source":{"http":{"url":"https://example.org/x.qcow2"}}}', targetName: 'ubuntu', storageHint: '' });
  t.equal(img.preparedImageId, 'img-ubuntu');
});

t.test('two instances on one state file see the same VMs', async (t) => {
  const file = join(tempDir(t), 'state', 'p.json');
  const a = new MemoryProvider({ stateFile: file, asyncTasks: true });
  const r = await a.create(createRequest('shared'));
  const b = new MemoryProvider({ stateFile: file });
  t.equal((await b.describe(r.id)).exists, true, 'b sees a VM made by a');
  t.same((await b.taskStatus(r.task!)).done, false, 'and its task');
  await b.reconfigure(r.id, desiredPayload(createRequest('shared'), 6, 8192));
  t.equal((await a.describe(r.id)).cpu, 6, 'a sees b\'s change');
  await t.rejects(b.create(createRequest('shared')), { category: 'InvalidSpec', message: `Create: a VM named "shared" already exists (id ${r.id})` },
    'a create of the name through another instance is refused');
  const c = new MemoryProvider({ stateFile: file });
  t.equal((await c.create(createRequest('third'))).id, 'mem-third-3', 'the id counter is shared (1: VM, 2: its task; the refused create takes none)');
  t.equal(JSON.parse(readFileSync(file, 'utf8')).version, 1);
  t.same(readdirSync(join(file, '..')), ['p.json'], 'no temp files left');
  const store = new MemoryStore();
  const x = new MemoryProvider({ store });
  const y = new MemoryProvider({ store });
  await x.create(createRequest('in-process'));
  t.equal((await y.listVMs()).length, 1, 'a shared store works within a process');
});

t.test('registry factory: endpoint options, credentials, state dir', async (t) => {
  const dir = tempDir(t);
  const ctx: ProviderContext = {
    namespace: 'ns1', name: 'lab', type: 'libvirt', endpoint: 'memory://lab?asyncTasks=1&completeAfterPolls=2&snapshots=0&initialPowerState=Off',
    credentials: { username: 'u', password: 'p' }, defaults: {}, insecureSkipVerify: false,
    instance: { name: 'test', driver: 'memory', namespaces: ['ns1'], memory: { stateDir: dir } },
  };
  const opts = memoryOptionsFromContext(ctx);
  t.same(opts.asyncTasks, { completeAfterMs: undefined, completeAfterPolls: 2 });
  t.equal(opts.stateFile, join(dir, 'ns1-lab.json'));
  t.equal(opts.initialPowerState, 'Off');
  const reg = registerMemoryProvider(new ProviderRegistry());
  t.ok(reg.has('memory'));
  const p = await reg.build('memory', ctx);
  t.same(await p.validate(), { ok: true, message: '' });
  t.equal((await p.getCapabilities()).supportsSnapshots, false);
  const noUser = await reg.build('memory', { ...ctx, credentials: { password: 'p' } });
  const v = await noUser.validate();
  t.equal(v.ok, false);
  t.match(v.message, /username/);
});

t.test('uid: stored with the VM, in the state file, reported; create is not idempotent by name', async (t) => {
  const file = join(tempDir(t), 'p.json');
  const p = new MemoryProvider({ stateFile: file });
  const uid = '6f1c1a52-8f3e-4c1e-9d5e-0d6c1f7a2b10';
  const { id } = await p.create(createRequest('web', { uid }));
  t.equal(JSON.parse(readFileSync(file, 'utf8')).vms[id].uid, uid, 'the uid is in the state file');
  const fresh = new MemoryProvider({ stateFile: file });
  t.equal((await fresh.describe(id)).uid, uid, 'describe reports it (another instance, from the file)');
  t.same((await fresh.listVMs()).map((v) => [v.name, v.uid]), [['web', uid]], 'listVMs reports it');

  const err = await p.create(createRequest('web', { uid: 'another-uid' })).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof ProviderError, 'a ProviderError');
  t.equal((err as ProviderError).category, 'InvalidSpec');
  t.equal((err as ProviderError).operation, 'Create');
  t.equal((err as ProviderError).message, `Create: a VM named "web" already exists (id ${id})`);
  t.same(Object.keys(p.vms()), [id], 'no second VM');
  t.equal(p.vms()[id]!.uid, uid, 'the first keeps its uid');

  // A uid tag among the tags (spec.tags are the tenant's) claims nothing and is not kept.
  const tagged = await p.create(createRequest('tagged', { tags: ['conformance', `${UID_TAG_PREFIX}${uid}`] }));
  t.equal((await p.describe(tagged.id)).uid, undefined, 'a uid tag is not a uid');
  t.same(p.vms()[tagged.id]!.tags, ['conformance'], 'the uid tag is not stored as a tag');
  const plain = await p.create(createRequest('plain'));
  t.equal((await p.describe(plain.id)).uid, undefined, 'no uid given, none reported');
  t.notOk('uid' in p.vms()[plain.id]!, 'and none stored');
  t.equal(await outcome(p.create(createRequest('bad', { uid: 'a b</uid>' }))), 'InvalidSpec', 'a uid with markup is refused');

  const clone = await p.clone({ sourceVmId: id, targetName: 'web-copy', linked: false, classJson: '', placementJson: '', customizeJson: '' });
  t.equal((await p.describe(clone.targetVmId)).uid, undefined, 'a clone does not inherit the source uid');
  const named = await p.clone({
    sourceVmId: id, targetName: 'web-named', linked: true, classJson: '', placementJson: '',
    customizeJson: JSON.stringify({ hostname: 'x', tags: ['a', `${UID_TAG_PREFIX}clone-uid`] }),
  });
  t.equal((await p.describe(named.targetVmId)).uid, 'clone-uid', 'a clone gets the uid customize_json names');
});

t.test('state survives a SIGKILLed process', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'p.json');
  const script = join(dir, 'child.ts');
  const mod = join(__dirname, '../../src/providers/memory');
  writeFileSync(script, `
    import { MemoryProvider } from ${JSON.stringify(mod)};
    import { createRequest } from ${JSON.stringify(join(__dirname, '../../src/providers/conformance'))};
    (async () => {
      const p = new MemoryProvider({ stateFile: ${JSON.stringify(file)} });
      const { id } = await p.create(createRequest('survivor'));
      await p.power(id, 'Off', 0);
      process.stdout.write('ready\\n');
      setInterval(() => undefined, 1000);
    })();
  `);
  const child = spawn(process.execPath, ['--import=tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const p = new MemoryProvider({ stateFile: file });
  const vms = await p.listVMs();
  t.same(vms.map((v) => [v.name, v.powerState]), [['survivor', 'Off']]);
});
