/**
 * Parity corpus: every constraint and every CEL rule of every kind, broken
 * once (plus boundary values and valid objects), judged by our validator and
 * by the real kube-apiserver. Any difference in verdict or in the set of
 * field paths fails the test and is listed.
 */
import t from 'tap';
import * as path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { useControlPlane } from '../../src/testenv';
import { ALL_KINDS } from '../../src/api/v1beta1';
import { Validator } from '../../src/validate/validator';
import { casesFor, Case } from './corpus';
import { serverVerdict, ourFields, sameFields, pool } from './server';

const NS = `parity-${process.pid}`;

t.test('our verdicts equal kube-apiserver verdicts on the parity corpus', async (t) => {
  const cp = await useControlPlane(t);
  await cp.applyCrds([path.resolve(__dirname, '../../dist/crds.yaml')]);
  await cp.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
  const validator = new Validator();
  const cases: Case[] = ALL_KINDS.flatMap((k) => casesFor(k));
  t.ok(cases.length >= 300, `${cases.length} documents in the corpus`);
  const kindsCovered = new Set(cases.map((c) => c.object.kind));
  t.equal(kindsCovered.size, 10, 'every kind is covered');
  const started = Date.now();
  const diffs: string[] = [];
  const messageDiffs: string[] = [];
  let invalid = 0;
  await pool(cases, 8, async (c) => {
    const server = await serverVerdict(cp.kubeConfig, NS, c.object, { strict: c.strict, old: c.old });
    const ours = validator.validateObject(c.object, { strict: c.strict, old: c.old });
    if (!server.valid) invalid++;
    const oursFields = ourFields(ours.errors);
    const serverMessages = server.fields.map((f, i) => `${f}: ${server.messages[i]}`).sort();
    const ourMessages = ours.errors.map((e) => `${e.field}: ${e.message}`).sort();
    if (ours.valid === server.valid && JSON.stringify([...new Set(serverMessages)]) !== JSON.stringify([...new Set(ourMessages)])) {
      messageDiffs.push(`${c.id}\n    server: ${serverMessages.join(' | ')}\n    ours:   ${ourMessages.join(' | ')}`);
    }
    if (ours.valid !== server.valid || !sameFields(oursFields, server.fields)) {
      diffs.push(`${c.id}\n    server: ${server.valid ? 'valid' : `invalid at [${server.fields.join(', ')}]: ${server.messages.join(' | ')}`}\n    ours:   ${ours.valid ? 'valid' : `invalid at [${oursFields.join(', ')}]: ${ours.errors.map((e) => e.message).join(' | ')}`}`);
    }
  });
  const seconds = (Date.now() - started) / 1000;
  t.comment(`${cases.length} documents (${invalid} invalid per the server) in ${seconds.toFixed(1)}s`);
  t.ok(invalid > 100 && invalid < cases.length, 'the corpus has both valid and invalid documents');
  t.same(messageDiffs, [], `${messageDiffs.length} message difference(s):\n${messageDiffs.slice(0, 20).join('\n')}`);
  t.same(diffs, [], `${diffs.length} disagreement(s):\n${diffs.slice(0, 40).join('\n')}`);
});
