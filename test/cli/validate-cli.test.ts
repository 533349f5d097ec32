/** `virtrigaud validate` as users run it: the bin from package.json, real files, exit codes. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const bin = path.join(root, JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).bin.virtrigaud);
const run = (args: string[], input?: string) => spawnSync(process.execPath, [bin, ...args], { cwd: root, input, encoding: 'utf8' });

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'virtrigaud-cli-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const seed = fs.readFileSync(path.join(root, 'examples/manifests/vsphere-web-server.yaml'), 'utf8');
fs.mkdirSync(path.join(dir, 'ok/nested'), { recursive: true });
fs.writeFileSync(path.join(dir, 'ok/nested/seed.yaml'), seed);
fs.writeFileSync(path.join(dir, 'ok/readme.md'), 'not a manifest');
const vm = seed.split('---\n').pop()!;
fs.writeFileSync(path.join(dir, 'bad.yaml'), vm.replace('sizeGiB: 100', 'sizeGiB: 0'));

t.test('valid directory: exit 0, only manifests are read', async (t) => {
  const r = run(['validate', path.join(dir, 'ok')]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /5 documents in 1 file: 5 valid, 0 invalid, 0 skipped/);
});

t.test('invalid document: exit 1 and an API-server style line', async (t) => {
  const r = run(['validate', path.join(dir, 'bad.yaml')]);
  t.equal(r.status, 1);
  t.match(r.stdout, /bad\.yaml\[0\] VirtualMachine web-server: spec\.disks\[0\]\.sizeGiB: Invalid value: 0: spec\.disks\[0\]\.sizeGiB in body should be greater than or equal to 1/);
});

t.test('JSON output', async (t) => {
  const r = run(['validate', '--output', 'json', path.join(dir, 'bad.yaml')]);
  t.equal(r.status, 1);
  const out = JSON.parse(r.stdout);
  t.equal(out.documents.length, 1);
  t.match(out.documents[0], { index: 0, apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VirtualMachine', name: 'web-server', valid: false });
  t.same(out.documents[0].errors[0], { field: 'spec.disks[0].sizeGiB', type: 'FieldValueInvalid', message: 'Invalid value: 0: spec.disks[0].sizeGiB in body should be greater than or equal to 1' });
});

t.test('standard input and --strict', async (t) => {
  const r = run(['validate', '--strict', '-'], vm.replace('  powerState: "On"', '  powerState: "On"\n  colour: red'));
  t.equal(r.status, 1);
  t.match(r.stdout, /<stdin>\[0\] VirtualMachine web-server: spec\.colour: unknown field "spec\.colour"/);
  const lax = run(['validate', '-'], vm.replace('  powerState: "On"', '  powerState: "On"\n  colour: red'));
  t.equal(lax.status, 0);
  t.match(lax.stdout, /warning: unknown field "spec\.colour"/);
});

t.test('usage and read errors: exit 2', async (t) => {
  t.equal(run(['validate']).status, 2);
  t.equal(run(['validate', '--output', 'xml', 'x.yaml']).status, 2);
  t.equal(run(['validate', '--frobnicate', 'x.yaml']).status, 2);
  const missing = run(['validate', path.join(dir, 'missing.yaml')]);
  t.equal(missing.status, 2);
  t.match(missing.stderr, /missing\.yaml: no such file or directory/);
  t.equal(run(['bogus']).status, 2);
});

t.test('a binary file is one invalid document, not a crash', async (t) => {
  fs.writeFileSync(path.join(dir, 'ok/blob.yaml'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]));
  const r = run(['validate', path.join(dir, 'ok')]);
  t.equal(r.status, 1);
  t.match(r.stdout, /blob\.yaml\[0\]: .*binary/i);
  t.notMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
});

t.test('validate loads no reconciler code and nothing from src/reconciler, src/providers or src/install', async (t) => {
  // the bin's own loading path (tsx/cjs + src/cli/main.ts), then the modules it has loaded
  const probe = `
    require('tsx/cjs');
    const cli = require(${JSON.stringify(path.join(root, 'src/cli/main.ts'))});
    const loaded = () => Object.keys(require.cache).map((f) => require('node:path').relative(${JSON.stringify(root)}, f)).filter((f) => f.startsWith('src/'));
    const before = loaded();
    Promise.resolve(cli.main(['validate', ${JSON.stringify(path.join(dir, 'ok/nested/seed.yaml'))}])).then((code) => {
      process.stderr.write(JSON.stringify({ code, before, after: loaded() }));
    });`;
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8' });
  const report = JSON.parse(r.stderr.slice(r.stderr.lastIndexOf('{"code"')));
  t.equal(report.code, 0, r.stdout);
  t.same(report.before, ['src/cli/main.ts'], 'importing main loads main only');
  t.ok(report.after.includes('src/cli/validate-command.ts'), 'the validate command was loaded when it ran');
  t.same(report.after.filter((f: string) => /^src\/(reconciler|providers|install|operator|testenv)\/|run-command/.test(f)), [], 'no reconciler, provider, install or operator module');
});
