/** CRD installation: waits for Established, reports rejected and unaccepted CRDs clearly. */
import { ApiextensionsV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { join } from 'node:path';
import t from 'tap';
import { CrdInstallError, REPO_ROOT, useControlPlane, type ControlPlane } from '../../src/testenv';
import { createNamespace, statusOf, uniqueName } from './helpers';

const fixture = (name: string) => join(REPO_ROOT, 'test', 'testenv', 'fixtures', name);

let cp: ControlPlane;
t.before(async () => {
  cp = await useControlPlane(t);
});

t.test('installing a CRD waits until it is Established and served', async (t) => {
  const installed = await cp.applyCrds([fixture('widgets.crd.yaml')]);
  t.same(installed.map((c) => c.metadata?.name), ['widgets.testenv.virtrigaud.io']);
  const established = installed[0]!.status?.conditions?.find((c) => c.type === 'Established');
  t.equal(established?.status, 'True');

  // Served right away: no retry needed.
  const ns = uniqueName('crd-widgets');
  await createNamespace(cp.kubeConfig, ns);
  const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
  const body = { apiVersion: 'testenv.virtrigaud.io/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 2 } };
  await custom.createNamespacedCustomObject({ group: 'testenv.virtrigaud.io', version: 'v1', namespace: ns, plural: 'widgets', body });

  // The CRD's CEL rule is enforced by the real API server.
  const bad = { ...body, metadata: { name: 'w2' }, spec: { size: 5, maxSize: 3 } };
  t.equal(
    await statusOf(custom.createNamespacedCustomObject({ group: 'testenv.virtrigaud.io', version: 'v1', namespace: ns, plural: 'widgets', body: bad })),
    422,
    'CEL rule rejects size > maxSize',
  );

  // Applying the same file again is a no-op that still succeeds.
  const again = await cp.applyCrds([fixture('widgets.crd.yaml')]);
  t.equal(again.length, 1);
});

t.test('a CRD with a CEL rule that does not compile is rejected with the reason', async (t) => {
  const err = await cp.applyCrds([fixture('broken-cel.crd.yaml')]).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, CrdInstallError);
  const e = err as CrdInstallError;
  t.equal(e.failures.length, 1);
  t.equal(e.failures[0]!.name, 'brokenrules.testenv.virtrigaud.io');
  t.equal(e.failures[0]!.kind, 'rejected');
  t.match(e.message, /brokenrules\.testenv\.virtrigaud\.io/, 'names the CRD');
  t.match(e.message, /broken-cel\.crd\.yaml/, 'names the file');
  t.match(e.message, /x-kubernetes-validations\[0\]\.rule/, 'points at the rule');
  t.match(e.message, /noSuchField/, 'quotes the compiler error');
  t.comment(e.message);
  const ext = cp.kubeConfig.makeApiClient(ApiextensionsV1Api);
  t.equal(await statusOf(ext.readCustomResourceDefinition({ name: 'brokenrules.testenv.virtrigaud.io' })), 404, 'nothing was created');
});

t.test('a CRD whose names are not accepted is reported as not Established, with conditions', async (t) => {
  const err = await cp.applyCrds([fixture('kind-conflict.crd.yaml')], { timeoutMs: 15_000 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(err, CrdInstallError);
  const e = err as CrdInstallError;
  t.equal(e.failures.length, 1, 'only the second CRD fails');
  const f = e.failures[0]!;
  t.equal(f.name, 'gizmoclones.conflict.testenv.virtrigaud.io');
  t.equal(f.kind, 'not-established');
  // Kind and list kind both clash; the naming controller names one of them.
  t.ok(
    f.conditions?.some((c) => c.type === 'NamesAccepted' && c.status === 'False' && /KindConflict$/.test(c.reason ?? '')),
    'NamesAccepted=False with a KindConflict/ListKindConflict reason',
  );
  t.match(e.message, /not Established/);
  t.match(e.message, /NamesAccepted=False \((List)?KindConflict/);
  t.comment(e.message);
});

t.test('a file with something other than CRDs is refused before anything is sent', async (t) => {
  await t.rejects(cp.applyCrds([fixture('not-a-crd.yaml')]), /expected only CustomResourceDefinitions, found ConfigMap/);
});
