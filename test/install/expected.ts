/**
 * What the install must grant, written out by hand (not derived from
 * src/install), so that any change to the RBAC shows up as a test failure.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';

export const ROOT = path.resolve(__dirname, '..', '..');
export const GROUP = 'infra.virtrigaud.io';
export const NAMESPACE = 'virtrigaud-system';
export const SERVICE_ACCOUNT = 'virtrigaud-reconciler';

export const PLURALS = [
  'virtualmachines',
  'vmclasses',
  'vmimages',
  'vmnetworkattachments',
  'providers',
  'vmplacementpolicies',
  'vmsnapshots',
  'vmclones',
  'vmsets',
  'vmmigrations',
] as const;

/** Every verb the API server knows for resources (for "everything else is denied"). */
export const ALL_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] as const;

/** The kinds the reconciler caches (list, watch); VMMigration has no controller and gets nothing. */
export const CACHED = ['virtualmachines', 'vmclasses', 'vmimages', 'vmnetworkattachments', 'providers', 'vmplacementpolicies', 'vmsnapshots', 'vmclones', 'vmsets'] as const;

/** `group/resource` -> verbs the ClusterRole grants. */
export function expectedClusterGrants(): Map<string, string[]> {
  return new Map([
    // VirtualMachine, VMSnapshot, VMClone, VMSet and Provider have controllers: cached, read fresh, finalizers/annotations, status.
    // VMSets create and delete their member VMs and own them (and their revisions) with blockOwnerDeletion.
    [`${GROUP}/virtualmachines`, ['list', 'watch', 'get', 'patch', 'create', 'delete']],
    [`${GROUP}/virtualmachines/status`, ['update']],
    [`${GROUP}/vmsnapshots`, ['list', 'watch', 'get', 'patch', 'create', 'delete']],
    [`${GROUP}/vmsnapshots/finalizers`, ['update']],
    [`${GROUP}/vmsnapshots/status`, ['update']],
    [`${GROUP}/providers`, ['list', 'watch', 'get']],
    [`${GROUP}/providers/status`, ['update']],
    [`${GROUP}/providers/finalizers`, ['update']],
    [`${GROUP}/vmsets`, ['list', 'watch', 'patch']],
    // A VMClone creates its VM (the VM create/delete above) but does not own it: no finalizers subresource.
    [`${GROUP}/vmclones`, ['list', 'watch', 'get', 'patch']],
    [`${GROUP}/vmclones/status`, ['update']],
    [`${GROUP}/vmsets/status`, ['update']],
    [`${GROUP}/vmimages/status`, ['update']],
    [`${GROUP}/vmnetworkattachments/status`, ['update']],
    [`${GROUP}/vmsets/finalizers`, ['update']],
    ['apps/controllerrevisions', ['get', 'list', 'watch', 'create', 'patch', 'delete']],
    // What VMs reference: cached only.
    [`${GROUP}/vmclasses`, ['list', 'watch']],
    [`${GROUP}/vmimages`, ['list', 'watch']],
    [`${GROUP}/vmnetworkattachments`, ['list', 'watch']],
    [`${GROUP}/vmplacementpolicies`, ['list', 'watch']],
    ['/secrets', ['get']],
    ['/events', ['create', 'patch']],
    ['/namespaces', ['list', 'watch']],
    ['apps/deployments', ['get', 'list', 'watch', 'create', 'patch']],
    ['/services', ['create', 'patch']],
    ['/serviceaccounts', ['create', 'patch']],
  ]);
}

/** `group/resource` -> verbs the leader-election Role grants in the install namespace. */
export function expectedRoleGrants(): Map<string, string[]> {
  return new Map([['coordination.k8s.io/leases', ['get', 'list', 'create', 'update', 'delete']]]);
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** Union of verbs per `group/resource` over a role's rules (sorted, so order does not matter). */
export function grantsOf(rules: PolicyRule[]): Map<string, string[]> {
  const m = new Map<string, Set<string>>();
  for (const r of rules) {
    for (const g of r.apiGroups ?? []) {
      for (const res of r.resources ?? []) {
        const k = `${g}/${res}`;
        const s = m.get(k) ?? new Set<string>();
        for (const v of r.verbs ?? []) s.add(v);
        m.set(k, s);
      }
    }
  }
  return new Map([...m].map(([k, s]) => [k, [...s].sort()]));
}

export function sortedGrants(m: Map<string, string[]>): [string, string[]][] {
  return [...m].map(([k, v]) => [k, [...v].sort()] as [string, string[]]).sort(([a], [b]) => a.localeCompare(b));
}

/** Every place in a rule where '*' would mean "all". */
export function wildcardsIn(rules: PolicyRule[]): string[] {
  const found: string[] = [];
  rules.forEach((r, i) => {
    for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs'] as const) {
      for (const v of r[field] ?? []) if (v.includes('*')) found.push(`rules[${i}].${field}: ${JSON.stringify(v)}`);
    }
  });
  return found;
}

export function readYamlDocs(file: string): any[] {
  return parseAllDocuments(fs.readFileSync(path.join(ROOT, file), 'utf8')).map((d) => d.toJS()).filter((d) => d != null);
}
