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
});
