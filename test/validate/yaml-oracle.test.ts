/**
 * Every fixture under fixtures/yaml is compared with what kubectl's own Go
 * code (sigs.k8s.io/yaml v1.6.0 on go.yaml.in/yaml/v2 v2.4.4, apimachinery
 * v0.37.2 framing and number handling) produced for it: *.oracle.jsonl, one
 * line per document (see fixtures/yaml/README.md).
 */
import t from 'tap';
import { decodeStream } from '../../src/validate/yaml';
import { canon, fixture, fixtureNames, oracle } from './fixtures/yaml/helpers';

for (const name of [...fixtureNames('.yaml'), ...fixtureNames('.json')]) {
  const base = name.replace(/\.(yaml|json)$/, '');
  t.test(name, async (t) => {
    const expected = oracle(`${base}.oracle.jsonl`).filter((e) => !e.skip);
    const got = decodeStream(fixture(name));
    t.equal(got.length, expected.length, 'document count');
    got.forEach((d, i) => t.equal(d.index, i, 'indices are consecutive'));
    for (let i = 0; i < Math.min(got.length, expected.length); i++) {
      const e = expected[i]!;
      const d = got[i]!;
      if (e.err !== undefined) {
        t.ok(d.error, `doc ${i} (line ${d.line}) fails like kubectl: ${e.err}`);
        continue;
      }
      if (d.error && e.strictErr?.includes('already set in map')) {
        // a duplicate key: kubectl keeps the last value silently (dropping whatever the
        // overwritten value held); its strict decoder and this one refuse the document
        t.pass(`doc ${i}: duplicate key, as YAMLToJSONStrict says: ${e.strictErr.split('\n').pop()!.trim()}`);
        continue;
      }
      const isObject = e.v !== null && typeof e.v === 'object' && !Array.isArray(e.v) && !('$bigint' in (e.v as object));
      if (!isObject) {
        t.equal(d.error?.rule, 'not-an-object', `doc ${i} is not an object`);
        continue;
      }
      t.notOk(d.error, `doc ${i} (line ${d.line}) decodes: ${d.error?.message ?? ''}`);
      t.same(canon(d.value), e.v, `doc ${i} value`);
    }
  });
}
