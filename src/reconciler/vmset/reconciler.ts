/**
 * The VMSet reconcile function: keeps `replicas` member VirtualMachines
 * named `<set>-<ordinal>`, owned by the set and labelled with their
 * revision, and rolls template changes out as the update strategy says
 * (src/reconciler/vmset/plan.ts decides; this file carries it out and
 * reports). The VM controller does the rest for each member.
 *
 * A finalizer deletes the members when the set is deleted (and waits for
 * them, so a `kubectl delete vmset` returns once the VMs are gone from the
 * hypervisor), unless the deletion orphans them (`--cascade=orphan`).
 */
import type { VirtualMachine } from '../../generated/virtual-machine';
import type { VMSet, VMSetStatus } from '../../generated/vm-set';
import { selectorMatches } from '../consent';
import type { ControllerDeps } from '../deps';
import { VM_INDEX } from '../informers';
import { Kinds } from '../kinds';
import { addFinalizer, Expectations, hasFinalizer, isAlreadyExists, isNotFound, removeFinalizer, StatusDraft, writeStatus, type KubeClient, type RequestOptions, type ResourceType, type Result } from '../runtime';
import { memberLabels, memberViews, type MemberView } from './members';
import { REVISION_LABEL, selectorIsEmpty, selectorString, stableJson } from './naming';
import { plan, resolveMaxUnavailable, scaled, type Plan } from './plan';
import { controllerRef, ensureUpdateRevision, pruneRevisions, revisionsOf, type ControllerRevision } from './revisions';
import { reportStatus } from './status';

export const VMSET_FINALIZER = 'vmset.infra.virtrigaud.io/finalizer';

/** VM spec fields a member can take in place (the VM controller reconfigures them); any other change replaces the member. */
const IN_PLACE_FIELDS = ['resources', 'classRef', 'powerState', 'lifecycle', 'tags'] as const;

type Template = NonNullable<VMSet['spec']>['template'];
type Draft = StatusDraft<VMSetStatus>;

export class VmSetReconciler {
  private readonly expectations = new Expectations();
  /** The API client, but a VMSet re-read after a write conflict comes from the cache (as controller-runtime's client reads): no `get` on vmsets. */
  private readonly client: KubeClient;

  constructor(private readonly o: ControllerDeps) {
    const sets = o.informers.vmsets;
    this.client = Object.create(o.client, {
      get: {
        value: async (rt: ResourceType, ns: string | undefined, name: string, opts?: RequestOptions) => {
          if (rt.plural !== Kinds.VMSet.plural || rt.group !== Kinds.VMSet.group) return o.client.get(rt, ns, name, opts);
          const cached = sets.get(`${ns}/${name}`);
          return cached && structuredClone(cached);
        },
      },
    });
  }

  async reconcile(key: string): Promise<Result | void> {
    const i = this.o.informers;
    const cached = i.vmsets.get(key);
    if (!cached) {
      this.expectations.forget(key);
      return;
    }
    let set = structuredClone(cached);
    const owned = this.owned(set);
    if (set.metadata?.deletionTimestamp) return this.finalize(key, set, owned);
    if (!hasFinalizer(set, VMSET_FINALIZER)) set = await addFinalizer(this.client, Kinds.VMSet, set, VMSET_FINALIZER);
    const draft = new StatusDraft<VMSetStatus>(set);
    draft.status.observedGeneration = set.metadata?.generation;
    draft.status.selector = selectorString(set.spec?.selector);

    const invalid = this.invalid(set);
    if (invalid) {
      draft.report(this.o.events, 'Ready', false, invalid.reason, invalid.message);
      draft.condition('Progressing', false, invalid.reason, invalid.message);
      await this.write(set, draft);
      return;
    }
    const spec = set.spec!;
    const rev = await ensureUpdateRevision(this.o.client, i.revisions, set, draft.status.collisionCount ?? 0);
    if (rev.collisionCount) draft.status.collisionCount = rev.collisionCount;
    if (rev.changed) this.o.events.event(set, 'Normal', 'RevisionCreated', `revision ${rev.name} is the update revision`);
    const updateRevision = rev.name;
    const currentRevision = draft.status.currentRevision || updateRevision;
    const now = Date.now();
    const members = memberViews(set, owned, this.expectations.pending(key, (n) => i.vms.get(`${set.metadata!.namespace}/${n}`)), now);
    const replicas = spec.replicas ?? 1;
    const strategy = spec.updateStrategy?.type ?? 'RollingUpdate';
    const rolling = spec.updateStrategy?.rollingUpdate;
    const templates = new Map(revisionsOf(i.revisions, set).map((r) => [r.metadata!.name!, r.data?.template]));
    templates.set(updateRevision, spec.template);
    const p = plan({
      replicas,
      start: spec.ordinals?.start ?? 0,
      policy: rolling?.podManagementPolicy ?? 'OrderedReady',
      strategy,
      maxUnavailable: resolveMaxUnavailable(rolling?.maxUnavailable, replicas),
      partition: rolling?.partition ?? 0,
      updateRevision,
      currentRevision,
      members,
      inPlace: (m) => inPlace(templates.get(m.revision ?? ''), spec.template),
    });
    const failures = await this.carryOut(key, set, p, templates, updateRevision);

    reportStatus(draft, this.o.events, { set, members, plan: p, failures, updateRevision, currentRevision, strategy });
    const inUse = new Set([draft.status.currentRevision!, updateRevision, ...members.map((m) => m.revision ?? '')]);
    await pruneRevisions(this.o.client, i.revisions, set, inUse);
    await this.write(set, draft);
    // minReadySeconds: wake up when the next ready member becomes available (no event says so).
    const minReady = spec.minReadySeconds ?? 0;
    if (minReady && members.some((m) => m.ready && !m.available)) return { requeueAfterMs: 1_000 };
    if (failures.length) return { requeueAfterMs: 10_000 };
  }

  /** The VMs this set controls (owner reference with its uid). */
  private owned(set: VMSet): VirtualMachine[] {
    return this.o.informers.vms.byIndex(VM_INDEX.vmset, `${set.metadata!.namespace}/${set.metadata!.name}`).filter((vm) => vm.metadata?.ownerReferences?.some((r) => r.controller && r.uid === set.metadata?.uid));
  }

  private invalid(set: VMSet): { reason: string; message: string } | undefined {
    const spec = set.spec;
    if (!spec?.template?.spec) return { reason: 'InvalidSpec', message: 'spec.template.spec: Required value' };
    if (selectorIsEmpty(spec.selector)) return { reason: 'InvalidSelector', message: 'spec.selector: Invalid value: an empty selector would select every VirtualMachine of the namespace' };
    const labels = spec.template.metadata?.labels ?? {};
    if (!selectorMatches(spec.selector, labels)) {
      return { reason: 'InvalidSelector', message: `spec.template.metadata.labels: Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\` (selector "${selectorString(spec.selector)}")` };
    }
    const mu = spec.updateStrategy?.rollingUpdate?.maxUnavailable;
    if (mu !== undefined && Number.isNaN(scaled(mu, 1, 'down'))) {
      return { reason: 'InvalidSpec', message: `spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: ${JSON.stringify(mu)}: must be an integer or a percentage such as "25%"` };
    }
    const ms = spec.updateStrategy?.rollingUpdate?.maxSurge;
    if (ms !== undefined && Number.isNaN(scaled(ms, 1, 'up'))) {
      return { reason: 'InvalidSpec', message: `spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: ${JSON.stringify(ms)}: must be an integer or a percentage such as "25%"` };
    }
    if (spec.volumeClaimTemplates?.length) {
      return { reason: 'Unsupported', message: 'spec.volumeClaimTemplates: Unsupported value: member VMs have no way to mount PersistentVolumeClaims on a hypervisor; give members disks in spec.template.spec.disks' };
    }
    return undefined;
  }

  /** Creates, deletes and reconfigures members as planned; returns the failures (one line each). */
  private async carryOut(key: string, set: VMSet, p: Plan<MemberView>, templates: Map<string, Template | undefined>, updateRevision: string): Promise<string[]> {
    const ns = set.metadata!.namespace!;
    const client = this.o.client;
    const failures: string[] = [];
    const conflicts: string[] = [];
    const setName = set.metadata!.name!;
    const name = (o: number) => `${setName}-${o}`;
    // Slow start, as kube-controller-manager's batches: 1, 2, 4, ... writes at a time, stopping after a batch with a
    // failed request (a quota or a 429 would fail the rest the same way; the next reconcile retries).
    await slowStart(failures, [
      ...p.create.map(({ ordinal, revision }) => async () => {
        // A name someone else's VM holds is reported without a request, and does not hold the other members back.
        if (!this.isOurs(set, name(ordinal))) {
          const why = `a VirtualMachine named ${name(ordinal)} exists and is not controlled by this VMSet`;
          conflicts.push(`create VirtualMachine ${name(ordinal)}: ${why}`);
          this.o.events.event(set, 'Warning', 'FailedCreate', `create VirtualMachine ${name(ordinal)} in VMSet ${setName} failed: ${why}`);
          return;
        }
        const template = templates.get(revision) ?? set.spec!.template;
        const vm: VirtualMachine = {
          apiVersion: 'infra.virtrigaud.io/v1beta1',
          kind: 'VirtualMachine',
          metadata: {
            name: name(ordinal),
            namespace: ns,
            labels: memberLabels(template, revision, ordinal),
            ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
            ownerReferences: [controllerRef(set)],
          },
          spec: structuredClone(template.spec) as VirtualMachine['spec'],
        };
        try {
          await client.create(Kinds.VirtualMachine, vm);
          this.expectations.expect(key, { kind: 'create', name: name(ordinal), revision });
          this.o.events.event(set, 'Normal', 'SuccessfulCreate', `create VirtualMachine ${name(ordinal)} in VMSet ${setName} successful`);
        } catch (e) {
          // Our own create the cache has not shown yet is fine; someone else's VM of that name is a failure the set reports.
          if (isAlreadyExists(e) && this.isOurs(set, name(ordinal))) return;
          const why = isAlreadyExists(e) ? `a VirtualMachine named ${name(ordinal)} exists and is not controlled by this VMSet` : (e as Error).message;
          if (!isAlreadyExists(e)) this.o.logger.error('creating a VMSet member failed', { vmset: key, vm: name(ordinal), error: e });
          failures.push(`create VirtualMachine ${name(ordinal)}: ${why}`);
          this.o.events.event(set, 'Warning', 'FailedCreate', `create VirtualMachine ${name(ordinal)} in VMSet ${setName} failed: ${why}`);
        }
      }),
      ...p.delete.map((m) => () => this.deleteMember(key, set, m, failures, m.revision !== updateRevision && m.ordinal >= 0 ? 'replace' : 'delete')),
      ...p.reconfigure.map((m) => async () => {
        const template = set.spec!.template;
        try {
          await client.patch(Kinds.VirtualMachine, ns, m.name, [
            { op: 'test', path: '/metadata/uid', value: m.vm!.metadata!.uid },
            { op: 'replace', path: '/spec', value: template.spec },
            { op: 'add', path: '/metadata/labels', value: memberLabels(template, updateRevision, m.ordinal) },
          ], { type: 'json' });
          this.expectations.expect(key, { kind: 'update', name: m.name, uid: m.vm!.metadata!.uid!, revision: updateRevision, until: (vm: VirtualMachine) => vm.metadata?.labels?.[REVISION_LABEL] === updateRevision });
          this.o.events.event(set, 'Normal', 'SuccessfulUpdate', `update VirtualMachine ${m.name} in place to revision ${updateRevision}`);
        } catch (e) {
          this.o.logger.error('updating a VMSet member failed', { vmset: key, vm: m.name, error: e });
          failures.push(`update VirtualMachine ${m.name}: ${(e as Error).message}`);
          this.o.events.event(set, 'Warning', 'FailedUpdate', `update VirtualMachine ${m.name} in VMSet ${setName} failed: ${(e as Error).message}`);
        }
      }),
    ]);
    return [...conflicts, ...failures];
  }

  private isOurs(set: VMSet, vmName: string): boolean {
    const vm = this.o.informers.vms.get(`${set.metadata!.namespace}/${vmName}`);
    // Not cached yet: our create raced the watch; the next reconcile sees it (and its owner).
    return !vm || !!vm.metadata?.ownerReferences?.some((r) => r.controller && r.uid === set.metadata?.uid);
  }

  private async deleteMember(key: string, set: VMSet, m: MemberView, failures: string[], why: 'replace' | 'delete'): Promise<void> {
    const uid = m.vm?.metadata?.uid;
    if (!uid) return;
    try {
      await this.o.client.delete(Kinds.VirtualMachine, set.metadata!.namespace!, m.name, { preconditions: { uid } });
      this.expectations.expect(key, { kind: 'delete', name: m.name, uid });
      this.o.events.event(set, 'Normal', 'SuccessfulDelete', `delete VirtualMachine ${m.name} in VMSet ${set.metadata!.name} successful${why === 'replace' ? ' (replaced by the update revision)' : ''}`);
    } catch (e) {
      if (isNotFound(e) || (e as { code?: number }).code === 409) return; // gone, or another VM of that name now
      this.o.logger.error('deleting a VMSet member failed', { vmset: key, vm: m.name, error: e });
      failures.push(`delete VirtualMachine ${m.name}: ${(e as Error).message}`);
      this.o.events.event(set, 'Warning', 'FailedDelete', `delete VirtualMachine ${m.name} in VMSet ${set.metadata!.name} failed: ${(e as Error).message}`);
    }
  }

  /** Deletion: members go first (unless orphaned), then the finalizer. */
  private async finalize(key: string, set: VMSet, owned: VirtualMachine[]): Promise<Result | void> {
    if (!hasFinalizer(set, VMSET_FINALIZER)) return;
    const orphan = set.metadata?.finalizers?.includes('orphan');
    if (!orphan && owned.length) {
      const failures: string[] = [];
      for (const vm of owned) {
        if (vm.metadata?.deletionTimestamp) continue;
        await this.deleteMember(key, set, { name: vm.metadata!.name!, ordinal: -1, ready: false, available: false, deleting: false, vm }, failures, 'delete');
      }
      return { requeueAfterMs: failures.length ? 5_000 : 2_000 };
    }
    this.expectations.forget(key);
    await removeFinalizer(this.client, Kinds.VMSet, set, VMSET_FINALIZER);
  }

  private write(set: VMSet, draft: Draft): Promise<boolean> {
    return writeStatus(this.client, Kinds.VMSet, set, draft, { redact: (m) => this.o.events.redact(set, m) });
  }
}

/** Runs `ops` in batches of 1, 2, 4, ...; stops after a batch in which `failures` grew. */
async function slowStart(failures: readonly string[], ops: readonly (() => Promise<unknown>)[]): Promise<void> {
  for (let i = 0, batch = 1; i < ops.length; i += batch, batch *= 2) {
    const before = failures.length;
    await Promise.all(ops.slice(i, i + batch).map((op) => op()));
    if (failures.length > before) return;
  }
}

/** True when `from` and `to` differ only in fields a running member takes in place. */
export function inPlace(from: Template | undefined, to: Template): boolean {
  if (!from) return false;
  const strip = (t: Template) => {
    const spec: Record<string, unknown> = { ...(t.spec as Record<string, unknown>) };
    for (const f of IN_PLACE_FIELDS) delete spec[f];
    return stableJson({ spec, annotations: t.metadata?.annotations ?? {} });
  };
  return strip(from) === strip(to);
}

export type { ControllerRevision };
