/**
 * The harness starts a real API server with RBAC, admin / user /
 * ServiceAccount identities work as Kubernetes sees them.
 */
import { AuthenticationV1Api, CoreV1Api, VersionApi } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import t from 'tap';
import { ADMIN_USER, pinnedVersions, useControlPlane, type ControlPlane } from '../../src/testenv';
import { createNamespace, eventually, grantConfigMapAccess, statusOf, uniqueName } from './helpers';

let cp: ControlPlane;
t.before(async () => {
  cp = await useControlPlane(t);
});

t.test('the API server is up and reports the pinned version', async (t) => {
  t.match(cp.server, /^https:\/\/127\.0\.0\.1:\d+$/);
  t.ok(existsSync(cp.kubeconfigPath), 'admin kubeconfig written');
  const v = await cp.kubeConfig.makeApiClient(VersionApi).getCode();
  if (cp.binaries.source === 'cache') t.equal(v.gitVersion, pinnedVersions().kubernetes);
  else t.match(v.gitVersion, /^v1\.\d+\.\d+/);
  const who = await cp.kubeConfig.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
  t.equal(who.status?.userInfo?.username, ADMIN_USER);
  t.ok(who.status?.userInfo?.groups?.includes('system:masters'), 'admin is in system:masters');
});

t.test('a namespaced object can be created and read back', async (t) => {
  const ns = uniqueName('cp-objects');
  await createNamespace(cp.kubeConfig, ns);
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'hello' }, data: { greeting: 'hi' } } });
  const cm = await core.readNamespacedConfigMap({ namespace: ns, name: 'hello' });
  t.equal(cm.data?.greeting, 'hi');
  const k = await cp.kubectl(['get', 'configmap', 'hello', '-n', ns, '-o', 'jsonpath={.data.greeting}']);
  t.equal(k.code, 0, k.stderr);
  t.equal(k.stdout, 'hi', 'kubectl sees it through the admin kubeconfig');
});

t.test('RBAC denies a user without permissions and allows after a RoleBinding', async (t) => {
  const ns = uniqueName('cp-rbac');
  await createNamespace(cp.kubeConfig, ns);
  const alice = await cp.kubeconfigFor({ user: 'alice', groups: ['testers'] });
  t.equal(alice.user, 'alice');
  const who = await alice.kubeConfig.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
  t.equal(who.status?.userInfo?.username, 'alice');
  t.ok(who.status?.userInfo?.groups?.includes('testers'), 'group from the certificate');

  const core = alice.kubeConfig.makeApiClient(CoreV1Api);
  t.equal(await statusOf(core.listNamespacedConfigMap({ namespace: ns })), 403, 'denied before the binding');
  const k = await cp.kubectl(['get', 'configmaps', '-n', ns], { kubeconfigPath: alice.path });
  t.not(k.code, 0);
  t.match(k.stderr, /forbidden/i, 'kubectl with the user kubeconfig is denied too');

  await grantConfigMapAccess(cp.kubeConfig, ns, { kind: 'User', name: 'alice' });
  await eventually(() => core.listNamespacedConfigMap({ namespace: ns }));
  t.pass('allowed after the RoleBinding');
  t.equal(await statusOf(core.listNamespacedSecret({ namespace: ns })), 403, 'still denied for Secrets');
  t.equal(await statusOf(core.listNamespacedConfigMap({ namespace: 'default' })), 403, 'still denied in other namespaces');
});

t.test('a ServiceAccount kubeconfig authenticates as the ServiceAccount', async (t) => {
  const ns = uniqueName('cp-sa');
  await createNamespace(cp.kubeConfig, ns);
  const sa = await cp.kubeconfigForServiceAccount(ns, 'reconciler');
  t.equal(sa.user, `system:serviceaccount:${ns}:reconciler`);
  const who = await sa.kubeConfig.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
  t.equal(who.status?.userInfo?.username, sa.user);
  t.ok(who.status?.userInfo?.groups?.includes(`system:serviceaccounts:${ns}`));

  const core = sa.kubeConfig.makeApiClient(CoreV1Api);
  t.equal(await statusOf(core.listNamespacedConfigMap({ namespace: ns })), 403, 'no permissions yet');
  await grantConfigMapAccess(cp.kubeConfig, ns, { kind: 'ServiceAccount', name: 'reconciler' });
  await eventually(() => core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'made-by-sa' } } }));
  t.pass('can create ConfigMaps with exactly the granted Role');

  // Asking again reuses the existing ServiceAccount.
  const again = await cp.kubeconfigForServiceAccount(ns, 'reconciler');
  t.not(again.path, sa.path);
});
