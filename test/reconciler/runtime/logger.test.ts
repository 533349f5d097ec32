/** Logger formats, levels and redaction; Metrics text format. */
import t from 'tap';
import { PassThrough } from 'node:stream';
import { createLogger, Metrics, type LoggerOptions } from '../../../src/reconciler/runtime';

function capture(opts: LoggerOptions = {}) {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
  return { log: createLogger({ ...opts, stream }), lines };
}

t.test('json format: one object per line with ts, level, msg and fields', async (t) => {
  const { log, lines } = capture({ format: 'json' });
  log.child({ controller: 'vm' }).info('reconciled', { key: 'ns/a', n: 3, err: new Error('bad') });
  t.equal(lines.length, 1);
  const o = JSON.parse(lines[0]);
  t.match(o, { level: 'info', msg: 'reconciled', controller: 'vm', key: 'ns/a', n: 3, err: 'bad' });
  t.match(o.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

t.test('text format', async (t) => {
  const { log, lines } = capture({ format: 'text' });
  log.warn('disk low', { key: 'ns/vm-1', free: 12, note: 'two words', obj: { a: 1 } });
  t.match(lines[0], /^\d{4}-\d\d-\d\dT\S+Z WARN disk low key=ns\/vm-1 free=12 note="two words" obj=\{"a":1\}$/);
});

t.test('level filtering', async (t) => {
  const { log, lines } = capture({ level: 'warn' });
  log.debug('d');
  log.info('i');
  log.warn('w');
  log.error('e');
  t.equal(lines.length, 2);
  t.match(lines[0], / WARN w/);
  t.match(lines[1], / ERROR e/);
  const dbg = capture({ level: 'debug' });
  dbg.log.debug('d');
  t.equal(dbg.lines.length, 1);
});

t.test('redaction: secret values anywhere in the line, and secret-named keys', async (t) => {
  const secrets = ['hunter2-very-secret', 'p"a\\ss'];
  for (const format of ['json', 'text'] as const) {
    const { log, lines } = capture({ format, redact: () => secrets });
    log.error('login failed for hunter2-very-secret', { url: 'https://u:hunter2-very-secret@h', quoted: 'p"a\\ss', password: 'x1', apiToken: 'y2', clientSecret: 'z3', key: 'ns/vm' });
    const line = lines[0];
    t.notMatch(line, /hunter2/, format);
    t.notMatch(line, /x1|y2|z3/, `${format}: secret-named keys`);
    t.notMatch(line, /p\\"a\\\\ss/, `${format}: JSON-escaped secret`);
    t.match(line, /\[REDACTED\]/);
    t.match(line, /ns\/vm/, `${format}: "key" (the work-queue key) is not a secret`);
  }
});

t.test('Metrics text format', async (t) => {
  const m = new Metrics();
  m.counter('a_total', 'A things.').inc({ x: 'q"uote' }, 2);
  m.gauge('g', 'G.').set(1.5);
  const h = m.histogram('h_seconds', 'H.', [0.1, 1]);
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  t.equal(m.counter('a_total', 'A things.').get({ x: 'q"uote' }), 2, 'same name -> same metric');
  t.throws(() => m.gauge('a_total', 'clash'));
  const text = m.render();
  t.match(text, '# HELP a_total A things.\n# TYPE a_total counter\na_total{x="q\\"uote"} 2\n');
  t.match(text, 'g 1.5\n');
  t.match(text, 'h_seconds_bucket{le="0.1"} 1\nh_seconds_bucket{le="1"} 2\nh_seconds_bucket{le="+Inf"} 3\nh_seconds_sum 5.55\nh_seconds_count 3\n');
  t.ok(text.endsWith('\n'));
});
