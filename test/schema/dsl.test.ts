import t from 'tap';
import { s, cel, defineKind, SchemaDefinitionError, toOpenApi, Infer } from '../../src/schema';

const base = { group: 'example.virtrigaud.io', version: 'v1alpha1', scope: 'Namespaced' as const, description: 'A test kind.' };

/** Defines a kind with the given spec and returns the problems it was refused for ('' when accepted). */
function problems(spec: ReturnType<typeof s.object>, extra: Record<string, unknown> = {}): string {
  try {
    defineKind({ ...base, kind: 'Thing', spec, ...extra } as any);
    return '';
  } catch (e) {
    if (!(e instanceof SchemaDefinitionError)) throw e;
    return e.message;
  }
}

const obj = (properties: Record<string, any>, o: Record<string, unknown> = {}) => s.object({ description: 'Spec.', properties, ...o });

t.test('a well-formed kind is accepted and emits structural OpenAPI', async (t) => {
  const spec = obj({
    name: s.string({ description: 'Name.', maxLength: 63 }),
    size: s.int32({ description: 'Size.', minimum: 1, maximum: 10, default: 1 }),
    mem: s.quantity({ description: 'Memory.' }),
    tags: s.array(s.string({ description: 'Tag.', maxLength: 10 }), { description: 'Tags.', maxItems: 5, listType: 'set' }),
  }, { required: ['name'] });
  t.equal(problems(spec), '');
  const out = toOpenApi(spec);
  t.same(out.required, ['name']);
  t.equal(out.properties!.size.format, 'int32');
  t.equal(out.properties!.size.default, 1);
  t.same(out.properties!.mem.anyOf, [{ type: 'integer' }, { type: 'string' }]);
  t.equal(out.properties!.mem['x-kubernetes-int-or-string'], true);
  t.equal(out.properties!.tags['x-kubernetes-list-type'], 'set');
  t.notOk('uniqueItems' in out.properties!.tags, 'never emits uniqueItems');
});

t.test('what kube-apiserver refuses is refused at definition time, with the field path', async (t) => {
  const cases: [string, ReturnType<typeof s.object>, RegExp][] = [
    ['uniqueItems', obj({ x: s.raw({ type: 'array', items: { type: 'string' }, uniqueItems: true }, { description: 'X.' }) }), /spec\.x: uniqueItems is refused/],
    ['additionalProperties false', obj({ x: s.raw({ type: 'object', additionalProperties: false }, { description: 'X.' }) }), /spec\.x: additionalProperties: false is refused/],
    ['untyped raw node', obj({ x: s.raw({ description: 'no type' }, { description: 'X.' }) }), /spec\.x: every schema node needs a type/],
    ['numeric enum on a string (the tpmVersion quirk)', obj({ v: s.raw({ type: 'string' }, { description: 'V.' }), w: (s.enumOf as any)([1.2, 2], { description: 'W.' }) }), /spec\.w: enum value 1\.2 is a number but the field is a string/],
    ['default outside the bounds', obj({ n: s.int32({ description: 'N.', minimum: 1, default: 0 }) }), /spec\.n: default 0 is below the minimum 1/],
    ['default not in the enum', obj({ e: s.enumOf(['a', 'b'], { description: 'E.', default: 'c' as any }) }), /spec\.e: default "c" is not one of "a", "b"/],
    ['missing description', obj({ n: s.string({ description: '' }) }), /spec\.n: every field needs a description/],
    ['bad pattern', obj({ n: s.string({ description: 'N.', pattern: '([a-z' }) }), /spec\.n: pattern .* does not compile/],
    ['lookahead pattern (not RE2)', obj({ n: s.string({ description: 'N.', pattern: '^(?=a)a$' }) }), /RE2 does not support/],
    ['rule without message', obj({ a: s.string({ description: 'A.' }) }, { rules: [{ rule: 'has(self.a)' }] }), /give a message or a messageExpression/],
    ['message and messageExpression', obj({ a: s.string({ description: 'A.' }) }, { rules: [{ rule: 'has(self.a)', message: 'm', messageExpression: "'m'" }] }), /both set/],
    ['message with a line break', obj({ a: s.string({ description: 'A.' }) }, { rules: [{ rule: 'has(self.a)', message: 'a\nb' }] }), /must not contain line breaks/],
    ['unknown reason', obj({ a: s.string({ description: 'A.' }) }, { rules: [{ rule: 'has(self.a)', message: 'm', reason: 'Nope' as any }] }), /reason "Nope" is not one of/],
    ['fieldPath to nowhere', obj({ a: s.string({ description: 'A.' }) }, { rules: [{ rule: 'has(self.a)', message: 'm', fieldPath: '.b' }] }), /fieldPath ".b" does not name a field/],
    ['typo in a rule, with a suggestion', obj({ imageRef: s.string({ description: 'A.' }), importedDisk: s.string({ description: 'B.' }) }, { rules: [cel.mutuallyExclusive('imageref', 'importedDisk')] }), /refers to "imageref", which is not a property here \(did you mean "imageRef"\?\)/],
    ['optionalOldSelf without oldSelf', obj({ a: s.string({ description: 'A.' }) }, { rules: [{ rule: 'has(self.a)', message: 'm', optionalOldSelf: true }] }), /optionalOldSelf is set but the rule does not use oldSelf/],
    ['transition rule inside an atomic list', obj({ items: s.array(s.string({ description: 'I.', maxLength: 5 }).immutable(), { description: 'L.', maxItems: 3 }) }), /spec\.items\[\*\]: .*oldSelf cannot be used inside a list/],
    ['iteration over an unbounded list', obj({ l: s.array(s.object({ description: 'I.', properties: { name: s.string({ description: 'N.' }) } }), { description: 'L.', rules: [cel.uniqueBy('name')] }) }), /spec\.l: .*all\(\) iterates over self, which has no maxItems/],
    ['string scan of an unbounded string in an iteration', obj({ l: s.array(s.string({ description: 'I.' }), { description: 'L.', maxItems: 10, rules: [cel.rule("self.all(x, x.matches('^a'))", 'm')] }) }), /matches\(\) scans x|no maxLength/],
    ['list map key not required', obj({ l: s.array(s.object({ description: 'I.', properties: { name: s.string({ description: 'N.' }) } }), { description: 'L.', listType: 'map', listMapKeys: ['name'] }) }), /list map key "name" must be required or have a default/],
    ['required property that does not exist', obj({ a: s.string({ description: 'A.' }) }, { required: ['b'] }), /required property "b" is not declared/],
  ];
  for (const [name, spec, want] of cases) t.match(problems(spec), want, name);
});

t.test('kind-level checks: printer columns, scale, names', async (t) => {
  const spec = obj({ replicas: s.int32({ description: 'R.' }), phase: s.string({ description: 'P.' }) });
  const status = s.object({ description: 'S.', properties: { replicas: s.int32({ description: 'R.' }), ips: s.array(s.string({ description: 'IP.' }), { description: 'IPs.' }) } });
  t.match(problems(spec, { printerColumns: [{ name: 'X', type: 'string', jsonPath: '.spec.nothing' }] }), /printer column "X": JSONPath \.spec\.nothing names a field that does not exist/);
  t.match(problems(spec, { status, printerColumns: [{ name: 'N', type: 'integer', jsonPath: '.status.ips[*]' }] }), /printer column "N" is typed integer but \.status\.ips\[\*\] is a string per list item/);
  t.match(problems(spec, { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } }), /the scale subresource needs a status/);
  t.match(problems(spec, { status, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } }), /labelSelectorPath: JSONPath \.status\.selector names a field that does not exist/);
  t.match(problems(spec, { kind: 'thing' }), /kind "thing" must be PascalCase/);
  t.match(problems(spec, { shortNames: ['t', 't'] }), /"t" is listed twice/);
  t.equal(problems(spec, { status, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' }, printerColumns: [{ name: 'IPs', type: 'string', jsonPath: '.status.ips[*]' }] }), '');
});

t.test('CEL helpers produce constant-cost rules with readable messages', async (t) => {
  t.same(cel.mutuallyExclusive('a', 'b'), { rule: '!(has(self.a) && has(self.b))', message: 'a and b are mutually exclusive: set at most one of them' });
  t.same(cel.exactlyOneOf(['x', 'y', 'z']), { rule: '(has(self.x) ? 1 : 0) + (has(self.y) ? 1 : 0) + (has(self.z) ? 1 : 0) == 1', message: 'exactly one of x, y or z must be set' });
  t.equal(cel.atMostOneOf(['x', 'y', 'z']).rule, '(has(self.x) ? 1 : 0) + (has(self.y) ? 1 : 0) + (has(self.z) ? 1 : 0) <= 1');
  t.equal(cel.atLeastOneOf(['x', 'y']).rule, 'has(self.x) || has(self.y)');
  t.equal(cel.celField('namespace'), '__namespace__');
  t.equal(cel.celField('a-b'), 'a__dash__b');
  t.throws(() => cel.exactlyOneOf(['x']), /at least two field names/);
});

t.test('type inference follows the schema', async (t) => {
  const spec = s.object({
    description: 'Spec.',
    properties: { name: s.string({ description: 'N.' }), power: s.enumOf(['On', 'Off'], { description: 'P.' }) },
    required: ['name'],
  });
  type Spec = Infer<typeof spec>;
  const ok: Spec = { name: 'a', power: 'On' };
  // @ts-expect-error name is required
  const missing: Spec = { power: 'Off' };
  // @ts-expect-error power is an enum
  const wrong: Spec = { name: 'a', power: 'Maybe' };
  t.ok(ok && missing && wrong);
});
