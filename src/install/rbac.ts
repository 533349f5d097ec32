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

/**
 * The kinds the reconciler reads, by the controllers that use them: the
 * VirtualMachine, VMSnapshot, VMSet, VMImage, VMClone and Provider controllers and
 * the caches of what a VM references. VMMigration has no controller yet, so
 * the reconciler gets no access to it at all.
 */
const CACHED_KINDS = ['VirtualMachine', 'Provider', 'VMClass', 'VMImage', 'VMNetworkAttachment', 'VMPlacementPolicy', 'VMSnapshot', 'VMSet', 'VMClone'] as const;
/** Kinds whose status the reconciler writes (PUT of the status subresource). */
const STATUS_KINDS = ['VirtualMachine', 'VMSnapshot', 'Provider', 'VMSet', 'VMImage', 'VMNetworkAttachment', 'VMClone'] as const;
/** Kinds it reads fresh from the server where the cache may lag (before a create on the provider, on a 409). */
const FRESH_READ_KINDS = ['VirtualMachine', 'VMSnapshot', 'Provider', 'VMClone'] as const;
/** Kinds whose finalizers and annotations it sets (merge patch; never PUT). */
const PATCHED_KINDS = ['VirtualMachine', 'VMSnapshot', 'VMSet', 'VMClone'] as const;
/** Owners of objects the reconciler creates with `blockOwnerDeletion` (the Provider owns its runtime, a VMSet its members and revisions, a VMSnapshot schedule its snapshots). */
const OWNER_KINDS = ['Provider', 'VMSet', 'VMSnapshot'] as const;

/**
 * The cluster-wide permissions of the reconciler (its ClusterRole). VMs and
 * the other kinds live in any namespace, so these cannot be namespaced.
 * Every verb here is used by the reconciler; test/security/rbac-minimal.test.ts
 * takes each one away in turn and shows what then stops working.
 */
export function clusterRules(kinds: readonly KindDefinition[]): RbacRule[] {
  const group = kinds[0]?.group ?? 'infra.virtrigaud.io';
  const plurals = (wanted: readonly string[], suffix = '') => kinds.filter((k) => wanted.includes(k.kind)).map((k) => `${k.plural}${suffix}`);
  const rules: RbacRule[] = [
    // Informers: one list+watch per kind the controllers cache.
    { apiGroup: group, resources: plurals(CACHED_KINDS), verbs: ['list', 'watch'], why: 'cache the objects the controllers read (one informer per kind)' },
    { apiGroup: group, resources: plurals(FRESH_READ_KINDS), verbs: ['get'], why: 'read an object fresh where the cache may lag (before creating on the provider, after a write conflict)' },
    { apiGroup: group, resources: plurals(PATCHED_KINDS), verbs: ['patch'], why: 'add and remove its finalizer and set annotations (merge patch)' },
    { apiGroup: group, resources: plurals(STATUS_KINDS, '/status'), verbs: ['update'], why: 'write status (phase, conditions, observed state)' },
    // The OwnerReferencesPermissionEnforcement admission plugin (where enabled) checks update on <owner>/finalizers.
    { apiGroup: group, resources: plurals(OWNER_KINDS, '/finalizers'), verbs: ['update'], why: 'own a Provider\'s runtime objects, a VMSet\'s members and revisions and a schedule\'s snapshots with blockOwnerDeletion (OwnerReferencesPermissionEnforcement)' },
    // Read by name only: Provider credentials and TLS material, cloud-init user data.
    { apiGroup: '', resources: ['secrets'], verbs: ['get'], why: 'read the Secrets Providers and VMs name (credentials, TLS material, cloud-init user data)' },
    // core/v1 Events: create, and patch to bump the count of a repeated one (runtime/events.ts).
    { apiGroup: '', resources: ['events'], verbs: ['create', 'patch'], why: 'record events on objects in their namespaces (core/v1; a repeated event is patched)' },
    // Cross-namespace consent: allowedNamespaces may select namespaces by label; an informer caches them (never a get).
    { apiGroup: '', resources: ['namespaces'], verbs: ['list', 'watch'], why: 'cache namespace labels for allowedNamespaces selectors (cross-namespace consent)' },
  ];
  if (plurals(['VMSnapshot']).length) {
    rules.push({ apiGroup: group, resources: plurals(['VMSnapshot']), verbs: ['create', 'delete'], why: 'create the VMSnapshots a schedule (spec.schedule) is due for; delete those retention or history limits expire' });
  }
  if (plurals(['VMSet']).length) {
    // VMSet members are VirtualMachines in the set's own namespace, made from its template; its template history
    // is kept as ControllerRevisions (labelled, so the informer lists only those).
    rules.push(
      { apiGroup: group, resources: plurals(['VirtualMachine']), verbs: ['create', 'delete'], why: 'create and delete the member VMs of a VMSet and the VM a VMClone makes (in their own namespace)' },
      { apiGroup: 'apps', resources: ['controllerrevisions'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'], why: 'keep each VMSet\'s template revisions (renumbered on rollback, pruned to revisionHistoryLimit)' },
    );
  }
  if (plurals(['Provider']).length) {
    // Provider runtimes: server-side apply (patch; create when the object is new) of a ServiceAccount, a Service
    // and a Deployment per Provider. Nothing deletes them: owner references let the garbage collector do it.
    rules.push(
      { apiGroup: 'apps', resources: ['deployments'], verbs: ['get', 'list', 'watch', 'create', 'patch'], why: 'apply each Provider\'s runtime Deployment (server-side apply) and follow its readiness' },
      { apiGroup: '', resources: ['services'], verbs: ['create', 'patch'], why: 'apply the Service of each Provider runtime (server-side apply)' },
      { apiGroup: '', resources: ['serviceaccounts'], verbs: ['create', 'patch'], why: 'apply the ServiceAccount of each Provider runtime (server-side apply)' },
    );
  }
  return rules.filter((r) => r.resources.length > 0);
}

/**
 * The permissions of the reconciler in its own namespace only (a Role):
 * leader election between the replicas and the address Leases.
 */
export function leaderElectionRules(): RbacRule[] {
  return [
    // Leader election: one Lease, read, created by the first replica, renewed (update) by the leader. It records no Events.
    // Address allocation: one Lease per address held, created as the claim, listed by pool and VM, deleted as the release.
    { apiGroup: 'coordination.k8s.io', resources: ['leases'], verbs: ['get', 'list', 'create', 'update', 'delete'], why: 'leader election between the replicas, and one Lease per IP address handed out from a Static or Pool VMNetworkAttachment (all in the install namespace)' },
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
