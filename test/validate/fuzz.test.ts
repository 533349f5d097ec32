/**
 * Differential fuzzing: seeded random mutations of valid objects (wrong types,
 * boundary values, missing and extra fields, duplicates, conflicting fields),
 * judged by our validator and by kube-apiserver. Any disagreement in verdict
 * or field paths fails with the document. Reproduce a run with
 * VIRTRIGAUD_FUZZ_SEED=<seed>; VIRTRIGAUD_FUZZ_COUNT sets the size (default 5000).
 */
import t from 'tap';
import * as path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { useControlPlane } from '../../src/testenv';
import { ALL_KINDS } from '../../src/api/v1beta1';
import { Validator } from '../../src/validate/validator';
import { serverVerdict, ourFields, sameFields, pool } from './server';
import { prng, mutate, seeds } from './mutate';

const NS = `fuzz-${process.pid}`;
const SEED = Number(process.env.VIRTRIGAUD_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const COUNT = Number(process.env.VIRTRIGAUD_FUZZ_COUNT ?? 5000);

t.test(`differential fuzzing against kube-apiserver (seed ${SEED}, ${COUNT} documents)`, async (t) => {
  t.comment(`seed ${SEED}: rerun with VIRTRIGAUD_FUZZ_SEED=${SEED}`);
  const cp = await useControlPlane(t);
  await cp.applyCrds([path.resolve(__dirname, '../../dist/crds.yaml')]);
  await cp.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
  const validator = new Validator();
  const starts = seeds(ALL_KINDS);
  const r = prng(SEED);
  const docs = Array.from({ length: COUNT }, () => {
    const object = structuredClone(starts[Math.floor(r() * starts.length)]);
    const changes = mutate(object, r);
    const strict = r() < 0.3;
    return { object, changes, strict };
  });
  const diffs: string[] = [];
  let invalid = 0;
  const started = Date.now();
  await pool(docs, 8, async (d) => {
    const server = await serverVerdict(cp.kubeConfig, NS, d.object, { strict: d.strict });
    const ours = validator.validateObject(d.object, { strict: d.strict });
    if (!server.valid) invalid++;
    if (ours.valid !== server.valid || !sameFields(ourFields(ours.errors), server.fields)) {
      diffs.push(`${d.changes.join(', ')}${d.strict ? ' (strict)' : ''}\n    server: ${server.valid ? 'valid' : server.fields.map((f, i) => `${f}: ${server.messages[i]}`).join(' | ')}\n    ours:   ${ours.valid ? 'valid' : ours.errors.map((e) => `${e.field}: ${e.message}`).join(' | ')}\n    document: ${JSON.stringify(d.object)}`);
    }
  });
  t.comment(`${COUNT} documents, ${invalid} invalid per the server, in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  t.ok(invalid > COUNT / 10 && invalid < COUNT, 'the mutations produce both valid and invalid documents');
  t.same(diffs, [], `${diffs.length} disagreement(s) (seed ${SEED}):\n${diffs.slice(0, 10).join('\n')}`);
});
