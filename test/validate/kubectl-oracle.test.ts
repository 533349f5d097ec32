/**
 * Hostile manifests judged by the real kubectl (`create --dry-run=server`,
 * so kubectl's own decoding and the real kube-apiserver's validation) and by
 * our validator: same verdict, and for API errors the same `field: message`
 * lines (issue 19).
 */
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { useControlPlane, type ControlPlane } from '../../src/testenv';
import { validateText, type DocumentResult } from '../../src/validate';
import { decodeStream } from '../../src/validate/yaml';
import { requestBodyBytes } from '../../src/validate/request-size';

const NS = `kubectl-oracle-${process.pid}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubectl-oracle-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

export interface KubectlVerdict {
  readonly code: number;
  /** `field: message` lines of API errors (`<nil>` for fieldless causes), sorted. */
  readonly causes: string[];
  readonly stderr: string;
  readonly stdout: string;
}

let files = 0;

/** kubectl create --dry-run=server of `content` as a file. */
export async function kubectlVerdict(cp: ControlPlane, content: string | Uint8Array, strict: boolean): Promise<KubectlVerdict> {
  const file = path.join(dir, `doc-${++files}.yaml`);
  fs.writeFileSync(file, content);
  const r = await cp.kubectl(['create', '--dry-run=server', `--validate=${strict ? 'strict' : 'false'}`, '-n', NS, '-o', 'name', '-f', file]);
  const causes: string[] = [];
  for (const line of r.stderr.split('\n')) {
    const m = /^The \S+ "[^"]*" is invalid: (.*)$/.exec(line);
    if (m && m[1]!.trim()) causes.push(m[1]!.trim());
    else if (line.startsWith('* ')) causes.push(line.slice(2));
  }
  return { code: r.code, causes: causes.sort(), stderr: r.stderr, stdout: r.stdout };
}

export function ourCauses(r: DocumentResult): string[] {
  return r.errors.map((e) => `${e.field || '<nil>'}: ${e.message}`).sort();
}

const vm = (resources: string) => `apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: v
spec:
  providerRef: {name: p}
  classRef: {name: c}
  imageRef: {name: i}
  resources:
${resources}
`;

/** Same verdict and the same API error lines for a one-document file. */
async function same(t: Test, cp: ControlPlane, label: string, content: string, strict = false): Promise<void> {
  const k = await kubectlVerdict(cp, content, strict);
  const ours = validateText(content, { strict });
  t.equal(ours.length, 1, `${label}: one document`);
  t.equal(ours[0]!.valid, k.code === 0, `${label}: kubectl ${k.code === 0 ? 'accepts' : `rejects (${k.stderr.trim().split('\n')[0]})`}`);
  if (k.code !== 0) t.same(ourCauses(ours[0]!), k.causes, `${label}: the API server's error lines`);
}

t.test('kubectl and the API server', async (t) => {
  const cp = await useControlPlane(t);
  await cp.applyCrds([path.resolve(__dirname, '../../dist/crds.yaml')]);
  await cp.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });

  t.test('integers at and beyond int64 in int64 fields', async (t) => {
    const values = ['9223372036854775807', '9223372036854775808', '1e20', '18446744073709551615', '-9223372036854775809',
      '-9223372036854775808', '1e16', '2048.0', '2.5', '0x7FFFFFFFFFFFFFFF', '0x8000000000000000'];
    for (const v of values) await same(t, cp, `gpu.memory: ${v}`, vm(`    gpu: {count: 1, memory: ${v}}`));
    // a maximum, printed as a float when the value is one
    for (const v of ['9223372036854775808', '1048577', '1048576.5']) await same(t, cp, `memoryMiB: ${v}`, vm(`    memoryMiB: ${v}`));
    await same(t, cp, 'cpu (int32): 9223372036854775808', vm('    cpu: 9223372036854775808'));
  });

  /** The objects kubectl sends for `content` (as the server returns them from a dry run), by name. */
  async function sent(content: Uint8Array): Promise<Map<string, Record<string, unknown>>> {
    const file = path.join(dir, `sent-${++files}.yaml`);
    fs.writeFileSync(file, content);
    const r = await cp.kubectl(['create', '--dry-run=server', '-n', NS, '-o', 'json', '-f', file]);
    if (r.code !== 0) throw new Error(`kubectl failed: ${r.stderr}`);
    // one pretty-printed JSON object per document, one after the other
    const items: Record<string, unknown>[] = JSON.parse(`[${r.stdout.trim().replace(/^\}\n\{$/gm, '},{')}]`);
    return new Map(items.map((o) => [(o.metadata as { name: string }).name, o]));
  }
  const bytes = (...parts: (string | number[])[]): Uint8Array =>
    Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
  const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n`;

  t.test('invalid UTF-8 is replaced as kubectl replaces it, and every document is read', async (t) => {
    const content = bytes(
      cm('a'), '  k1: "x', [0xc3, 0x28], 'y"\n  k2: x', [0xe2, 0x82], 'y\n  k3: ', [0xed, 0xa0, 0x80], '\n  k4: ', [0xf0, 0x9f, 0x98], '\n',
      '  k5: ', [0xff, 0xfe, 0x80], 'z\n  k6: caf', [0xe9], '\n  k7: ', [0xc0, 0xaf], '\n',
      '---\n', cm('b'), '  k: ok\n',
    );
    const server = await sent(content);
    const ours = decodeStream(content);
    t.same(ours.map((d) => d.error), [undefined, undefined], 'both documents decode');
    t.same(ours.map((d) => (d.value as { data: unknown }).data), ['a', 'b'].map((n) => server.get(n)?.data), 'the same data as kubectl sent');
    t.ok(String((server.get('a')?.data as Record<string, string>).k3).includes('\ufffd'), 'kubectl did replace');
    const vmc = bytes('apiVersion: infra.virtrigaud.io/v1beta1\nkind: VMClass\nmetadata: {name: c}\nspec:\n  cpu: 2\n  memory: 4Gi\n  bogus', [0xff], ': 1\n');
    const k = await kubectlVerdict(cp, vmc, true);
    const [r] = validateText(vmc, { strict: true });
    t.equal(r!.valid, k.code === 0, 'strict: same verdict on a VMClass with a bad byte in an unknown key');
    t.match(k.stderr, /unknown field "spec\.bogus\ufffd"/, 'kubectl names the replaced key');
    t.same(r!.errors.map((e) => e.field), ['spec.bogus\ufffd'], 'so do we');
  });

  t.test('UTF-16 with a byte order mark is decoded, as kubectl does', async (t) => {
    const text = `${cm('u16')}  k: "café 😀"\n---\n${cm('u16b')}  k: b\n`;
    for (const [label, bom, le] of [['UTF-16LE', [0xff, 0xfe], true], ['UTF-16BE', [0xfe, 0xff], false]] as const) {
      const body = Buffer.from(text, 'utf16le');
      if (!le) body.swap16();
      const content = bytes(bom as unknown as number[], [...body]);
      const server = await sent(content);
      const ours = decodeStream(content);
      t.same(ours.map((d) => d.value), ['u16', 'u16b'].map((n) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n }, data: server.get(n)?.data })), `${label}: what kubectl sent`);
    }
    const nobom = Buffer.from(text, 'utf16le');
    const k = await kubectlVerdict(cp, nobom, false);
    t.not(k.code, 0, 'without a BOM kubectl fails');
    t.notOk(validateText(nobom)[0]!.valid, 'so do we');
  });

  t.test('a %YAML or %TAG directive fails, as in kubectl', async (t) => {
    const cases = [
      `%YAML 1.1\n---\n${cm('d1')}`,
      `%YAML 1.1\n${cm('d2')}`,
      `# c\n%TAG ! tag:example.com,2000:\n---\n${cm('d3')}`,
    ];
    for (const c of cases) {
      const k = await kubectlVerdict(cp, c, false);
      t.not(k.code, 0, `kubectl fails: ${k.stderr.trim()}`);
      t.match(k.stderr, /did not find expected <document start>/);
      const ours = validateText(c);
      t.notOk(ours[0]!.valid, 'the directive piece fails here too');
      t.match(ours[0]!.errors[0]!.message, /did not find expected <document start>/, 'with kubectl\'s words');
    }
  });

  t.test('lists are validated item by item, as kubectl expands them', async (t) => {
    const item = (name: string, cpu: number, indent = '  ') =>
      `${indent}- apiVersion: infra.virtrigaud.io/v1beta1\n${indent}  kind: VMClass\n${indent}  metadata: {name: ${name}}\n${indent}  spec: {cpu: ${cpu}, memory: 4Gi}\n`;
    const expanded = [
      `apiVersion: v1\nkind: List\nitems:\n${item('la', 2)}${item('lb', 0)}${item('lc', 3)}`,
      `apiVersion: infra.virtrigaud.io/v1beta1\nkind: VMClassList\nitems:\n${item('ld', 0)}${item('le', 2)}`,
      `apiVersion: v1\nkind: List\nitems: []\n`,
      `apiVersion: infra.virtrigaud.io/v1beta1\nkind: VirtualMachineList\nitems: []\n`,
    ];
    for (const c of expanded) {
      const k = await kubectlVerdict(cp, c, false);
      const created = k.stdout.split('\n').filter(Boolean).map((l) => l.split('/').pop());
      const ours = validateText(c);
      t.same(ours.filter((r) => r.valid).map((r) => r.name), created, `the items kubectl creates are the valid ones: [${created.join(', ')}]`);
      t.same(ours.flatMap((r) => ourCauses(r)).sort(), k.causes, 'the invalid ones have the API server\'s errors');
      if (created.length === 0) t.match(k.stderr, /no objects passed/, 'an empty list creates nothing');
    }
    const refused = [
      `apiVersion: v1\nkind: List\nitems: {}\n`,
      `apiVersion: v1\nkind: List\n`,
      `apiVersion: v1\nkind: List\nitems:\n- 1\n`,
      `apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n${item('nested', 0, '  ')}`,
      `apiVersion: v1\nkind: List\nitems:\n- {kind: VMClass}\n`,
    ];
    for (const c of refused) {
      const k = await kubectlVerdict(cp, c, false);
      t.not(k.code, 0, `kubectl refuses: ${k.stderr.trim()}`);
      t.equal(k.stdout.trim(), '', 'and creates nothing');
      const ours = validateText(c);
      t.ok(ours.length > 0 && ours.every((r) => !r.valid), 'every result here is invalid');
    }
  });

  t.test('--strict reports unknown fields under status, as the API server does', async (t) => {
    const vmc = (extra: string) => `apiVersion: infra.virtrigaud.io/v1beta1\nkind: VMClass\nmetadata: {name: c}\nspec:\n  cpu: 2\n  memory: 4Gi\n${extra}`;
    const cases = [
      vm('    cpu: 2') + 'status: {bogusField: 1}\n',
      vmc('  bogusSpec: 1\nstatus:\n  bogusField: 1\n  conditions: [{type: X, status: Bogus, extra: 1}]\n  observedGeneration: x\n'),
      vmc('status: {bogusField: 1, observedGeneration: -5}\n'),
      vmc('status: 5\n'),
      vmc('status: {observedGeneration: notANumber, conditions: 3}\n'),
    ];
    for (const c of cases) {
      for (const strict of [true, false]) {
        const k = await kubectlVerdict(cp, c, strict);
        const [ours] = validateText(c, { strict });
        t.equal(ours!.valid, k.code === 0, `strict=${strict}: kubectl ${k.code === 0 ? 'accepts' : `rejects: ${k.stderr.trim()}`}`);
        const unknown = [...k.stderr.matchAll(/unknown field "([^"]+)"/g)].map((m) => m[1]);
        if (k.code !== 0) t.same(ours!.errors.map((e) => e.field), unknown, 'the same unknown fields, in the same order');
      }
    }
  });

  t.test('a request body over 3 MiB (as the JSON kubectl sends) is refused, one byte under is not', async (t) => {
    const LIMIT = 3 * 1024 * 1024;
    const doc = (pad: string) => ({ apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMClass', metadata: { name: 'big', namespace: NS }, spec: { cpu: 2, memory: '4Gi', pad } });
    const yaml = (pad: string) => `apiVersion: infra.virtrigaud.io/v1beta1\nkind: VMClass\nmetadata: {name: big, namespace: ${NS}}\nspec:\n  cpu: 2\n  memory: 4Gi\n  pad: "${pad}"\n`;
    // `<` and `&` are 6 bytes each in Go's JSON, é is 2: 840,000 characters that are 2.9 MB as JSON
    const unit = '<é&x<';
    const base = unit.repeat(140_000);
    for (const want of [LIMIT, LIMIT + 1]) {
      const pad = base + 'x'.repeat(want - requestBodyBytes(doc(base)));
      t.equal(requestBodyBytes(doc(pad)), want, `the body is ${want} bytes by our count`);
      const content = yaml(pad);
      t.ok(Buffer.byteLength(content) < 2_000_000, 'while the YAML file is far smaller');
      const k = await kubectlVerdict(cp, content, false);
      const [ours] = validateText(content);
      t.equal(ours!.valid, k.code === 0, `${want} bytes: kubectl ${k.code === 0 ? 'accepts' : `refuses: ${k.stderr.trim().slice(0, 200)}`}`);
      if (k.code !== 0) {
        t.match(k.stderr, /Request entity too large: limit is 3145728/);
        t.match(ours!.errors[0]!.message, /^Request entity too large: limit is 3145728/, 'with the API server\'s words');
      }
    }
  });
});
