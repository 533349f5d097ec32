/**
 * The native fast path for our helper-written rules gives exactly the
 * verdicts of the CEL library, on the whole parity corpus and on thousands of
 * random mutations, for creates and updates.
 */
import t from 'tap';
import { ALL_KINDS } from '../../src/api/v1beta1';
import { Validator } from '../../src/validate/validator';
import { nativeRule, celEquals } from '../../src/validate/cel-native';
import { casesFor } from './corpus';
import { prng, mutate, seeds } from './mutate';

const native = new Validator(ALL_KINDS, { nativeRules: true });
const library = new Validator(ALL_KINDS, { nativeRules: false });

t.test('every rule our kinds carry has a native program', async (t) => {
  const missing: string[] = [];
  const walk = (n: any, path: string) => {
    for (const r of n.spec.rules) if (!nativeRule(r.rule)) missing.push(`${path}: ${r.rule}`);
    for (const [k, c] of Object.entries(n.spec.properties ?? {})) walk(c, `${path}.${k}`);
    if (n.spec.items) walk(n.spec.items, `${path}[*]`);
    if (n.spec.values) walk(n.spec.values, `${path}[*]`);
  };
  for (const k of ALL_KINDS) walk(k.root, k.kind);
  t.same(missing, []);
  t.notOk(nativeRule('self.size() > 2'), 'other rules are left to the CEL library');
});

t.test('native and library verdicts agree', async (t) => {
  const r = prng(7);
  const objects: { object: unknown; old?: unknown }[] = ALL_KINDS.flatMap((k) => casesFor(k)).map((c) => ({ object: c.object, old: c.old }));
  const starts = seeds(ALL_KINDS);
  for (let i = 0; i < 3000; i++) {
    const o = structuredClone(starts[Math.floor(r() * starts.length)]);
    mutate(o, r);
    objects.push({ object: o, old: r() < 0.3 ? starts[Math.floor(r() * starts.length)] : undefined });
  }
  let differences = 0;
  for (const { object, old } of objects) {
    const a = native.validateObject(object, { old });
    const b = library.validateObject(object, { old });
    if (JSON.stringify(a.errors) !== JSON.stringify(b.errors)) {
      differences++;
      if (differences <= 5) t.fail(`native: ${JSON.stringify(a.errors)}\nlibrary: ${JSON.stringify(b.errors)}`);
    }
  }
  t.equal(differences, 0, `${objects.length} objects`);
});

t.test('CEL equality on JSON values', async (t) => {
  t.ok(celEquals({ a: [1n, 'x'] }, { a: [1n, 'x'] }));
  t.notOk(celEquals({ a: 1n }, { a: 1n, b: 2n }));
  t.notOk(celEquals([1n], [2n]));
  t.ok(celEquals(1n, 1));
});
