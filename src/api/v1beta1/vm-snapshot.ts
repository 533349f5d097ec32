import { s, defineKind } from '../../schema';
import { GROUP, VERSION, CATEGORY, CRON, localObjectRef, conditions } from './common';

const snapshotReference = (description: string) => s.object({
  description,
  required: ['name'],
  properties: {
    name: s.string({ description: 'Snapshot name.' }),
    namespace: s.string({ description: 'Snapshot namespace.' }),
    uid: s.string({ description: 'Snapshot UID.' }),
  },
});

export const vmSnapshotSpec = s.object({
  description: 'Point-in-time snapshot request for one VM.',
  required: ['vmRef'],
  properties: {
    metadata: s.object({
      description: 'Descriptive metadata (not ObjectMeta)',
      properties: {
        application: s.string({ description: 'Application that owns the snapshot.', maxLength: 255 }),
        environment: s.enumOf(['dev', 'staging', 'prod', 'test', 'qa', 'uat'], { description: 'Environment label.' }),
        pinned: s.boolean({ description: 'Protect from automatic deletion.', default: false }),
        purpose: s.enumOf(['backup', 'testing', 'migration', 'restore-point', 'update', 'other'], { description: 'Why the snapshot exists.' }),
        tags: s.map(s.string({ description: 'Categorisation key/values.' }), { description: 'Categorisation key/values.', maxProperties: 50 }),
      },
    }),
    retentionPolicy: s.object({
      description: 'When to remove the snapshot.',
      properties: {
        deleteOnVMDelete: s.boolean({ description: 'Delete the VMSnapshot when its VM is gone.', default: true }),
        gracePeriod: s.duration({ description: 'Delay before deletion.', default: "24h" }),
        maxAge: s.duration({ description: 'Delete the VMSnapshot once older than this (from status.creationTime)' }),
        maxCount: s.int32({ description: 'Keep at most N snapshots.', minimum: 1, maximum: 100 }),
        preservePinned: s.boolean({ description: 'Never auto-delete pinned snapshots.', default: true }),
      },
    }),
    schedule: s.object({
      description: 'Recurring snapshots.',
      properties: {
        concurrencyPolicy: s.enumOf(['Allow', 'Forbid', 'Replace'], { description: 'Overlap handling.', default: "Forbid" }),
        cronSpec: s.string({ description: 'Cron expression or @-macro.', pattern: CRON }),
        enabled: s.boolean({ description: 'Schedule active.', default: false }),
        failedJobsHistoryLimit: s.int32({ description: 'Failed runs kept.', minimum: 0, maximum: 100, default: 1 }),
        successfulJobsHistoryLimit: s.int32({ description: 'Successful runs kept.', minimum: 0, maximum: 100, default: 3 }),
        suspend: s.boolean({ description: 'Pause the schedule.', default: false }),
        timezone: s.string({ description: 'Time zone for the schedule.', default: "UTC" }),
      },
    }),
    snapshotConfig: s.object({
      description: 'How to take the snapshot.',
      properties: {
        compression: s.boolean({ description: 'Compress the snapshot.', default: false }),
        consistencyLevel: s.enumOf(['CrashConsistent', 'FilesystemConsistent', 'ApplicationConsistent'], { description: 'Required consistency.', default: "FilesystemConsistent" }),
        description: s.string({ description: 'Snapshot description.', maxLength: 1024 }),
        encryption: s.object({
          description: 'Snapshot encryption.',
          properties: {
            enabled: s.boolean({ description: 'Encrypt.', default: false }),
            keyProvider: s.enumOf(['standard', 'hardware', 'external'], { description: 'Key source.' }),
            keyRef: localObjectRef('Key material.'),
          },
        }),
        includeMemory: s.boolean({ description: 'Capture RAM state.', default: false }),
        name: s.string({ description: 'Snapshot name hint (provider may alter); empty = VMSnapshot name.', maxLength: 255, pattern: "^[a-zA-Z0-9]([a-zA-Z0-9\\-_]*[a-zA-Z0-9])?$" }),
        quiesce: s.boolean({ description: 'Quiesce guest filesystems first.', default: true }),
        type: s.enumOf(['Standard', 'Crash', 'Application'], { description: 'Snapshot type.', default: "Standard" }),
      },
    }),
    vmRef: localObjectRef('The VirtualMachine to snapshot, in the same namespace.').immutable('vmRef cannot be changed after the snapshot has been created'),
  },
});

export const vmSnapshotStatus = s.object({
  description: 'Observed snapshot state.',
  properties: {
    children: s.array(snapshotReference('Child snapshots in a tree.'), { description: 'Child snapshots in a tree.' }),
    completionTime: s.dateTime({ description: 'When creation finished.' }),
    conditions: conditions(),
    creationTime: s.dateTime({ description: 'When the snapshot was requested.' }),
    expiryTime: s.dateTime({ description: 'Planned expiry.' }),
    message: s.string({ description: 'Human-readable detail.' }),
    lastScheduleTime: s.dateTime({ description: 'A schedule (spec.schedule.enabled): the last time a snapshot was due (taken or skipped).' }),
    observedGeneration: s.int64({ description: 'Metadata.generation last processed.' }),
    parent: snapshotReference('Parent snapshot.'),
    phase: s.enumOf(['Pending', 'Creating', 'Ready', 'Deleting', 'Failed', 'Expired'], { description: 'Snapshot phase (manager sets Creating, Ready, Failed, Deleting)' }),
    progress: s.object({
      description: 'Creation progress.',
      properties: {
        completedBytes: s.int64({ description: 'Bytes done.' }),
        eta: s.duration({ description: 'Estimated remaining time.' }),
        percentage: s.int32({ description: 'Completion percentage.', minimum: 0, maximum: 100 }),
        startTime: s.dateTime({ description: 'Start time.' }),
        totalBytes: s.int64({ description: 'Total bytes.' }),
      },
    }),
    providerStatus: s.map(s.object({
      description: 'State on one provider.',
      required: ['available'],
      properties: {
        available: s.boolean({ description: 'Snapshot present.' }),
        id: s.string({ description: 'Provider id.' }),
        lastUpdated: s.dateTime({ description: 'Last update.' }),
        message: s.string({ description: 'Detail.' }),
        path: s.string({ description: 'Provider path.' }),
        state: s.string({ description: 'Provider state.' }),
      },
    }), { description: 'Per-provider state keyed by provider name.' }),
    size: s.quantity({ description: 'Snapshot size.' }),
    snapshotID: s.string({ description: 'Provider snapshot identifier.' }),
    taskRef: s.string({ description: 'Outstanding async create task.' }),
    virtualSize: s.quantity({ description: 'Virtual size.' }),
  },
});

/** A point-in-time snapshot of a VirtualMachine, with retention and scheduling options. */
export const VMSnapshot = defineKind({
  group: GROUP,
  version: VERSION,
  kind: 'VMSnapshot',
  scope: 'Namespaced',
  shortNames: ['vmsnap'],
  categories: [CATEGORY],
  description: 'A point-in-time snapshot of a VirtualMachine, with retention and scheduling options.',
  spec: vmSnapshotSpec,
  status: vmSnapshotStatus,
  printerColumns: [
    { name: 'VM', type: 'string', jsonPath: '.spec.vmRef.name' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Size', type: 'string', jsonPath: '.status.size' },
    { name: 'Created', type: 'date', jsonPath: '.status.creationTime' },
    { name: 'Expires', type: 'date', jsonPath: '.status.expiryTime' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
