import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KindDefinition } from '../schema';
import { COMMON_LABELS, NAMES } from './names';
import { dropEmptyDefaults } from './patches';

/**
 * One RBAC permission of the reconciler: these verbs on these resources of one
 * API group. Kept as data so that the install, the docs and the tests read the
 * same list; cdk8s-plus renders each resource as its own PolicyRule.
 */
export interface RbacRule {
  /** API group; '' is the core group. */
  readonly apiGroup: string;
  /** Resources (plural names, `plural/subresource` for subresources). Never '*'. */
  readonly resources: readonly string[];
  /** Verbs, never '*'. */
  readonly verbs: readonly string[];
  /** Why the reconciler needs it (one line; also shown in docs/install.md). */
  readonly why: string;
}

/** Read and update, not create or delete: for objects users create and the reconciler only tends (finalizers, labels, annotations). */
const READ_UPDATE = ['get', 'list', 'watch', 'update', 'patch'] as const;
/** Full management of objects the reconciler renders itself, without deletecollection. */
const MANAGE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] as const;

/**
 * The cluster-wide permissions of the reconciler (its ClusterRole). VMs and
 * the other kinds live in any namespace, so these cannot be namespaced.
 */
export function clusterRules(kinds: readonly KindDefinition[]): RbacRule[] {
  const group = kinds[0]?.group ?? 'infra.virtrigaud.io';
  const plurals = kinds.map((k) => k.plural);
  const vm = kinds.find((k) => k.kind === 'VirtualMachine');
  return [
    // Every kind: the reconciler watches them all and updates their metadata (finalizers, labels).
    {
      apiGroup: group,
      resources: plurals,
      verbs: [...READ_UPDATE],
      why: 'watch every virtrigaud object and update it (finalizers, labels, annotations)',
    },
    // VirtualMachines also get create and delete: VMClone, VMMigration and VMSet create VMs, VMSet scales them down.
    ...(vm
      ? [{ apiGroup: group, resources: [vm.plural], verbs: ['create', 'delete'], why: 'VMClone, VMMigration and VMSet create VirtualMachines; VMSet deletes them when scaling down' }]
      : []),
    // The status subresource: the reconciler reports observed state, conditions and phases there.
    { apiGroup: group, resources: plurals.map((p) => `${p}/status`), verbs: ['get', 'update', 'patch'], why: 'write status (phase, conditions, observed state) of every object' },
    // The finalizers subresource: needed to set blockOwnerDeletion owner references on objects it creates
    // (the OwnerReferencesPermissionEnforcement admission plugin checks update on <owner>/finalizers).
    { apiGroup: group, resources: plurals.map((p) => `${p}/finalizers`), verbs: ['update'], why: 'set owner references with blockOwnerDeletion on the objects it creates' },
    // Secrets: Provider credentials and cloud-init/ignition user data referenced by VMs, in any namespace. Read only.
    { apiGroup: '', resources: ['secrets'], verbs: ['get', 'list', 'watch'], why: 'read Provider credentials and VM user data (cloud-init, ignition) referenced by name' },
    // Events about VMs and the other kinds, recorded in the object's namespace (any namespace).
    { apiGroup: '', resources: ['events'], verbs: ['create', 'patch'], why: 'record events on objects in their namespaces (core/v1 recorder)' },
    { apiGroup: 'events.k8s.io', resources: ['events'], verbs: ['create', 'patch'], why: 'record events on objects in their namespaces (events.k8s.io/v1 recorder)' },
    // Provider runtimes: the Provider controller renders a Deployment, Service and ServiceAccount per Provider.
    { apiGroup: 'apps', resources: ['deployments'], verbs: [...MANAGE], why: 'run each Provider\'s runtime as a Deployment in the Provider\'s namespace' },
    { apiGroup: '', resources: ['services'], verbs: [...MANAGE], why: 'expose each Provider runtime (gRPC) as a Service' },
    { apiGroup: '', resources: ['serviceaccounts'], verbs: [...MANAGE], why: 'give each Provider runtime its own ServiceAccount' },
  ];
}

/**
 * The permissions of the reconciler in its own namespace only (a Role):
 * leader election between the replicas.
 */
export function leaderElectionRules(): RbacRule[] {
  return [
    // Leader election: one Lease, read, created by the first replica, renewed (update) by the leader.
    { apiGroup: 'coordination.k8s.io', resources: ['leases'], verbs: ['get', 'create', 'update'], why: 'leader election between the replicas (one Lease in the install namespace)' },
    // Leader election records "became leader" events in the install namespace. The ClusterRole also grants this;
    // it is repeated so that the Role is complete on its own.
    { apiGroup: '', resources: ['events'], verbs: ['create', 'patch'], why: 'leader-election events in the install namespace' },
  ];
}

function endpoints(rule: RbacRule): kplus.ApiResource[] {
  return rule.resources.map((resourceType) => kplus.ApiResource.custom({ apiGroup: rule.apiGroup, resourceType }));
}

export interface ReconcilerRbacProps {
  /** The kinds the reconciler manages. */
  readonly kinds: readonly KindDefinition[];
  /** Namespace of the ServiceAccount and the leader-election Role. */
  readonly namespace: string;
  /** The reconciler's ServiceAccount. */
  readonly serviceAccount: kplus.ServiceAccount;
}

/**
 * The reconciler's RBAC: a ClusterRole bound cluster-wide and a Role bound in
 * the install namespace, both to the reconciler's ServiceAccount.
 */
export class ReconcilerRbac extends Construct {
  readonly clusterRole: kplus.ClusterRole;
  readonly clusterRoleBinding: kplus.ClusterRoleBinding;
  readonly leaderElectionRole: kplus.Role;
  readonly leaderElectionRoleBinding: kplus.RoleBinding;

  constructor(scope: Construct, id: string, props: ReconcilerRbacProps) {
    super(scope, id);
    this.clusterRole = new kplus.ClusterRole(this, 'ClusterRole', {
      metadata: { name: NAMES.clusterRole, labels: { ...COMMON_LABELS } },
    });
    const rules = clusterRules(props.kinds);
    for (const rule of rules) this.clusterRole.allow([...rule.verbs], ...endpoints(rule));
    // cdk8s-plus writes one PolicyRule per resource, each with `resourceNames: []`.
    const count = rules.reduce((n, r) => n + r.resources.length, 0);
    dropEmptyDefaults(this.clusterRole, ...Array.from({ length: count }, (_, i) => `/rules/${i}/resourceNames`));
    this.clusterRoleBinding = new kplus.ClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name: NAMES.clusterRoleBinding, labels: { ...COMMON_LABELS } },
      role: this.clusterRole,
    });
    this.clusterRoleBinding.addSubjects(props.serviceAccount);
    dropEmptyDefaults(this.clusterRoleBinding, '/subjects/0/apiGroup');

    this.leaderElectionRole = new kplus.Role(this, 'LeaderElectionRole', {
      metadata: { name: NAMES.leaderElectionRole, namespace: props.namespace, labels: { ...COMMON_LABELS } },
    });
    for (const rule of leaderElectionRules()) this.leaderElectionRole.allow([...rule.verbs], ...endpoints(rule));
    this.leaderElectionRoleBinding = new kplus.RoleBinding(this, 'LeaderElectionRoleBinding', {
      metadata: { name: NAMES.leaderElectionRoleBinding, namespace: props.namespace, labels: { ...COMMON_LABELS } },
      role: this.leaderElectionRole,
    });
    this.leaderElectionRoleBinding.addSubjects(props.serviceAccount);
    dropEmptyDefaults(this.leaderElectionRoleBinding, '/subjects/0/apiGroup');
  }
}
