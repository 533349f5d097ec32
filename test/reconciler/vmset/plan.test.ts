/**
 * The VMSet planner, case by case (no API server): what a reconcile does
 * next for given members, in each policy and strategy. The e2e test shows
 * the same on the real API server; this one covers the corners.
 */
import t from 'tap';
import { plan, resolveMaxUnavailable, scaled, type Member, type PlanInput } from '../../../src/reconciler/vmset/plan';
import { memberName, ordinalOf, selectorString, templateHash } from '../../../src/reconciler/vmset/naming';
import { Expectations } from '../../../src/reconciler/runtime';

const m = (ordinal: number, o: Partial<Member> = {}): Member => ({ name: `web-${ordinal}`, ordinal, revision: 'new', ready: true, available: true, deleting: false, ...o });

const input = (o: Partial<PlanInput> = {}): PlanInput => ({
  replicas: 3,
  start: 0,
  policy: 'OrderedReady',
  strategy: 'RollingUpdate',
  maxUnavailable: 1,
  partition: 0,
  updateRevision: 'new',
  currentRevision: 'old',
  members: [],
  inPlace: () => false,
  ...o,
});

const names = (ms: readonly Member[]) => ms.map((x) => x.name);

t.test('OrderedReady creates the lowest missing ordinal only, after the ones before are available', async (t) => {
  t.same(plan(input()).create, [{ ordinal: 0, revision: 'new' }], 'empty set: web-0 first');
  t.same(plan(input({ members: [m(0)] })).create, [{ ordinal: 1, revision: 'new' }], 'then web-1');
  const waiting = plan(input({ members: [m(0, { available: false })] }));
  t.same(waiting.create, [], 'web-1 waits for web-0');
  t.match(waiting.waiting.join(), /waiting for web-0 to be available/);
  t.same(plan(input({ members: [m(0), m(2)] })).create, [{ ordinal: 1, revision: 'new' }], 'a hole is filled');
});

t.test('Parallel creates and deletes everything at once', async (t) => {
  const p = plan(input({ policy: 'Parallel', replicas: 4, members: [m(0, { available: false })] }));
  t.same(p.create.map((c) => c.ordinal), [1, 2, 3]);
  const down = plan(input({ policy: 'Parallel', replicas: 1, members: [m(0), m(1), m(2), m(3, { deleting: true })] }));
  t.same(names(down.delete), ['web-2', 'web-1'], 'all condemned, highest first, not the one already going');
});

t.test('OrderedReady scale-down: one at a time from the top, once the rest is available', async (t) => {
  t.same(names(plan(input({ replicas: 1, members: [m(0), m(1), m(2)] })).delete), ['web-2']);
  const wait = plan(input({ replicas: 1, members: [m(0), m(1), m(2, { deleting: true })] }));
  t.same(wait.delete, [], 'web-1 waits until web-2 is gone');
  t.same(plan(input({ replicas: 1, members: [m(0, { available: false }), m(1)] })).delete, [], 'not while a remaining member is unavailable');
  t.same(names(plan(input({ replicas: 0, start: 0, members: [m(0)] })).delete), ['web-0'], 'to zero');
});

t.test('ordinals.start shifts the range', async (t) => {
  const p = plan(input({ start: 5, replicas: 2, policy: 'Parallel', members: [m(0)] }));
  t.same(p.create.map((c) => c.ordinal), [5, 6]);
  t.same(names(p.delete), ['web-0'], 'an ordinal below start is condemned');
});

t.test('RollingUpdate: highest first within maxUnavailable; already unavailable outdated members do not wait', async (t) => {
  const old = (o: number, x: Partial<Member> = {}) => m(o, { revision: 'old', ...x });
  t.same(names(plan(input({ members: [old(0), old(1), old(2)] })).delete), ['web-2'], 'one at a time with maxUnavailable 1');
  t.same(names(plan(input({ maxUnavailable: 2, members: [old(0), old(1), old(2)] })).delete), ['web-2', 'web-1'], 'two with maxUnavailable 2');
  const busy = plan(input({ members: [old(0), old(1), m(2, { available: false })] }));
  t.same(busy.delete, [], 'nothing while the updated web-2 is not available yet');
  t.match(busy.waiting.join(), /maxUnavailable 1/);
  t.same(names(plan(input({ members: [old(0), old(1, { available: false, ready: false }), m(2)] })).delete), ['web-1'], 'a broken outdated member is replaced at once');
  t.same(names(plan(input({ members: [old(0), old(1), old(2)], inPlace: () => true })).reconfigure), ['web-2'], 'in place when only reconfigurable fields changed');
});

t.test('partition: only ordinals at or above it; new members below it get the current revision', async (t) => {
  const old = (o: number) => m(o, { revision: 'old' });
  t.same(names(plan(input({ partition: 2, maxUnavailable: 3, members: [old(0), old(1), old(2)] })).delete), ['web-2']);
  t.same(plan(input({ partition: 2, members: [old(0), m(2)] })).create, [{ ordinal: 1, revision: 'old' }], 'web-1 is recreated at the current revision');
  t.same(plan(input({ partition: 2, policy: 'Parallel', members: [] })).create.map((c) => c.revision), ['old', 'old', 'new']);
});

t.test('Recreate drains the old revision before creating; OnDelete replaces nothing', async (t) => {
  const old = (o: number) => m(o, { revision: 'old' });
  const r = plan(input({ strategy: 'Recreate', members: [old(0), old(1), m(2, { available: false })] }));
  t.same(names(r.delete), ['web-0', 'web-1'], 'every old member at once');
  t.same(r.create, []);
  const r2 = plan(input({ strategy: 'Recreate', members: [m(2)] }));
  t.same(r2.create.map((c) => c.ordinal), [0], 'then the new ones (in order)');
  const d = plan(input({ strategy: 'OnDelete', members: [old(0), old(1)] }));
  t.same(d.delete, []);
  t.same(d.create, [{ ordinal: 2, revision: 'new' }], 'a missing member comes at the update revision');
});

t.test('maxUnavailable and maxSurge rounding (as Deployments round)', async (t) => {
  t.equal(scaled('25%', 10, 'down'), 2);
  t.equal(scaled('25%', 10, 'up'), 3);
  t.equal(scaled(3, 10, 'down'), 3);
  t.equal(scaled('4', 10, 'down'), 4, 'a numeric string is a count');
  t.ok(Number.isNaN(scaled('lots', 10, 'down')), 'garbage is NaN (refused by the reconciler)');
  t.equal(resolveMaxUnavailable(undefined, 10), 2, 'default 25%');
  t.equal(resolveMaxUnavailable('10%', 3), 1, 'at least one, or nothing could be replaced');
  t.equal(resolveMaxUnavailable(0, 3), 1);
});

t.test('names, ordinals, selector strings and template hashes', async (t) => {
  t.equal(memberName('web', 3), 'web-3');
  t.equal(ordinalOf('web', 'web-12'), 12);
  t.equal(ordinalOf('web', 'web-01'), undefined, 'no leading zeros');
  t.equal(ordinalOf('web', 'web-api-1'), undefined, 'another set\'s member');
  t.equal(ordinalOf('web', 'webx-1'), undefined);
  t.equal(selectorString({ matchLabels: { b: '2', a: '1' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }, { key: 'x', operator: 'DoesNotExist' }] }), 'a=1,b=2,tier in (api,web),!x');
  const tpl = { metadata: { labels: { app: 'web' } }, spec: { imageRef: { name: 'a' }, classRef: { name: 'small' } } };
  const reordered = { spec: { classRef: { name: 'small' }, imageRef: { name: 'a' } }, metadata: { labels: { app: 'web' } } };
  t.equal(templateHash(tpl), templateHash(reordered), 'key order does not matter');
  t.not(templateHash(tpl), templateHash({ ...tpl, spec: { ...tpl.spec, imageRef: { name: 'b' } } }), 'content does');
  t.not(templateHash(tpl, 1), templateHash(tpl, 0), 'the collision count does');
  t.match(templateHash(tpl), /^[bcdfghjklmnpqrstvwxz2456789]+$/, 'safe alphabet (no vowels)');
});

t.test('expectations hold until the cache shows the write, or expire', async (t) => {
  let now = 0;
  const e = new Expectations(1000, () => now);
  const cache = new Map<string, any>();
  e.expect('ns/web', { kind: 'create', name: 'web-0' });
  e.expect('ns/web', { kind: 'delete', name: 'web-1', uid: 'u1' });
  cache.set('web-1', { metadata: { uid: 'u1' } });
  t.same([...e.pending('ns/web', (n) => cache.get(n)).keys()], ['web-0', 'web-1'], 'nothing seen yet');
  cache.set('web-0', { metadata: { uid: 'u0' } });
  cache.set('web-1', { metadata: { uid: 'u1', deletionTimestamp: 'now' } });
  t.same([...e.pending('ns/web', (n) => cache.get(n)).keys()], [], 'both seen');
  e.expect('ns/web', { kind: 'update', name: 'web-0', uid: 'u0', until: (vm) => vm.metadata.labels?.rev === 'b' });
  t.equal(e.pending('ns/web', (n) => cache.get(n)).size, 1);
  now = 2000;
  t.equal(e.pending('ns/web', (n) => cache.get(n)).size, 0, 'expired');
});
