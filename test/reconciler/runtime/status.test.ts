/** The shared status helper every controller writes with: drafts, transition Events, redaction, intent writes. */
import t from 'tap';
import { ALL_KINDS } from '../../../src/api/v1beta1';
import { Kinds } from '../../../src/reconciler/kinds';
import { KubeClient, StatusDraft, writeStatus } from '../../../src/reconciler/runtime';
import { useControlPlane } from '../../../src/testenv';
import { createNamespace, CRDS, VMClasses, vmClass } from './helpers';

const recorder = () => {
  const events: string[] = [];
  return { events, event: (_o: unknown, type: string, reason: string, message: string) => void events.push(`${type} ${reason}: ${message}`) };
};

t.test('Kinds names every kind the CRDs define', async (t) => {
  t.same(Object.keys(Kinds).sort(), ALL_KINDS.map((k) => k.kind).sort());
});

t.test('StatusDraft: transitions, Events on transitions only, normalization', async (t) => {
  const obj = { metadata: { name: 'a', namespace: 'n', generation: 3 }, status: { phase: 'Pending' } as Record<string, any> };
  const d = new StatusDraft<Record<string, any>>(obj);
  t.notOk(d.changed(), 'a fresh draft equals what is stored');
  const r = recorder();
  d.report(r, 'Ready', false, 'Waiting', 'waiting for x');
  d.report(r, 'Ready', false, 'Waiting', 'still waiting for x');
  d.report(r, 'Ready', true, 'Ready', 'done', { normal: false });
  d.report(r, 'Ready', false, 'Broken', 'it broke');
  t.same(r.events, ['Warning Waiting: waiting for x', 'Warning Broken: it broke'], 'one Warning per transition to not-True; no Normal when asked');
  t.equal(d.getCondition('Ready')?.observedGeneration, 3, 'observedGeneration is the object generation');
  d.status.taskRef = undefined;
  d.status.message = '';
  d.status.phase = 'Pending';
  const norm = d.normalized();
  t.notOk('taskRef' in norm || 'message' in norm, 'undefined and empty fields are dropped');
  t.ok(d.changed(), 'a new condition is a change');
  t.equal(obj.status.conditions, undefined, 'the object is untouched until written');
});

t.test('writeStatus against the API server', async (t) => {
  const cp = await useControlPlane(t);
  await cp.applyCrds([CRDS]);
  const client = new KubeClient(cp.kubeConfig);
  t.teardown(() => client.close());
  const ns = await createNamespace(client, 'rt-status');
  const created = await client.create<any>(VMClasses, vmClass(ns, 'c'));

  const draft = new StatusDraft<any>(created);
  draft.condition('Ready', false, 'Failed', 'token=s3cr3t was refused');
  t.ok(await writeStatus(client, Kinds.VMClass, created, draft, { redact: (m) => m.replace('s3cr3t', '[REDACTED]') }));
  const stored = await client.get<any>(VMClasses, ns, 'c');
  t.equal(stored.status.conditions[0].message, 'token=[REDACTED] was refused', 'condition messages are redacted before they are written');
  t.equal(created.metadata.resourceVersion, stored.metadata.resourceVersion, 'the object is updated in place');

  // Idle: nothing changed, no write (the resourceVersion stays).
  const again = new StatusDraft<any>(created);
  again.condition('Ready', false, 'Failed', 'token=s3cr3t was refused');
  t.ok(await writeStatus(client, Kinds.VMClass, created, again, { redact: (m) => m.replace('s3cr3t', '[REDACTED]') }));
  t.equal((await client.get<any>(VMClasses, ns, 'c')).metadata.resourceVersion, stored.metadata.resourceVersion, 'an unchanged status is not written');

  // An intent decided from a stale view is refused; a plain write is not.
  const staleView = structuredClone(created);
  const other = new StatusDraft<any>(created);
  other.condition('Ready', true, 'Ready', 'someone else');
  await writeStatus(client, Kinds.VMClass, created, other);
  const intent = new StatusDraft<any>(staleView);
  intent.condition('Ready', false, 'Creating', 'about to create');
  t.notOk(await writeStatus(client, Kinds.VMClass, staleView, intent, { unlessStale: true }), 'the intent write is refused');
  t.equal((await client.get<any>(VMClasses, ns, 'c')).status.conditions[0].reason, 'Ready', 'and wrote nothing');
  t.equal(staleView.status.conditions[0].reason, 'Ready', 'the stale object now holds what the server has');
  const plain = new StatusDraft<any>(staleView);
  plain.condition('Ready', false, 'Creating', 'about to create');
  t.ok(await writeStatus(client, Kinds.VMClass, staleView, plain, { unlessStale: true }), 'from the fresh view the intent is written');
});
