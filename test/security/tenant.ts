/**
 * A tenant for attack tests: a user whose Role allows virtrigaud objects
 * (status included) and Secrets in its own namespace, and nothing else, as
 * a platform team would hand out.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { CoreResources, KubeClient, type ResourceType } from '../../src/reconciler/runtime';
import { RBAC, type OperatorEnv } from '../reconciler/support/env';

const roles: ResourceType = { ...RBAC, plural: 'roles', kind: 'Role', namespaced: true };
const roleBindings: ResourceType = { ...RBAC, plural: 'rolebindings', kind: 'RoleBinding', namespaced: true };

export interface Tenant {
  readonly ns: string;
  readonly user: string;
  readonly kubeConfig: KubeConfig;
  readonly client: KubeClient;
}

/** Creates namespace `ns` (unless it exists) and a tenant confined to it. */
export async function tenantIn(env: OperatorEnv, ns: string): Promise<Tenant> {
  const { admin } = env;
  if (!(await admin.get(CoreResources.namespaces, undefined, ns))) {
    await admin.create(CoreResources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  }
  const user = `tenant-${ns}`;
  await admin.create(roles, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'tenant', namespace: ns },
    rules: [
      { apiGroups: ['infra.virtrigaud.io'], resources: ['*'], verbs: ['*'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['*'] },
    ],
  });
  await admin.create(roleBindings, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'tenant', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tenant' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
  });
  const kubeConfig = (await env.cp.kubeconfigFor({ user, namespace: ns })).kubeConfig;
  return { ns, user, kubeConfig, client: new KubeClient(kubeConfig, { qps: 200, burst: 400 }) };
}
