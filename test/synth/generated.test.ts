import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { parseAllDocuments } from 'yaml';
import { ALL_KINDS } from '../../src/api/v1beta1';
import { renderOutputs } from '../../src/synth/outputs';
import { runCdk8sImport } from '../../src/synth/imports';

const root = path.resolve(__dirname, '..', '..');

t.test('generated files are up to date (run `npm run synth` when this fails)', async (t) => {
  const files = await renderOutputs(ALL_KINDS);
  t.ok(files.size >= 10 + 1 + 10 + 11, `${files.size} files rendered`);
  for (const [rel, content] of files) {
    const abs = path.join(root, rel);
    t.ok(fs.existsSync(abs), `${rel} exists`);
    if (fs.existsSync(abs)) t.ok(fs.readFileSync(abs, 'utf8') === content, `${rel} is up to date`);
  }
});

t.test('synthesis is deterministic', async (t) => {
  const a = await renderOutputs(ALL_KINDS);
  const b = await renderOutputs(ALL_KINDS);
  t.same([...a.keys()], [...b.keys()]);
  for (const [k, v] of a) t.ok(b.get(k) === v, `${k} byte-identical`);
});

t.test('imports/ is what `cdk8s import` makes of dist/crds.yaml', async (t) => {
  const imports = runCdk8sImport(root);
  t.same([...imports.keys()], ['imports/infra.virtrigaud.io.ts']);
  for (const [rel, content] of imports) t.ok(fs.readFileSync(path.join(root, rel), 'utf8') === content, `${rel} is up to date`);
  const cfg = fs.readFileSync(path.join(root, 'cdk8s.yaml'), 'utf8');
  t.match(cfg, /imports:\n\s+- dist\/crds\.yaml/, 'cdk8s.yaml records the import');
});

t.test('the combined CRD file holds all ten CRDs', async (t) => {
  const docs = parseAllDocuments(fs.readFileSync(path.join(root, 'dist/crds.yaml'), 'utf8')).map((d) => d.toJS());
  t.same(docs.map((d) => d.metadata.name), ALL_KINDS.map((k) => k.crdName));
  for (const d of docs) t.equal(d.kind, 'CustomResourceDefinition');
});

t.test('JSON Schemas accept the seed examples and reject mistakes', async (t) => {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validators = new Map<string, ReturnType<typeof ajv.compile>>();
  for (const k of ALL_KINDS) {
    const file = path.join(root, 'schemas', k.group, `${k.kind.toLowerCase()}_${k.version}.json`);
    validators.set(k.kind, ajv.compile(JSON.parse(fs.readFileSync(file, 'utf8'))));
  }
  const docs = parseAllDocuments(fs.readFileSync(path.join(root, 'examples/manifests/vsphere-web-server.yaml'), 'utf8')).map((d) => d.toJS());
  t.equal(docs.length, 5);
  for (const d of docs) {
    const v = validators.get(d.kind)!;
    t.ok(v(d), `${d.kind}/${d.metadata.name} is valid: ${ajv.errorsText(v.errors)}`);
  }
  const vm = structuredClone(docs.find((d) => d.kind === 'VirtualMachine'));
  vm.spec.disks[0].sizeGiB = 0;
  vm.spec.bogus = true;
  const v = validators.get('VirtualMachine')!;
  t.notOk(v(vm));
  const where = (v.errors ?? []).map((e) => `${e.instancePath} ${e.keyword}`);
  t.ok(where.includes('/spec/disks/0/sizeGiB minimum'), 'sizeGiB below minimum');
  t.ok(where.includes('/spec additionalProperties'), 'unknown field is an error (strict)');
});
