import { s, defineKind } from '../../schema';
import { GROUP, VERSION, CATEGORY, conditions } from './common';
import * as k8s from './k8s';
import { virtualMachineSpec, VM_PHASES } from './virtual-machine';

/** The part of ObjectMeta a template may set; VirtRigaud's bare object schema pruned it all. */
const templateMetadata = (description: string) =>
  s.object({
    description,
    properties: {
      labels: s.map(s.string({ description: 'Label value.', maxLength: 63 }), { description: 'Labels; must include the selector labels.', maxProperties: 64 }),
      annotations: s.map(s.string({ description: 'Annotation value.' }), { description: 'Annotations.', maxProperties: 64 }),
    },
  });

export const vmSetSpec = s.object({
  description: 'Replicated group of VMs.',
  required: ['selector', 'template'],
  properties: {
    minReadySeconds: s.int32({ description: 'Seconds a new VM must be ready to count as available.', minimum: 0, maximum: 3600 }),
    ordinals: s.object({
      description: 'Ordinal numbering.',
      properties: {
        start: s.int32({ description: 'First ordinal.', minimum: 0, maximum: 999999, default: 0 }),
      },
    }),
    persistentVolumeClaimRetentionPolicy: s.object({
      description: 'PVC retention for volumeClaimTemplates.',
      properties: {
        whenDeleted: s.enumOf(['Retain', 'Delete'], { description: 'On VMSet deletion.', default: "Retain" }),
        whenScaled: s.enumOf(['Retain', 'Delete'], { description: 'On scale-down.', default: "Retain" }),
      },
    }),
    replicas: s.int32({ description: 'Desired VM count.', minimum: 0, maximum: 1000, default: 1 }),
    revisionHistoryLimit: s.int32({ description: 'Old revisions kept.', minimum: 0, maximum: 100, default: 10 }),
    selector: k8s.labelSelector('Label selector for member VMs.'),
    serviceName: s.string({ description: 'Governing Service name.', maxLength: 253 }),
    template: s.object({
      description: 'Template for member VMs.',
      required: ['spec'],
      properties: {
        metadata: templateMetadata('Labels and annotations given to every member VM.'),
        spec: virtualMachineSpec({ template: true }).describe('Spec of every member VM; the same schema as VirtualMachine spec.'),
      },
    }),
    updateStrategy: s.object({
      description: 'How members are replaced.',
      properties: {
        rollingUpdate: s.object({
          description: 'Rolling update parameters.',
          properties: {
            maxSurge: s.intOrString({ description: 'Max VMs above desired count (count or percent)', default: "25%" }),
            maxUnavailable: s.intOrString({ description: 'Max VMs unavailable during update (count or percent)', default: "25%" }),
            partition: s.int32({ description: 'Ordinal at which updates are partitioned.', minimum: 0 }),
            podManagementPolicy: s.enumOf(['OrderedReady', 'Parallel'], { description: 'Ordered or parallel member handling.', default: "OrderedReady" }),
          },
        }),
        type: s.enumOf(['RollingUpdate', 'OnDelete', 'Recreate'], { description: 'Update strategy.', default: "RollingUpdate" }),
      },
    }),
    volumeClaimTemplates: s.array(s.object({
      description: 'PVC templates members may use.',
      required: ['spec'],
      properties: {
        metadata: templateMetadata('Labels and annotations of the claims made from this template.'),
        spec: k8s.persistentVolumeClaimSpec('Core/v1 PersistentVolumeClaimSpec.'),
      },
    }), { description: 'PVC templates members may use.', maxItems: 20 }),
  },
});

export const vmSetStatus = s.object({
  description: 'Observed state (only observedGeneration and conditions are written)',
  properties: {
    availableReplicas: s.int32({ description: 'Available VMs.' }),
    collisionCount: s.int32({ description: 'Hash collision counter.' }),
    conditions: conditions(),
    currentReplicas: s.int32({ description: 'Running VMs.' }),
    currentRevision: s.string({ description: 'Current revision id.' }),
    observedGeneration: s.int64({ description: 'Metadata.generation last processed.' }),
    readyReplicas: s.int32({ description: 'Ready VMs.' }),
    replicas: s.int32({ description: 'VMs created.' }),
    selector: s.string({ description: 'Label selector of the member VMs in string form (for the scale subresource and HPA).' }),
    updateRevision: s.string({ description: 'Update revision id.' }),
    updateStatus: s.object({
      description: 'Update progress.',
      properties: {
        completionTime: s.dateTime({ description: 'Update end.' }),
        failedVMs: s.array(s.object({
          description: 'VMs whose update failed.',
          required: ['name'],
          properties: {
            lastAttempt: s.dateTime({ description: 'Last attempt time.' }),
            message: s.string({ description: 'Detail.' }),
            name: s.string({ description: 'VM name.' }),
            reason: s.string({ description: 'Failure reason.' }),
            retryCount: s.int32({ description: 'Attempts made.' }),
          },
        }), { description: 'VMs whose update failed.', maxItems: 1000 }),
        message: s.string({ description: 'Detail.' }),
        pendingVMs: s.array(s.string({ description: 'VMs pending update.' }), { description: 'VMs pending update.', maxItems: 1000 }),
        phase: s.enumOf(['Pending', 'InProgress', 'Paused', 'Completed', 'Failed'], { description: 'Update phase.' }),
        startTime: s.dateTime({ description: 'Update start.' }),
        updatedVMs: s.array(s.string({ description: 'VMs updated.' }), { description: 'VMs updated.', maxItems: 1000 }),
      },
    }),
    updatedReplicas: s.int32({ description: 'VMs at the update revision.' }),
    vmStatus: s.array(s.object({
      description: 'Per-member status.',
      required: ['name'],
      properties: {
        creationTime: s.dateTime({ description: 'VM creation time.' }),
        lastUpdateTime: s.dateTime({ description: 'Last update time.' }),
        message: s.string({ description: 'Detail.' }),
        name: s.string({ description: 'VM name.' }),
        phase: s.enumOf(VM_PHASES, { description: 'VM phase.' }),
        ready: s.boolean({ description: 'VM ready.' }),
        revision: s.string({ description: 'VM revision.' }),
      },
    }), { description: 'Per-member status.', maxItems: 1000 }),
  },
});

/** A replicated group of identical VirtualMachines stamped from a template. */
export const VMSet = defineKind({
  group: GROUP,
  version: VERSION,
  kind: 'VMSet',
  scope: 'Namespaced',
  shortNames: ['vmset'],
  categories: [CATEGORY],
  scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
  description: 'A replicated group of identical VirtualMachines stamped from a template.',
  spec: vmSetSpec,
  status: vmSetStatus,
  printerColumns: [
    { name: 'Desired', type: 'integer', jsonPath: '.spec.replicas' },
    { name: 'Current', type: 'integer', jsonPath: '.status.replicas' },
    { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas' },
    { name: 'Updated', type: 'integer', jsonPath: '.status.updatedReplicas' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
