/**
 * The scoped SecretRedactor: values are remembered per Provider scope and
 * redact only that scope's messages (logs: every scope), within bounds, and
 * a secret containing or overlapping another leaves no fragment behind.
 */
import t from 'tap';
import { PassThrough } from 'node:stream';
import { createLogger, REDACTED } from '../../src/reconciler/runtime';
import { SecretMatcher } from '../../src/reconciler/runtime/redact';
import { redactionScope, SecretRedactor } from '../../src/reconciler/secrets';

const API = 'infra.virtrigaud.io/v1beta1';

t.test('a scope redacts its own values only; redactAll redacts every scope', async (t) => {
  const r = new SecretRedactor();
  r.remember('team-a/lab', { username: 'alice-admin', password: 'pa55-of-team-a' });
  r.remember('team-b/lab', { password: 'pa55-of-team-b' });
  const text = 'login alice-admin/pa55-of-team-a or pa55-of-team-b refused';
  t.equal(r.redact('team-a/lab', text), `login ${REDACTED}/${REDACTED} or pa55-of-team-b refused`, "team a's scope hides team a's values only");
  t.equal(r.redact('team-b/lab', text), `login alice-admin/pa55-of-team-a or ${REDACTED} refused`, "team b's scope hides team b's value only");
  t.equal(r.redact('team-c/lab', text), text, 'a scope never read hides nothing');
  t.equal(r.redact(undefined, text), text, 'no scope hides nothing');
  t.equal(r.redactAll(text), `login ${REDACTED}/${REDACTED} or ${REDACTED} refused`, 'every scope (logs) hides all');
  t.same([...r.secrets()].sort(), ['alice-admin', 'pa55-of-team-a', 'pa55-of-team-b'], 'secrets() lists every scope');
});

t.test('values shorter than the minimum are not remembered', async (t) => {
  const r = new SecretRedactor();
  r.remember('ns/p', { flag: 'true', n: '1', port: '443', token: 'abcd' });
  t.same(r.valuesOf('ns/p'), ['true', 'abcd'], 'four characters and more only (the default minimum)');
  t.equal(r.redact('ns/p', 'port 443 enabled=1'), 'port 443 enabled=1');
  const strict = new SecretRedactor({ minLength: 8 });
  strict.remember('ns/p', { a: 'short', b: 'long-enough' });
  t.same(strict.valuesOf('ns/p'), ['long-enough']);
  t.throws(() => new SecretRedactor({ maxScopes: 0 }), RangeError, 'limits must be positive');
});

t.test('longest first: a secret containing another is hidden whole; overlaps leave no fragment', async (t) => {
  const r = new SecretRedactor();
  r.remember('ns/p', { short: 'abcd', long: 'abcdefgh' });
  t.equal(r.redact('ns/p', 'x abcdefgh y abcd z'), `x ${REDACTED} y ${REDACTED} z`, 'the longer value is not cut by the shorter one');
  r.remember('ns/q', { one: 'key-1234', two: '1234-tail' });
  t.equal(r.redact('ns/q', 'got key-1234-tail!'), `got ${REDACTED}!`, 'overlapping values: one marker, no fragment of either');
  t.equal(r.redact('ns/q', 'key-1234key-1234'), REDACTED, 'adjacent occurrences merge');
  t.equal(r.redact('ns/q', 'key-123 and 234-tail'), 'key-123 and 234-tail', 'partial values are not secrets');
});

t.test('JSON-escaped forms are redacted too (JSON log lines, JSON-quoting errors)', async (t) => {
  const r = new SecretRedactor();
  const pem = '-----BEGIN KEY-----\nMIIB"x\n-----END KEY-----';
  r.remember('ns/p', { 'tls.key': pem });
  const quoted = `bad key ${JSON.stringify({ key: pem })}`;
  t.equal(r.redact('ns/p', quoted), `bad key {"key":"${REDACTED}"}`);
  t.equal(r.redact('ns/p', `raw ${pem} end`), `raw ${REDACTED} end`);
});

t.test('bounded: values per scope and scopes are capped, least recently read dropped first', async (t) => {
  const r = new SecretRedactor({ maxScopes: 2, maxValuesPerScope: 2 });
  r.remember('ns/p', { a: 'value-one' });
  r.remember('ns/p', { b: 'value-two' });
  r.remember('ns/p', { a: 'value-one' }); // read again: now the most recent
  r.remember('ns/p', { c: 'value-three' });
  t.same(r.valuesOf('ns/p'), ['value-one', 'value-three'], 'the least recently read value went');
  t.equal(r.redact('ns/p', 'value-two'), 'value-two', 'and no longer redacts');
  r.remember('ns/p', { a: 'v'.repeat(10), b: 'w'.repeat(10), c: 'x'.repeat(10) });
  t.equal(r.valuesOf('ns/p').length, 2, 'one Secret with more values than the cap keeps the cap');

  r.remember('ns/q', { a: 'scope-q-value' });
  r.remember('ns/p', { a: 'x'.repeat(10) }); // p used again
  r.remember('ns/r', { a: 'scope-r-value' });
  t.same(r.scopeKeys(), ['ns/p', 'ns/r'], 'the least recently used scope went');
  t.equal(r.redactAll('scope-q-value'), 'scope-q-value', 'its values are gone from the logs too');
  t.equal(r.redactAll('scope-r-value'), REDACTED);
});

t.test('forget drops a scope (its Provider was deleted)', async (t) => {
  const r = new SecretRedactor();
  r.remember('ns/p', { password: 'gone-with-it' });
  r.remember('ns/q', { password: 'stays-around' });
  const before = r.secrets();
  t.equal(r.secrets(), before, 'the same array while nothing changes (the logger compiles it once)');
  r.remember('ns/p', { password: 'gone-with-it' });
  t.equal(r.secrets(), before, 'reading the same values again changes nothing');
  r.forget('ns/p');
  t.not(r.secrets(), before, 'a new array after a change');
  t.same(r.scopeKeys(), ['ns/q']);
  t.equal(r.redact('ns/p', 'gone-with-it'), 'gone-with-it');
  t.equal(r.redactAll('gone-with-it stays-around'), `gone-with-it ${REDACTED}`);
  r.forget('ns/unknown');
  t.same(r.scopeKeys(), ['ns/q'], 'forgetting an unknown scope is a no-op');
});

t.test('the logger redacts with every scope', async (t) => {
  const r = new SecretRedactor();
  r.remember('a/p', { password: 'first-tenant-pw' });
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
  const log = createLogger({ format: 'json', stream, redact: () => r.secrets() });
  log.info('first-tenant-pw second-tenant-pw');
  r.remember('b/p', { password: 'second-tenant-pw' });
  log.info('first-tenant-pw second-tenant-pw');
  t.equal(JSON.parse(lines[0]).msg, `${REDACTED} second-tenant-pw`);
  t.equal(JSON.parse(lines[1]).msg, `${REDACTED} ${REDACTED}`, 'a value learnt later is hidden from then on');
});

t.test('the scope of an object: its Provider', async (t) => {
  const vms = new Map<string, any>([
    ['team-a/web', { spec: { providerRef: { name: 'lab' } }, metadata: { namespace: 'team-a' } }],
    ['team-a/far', { spec: { providerRef: { name: 'shared', namespace: 'infra' } }, metadata: { namespace: 'team-a' } }],
  ]);
  const obj = (kind: string, name: string, spec: unknown = {}) => ({ apiVersion: API, kind, metadata: { namespace: 'team-a', name }, spec });
  t.equal(redactionScope(obj('Provider', 'lab'), vms), 'team-a/lab', 'a Provider: itself');
  t.equal(redactionScope(obj('VirtualMachine', 'web', { providerRef: { name: 'lab' } }), vms), 'team-a/lab', 'a VM: its providerRef');
  t.equal(redactionScope(obj('VirtualMachine', 'x', { providerRef: { name: 'shared', namespace: 'infra' } }), vms), 'infra/shared', 'in another namespace too');
  t.equal(redactionScope(obj('VMSnapshot', 's', { vmRef: { name: 'far' } }), vms), 'infra/shared', "a VMSnapshot: its VM's Provider");
  t.equal(redactionScope(obj('VMSnapshot', 's', { vmRef: { name: 'missing' } }), vms), null, 'a VMSnapshot of an unknown VM: none');
  t.equal(redactionScope(obj('VirtualMachine', 'bare'), vms), null, 'a VM without providerRef: none');
  t.equal(redactionScope({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }, vms), undefined, 'another kind: unknown (every scope)');
});

t.test('SecretMatcher: many secrets, one pass', async (t) => {
  const secrets = Array.from({ length: 5000 }, (_, i) => `secret-${i.toString(36)}-${'q'.repeat(i % 7)}`);
  const m = new SecretMatcher(secrets, 4);
  const text = `a ${secrets[4321]} b ${secrets[17]} c`;
  t.equal(m.redact(text), `a ${REDACTED} b ${REDACTED} c`);
  t.equal(m.redact('nothing secret here'), 'nothing secret here');
  t.equal(new SecretMatcher([]).redact('abc'), 'abc', 'no secrets: unchanged');
  t.equal(new SecretMatcher(['abcd']).redact('abc'), 'abc', 'text shorter than any secret');
  t.equal(new SecretMatcher(['abcd']).redact('abcd'), REDACTED, 'the whole text');
});
