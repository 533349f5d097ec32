import { s, defineKind, cel } from '../../schema';
import { GROUP, VERSION, CATEGORY, DNS_LABEL, objectRef, localObjectRef, conditions } from './common';
import { vmDisk, vmNetworkInterface } from './virtual-machine';

export const vmMigrationSpec = s.object({
  description: 'Cold migration of one VM\'s disk to another provider.',
  required: ['source', 'target'],
  properties: {
    metadata: s.object({
      description: 'Descriptive metadata (not ObjectMeta)',
      properties: {
        createdBy: s.string({ description: 'Creator.', maxLength: 255 }),
        environment: s.enumOf(['dev', 'staging', 'prod', 'test', 'qa', 'uat'], { description: 'Environment label.' }),
        project: s.string({ description: 'Owning project.', maxLength: 255 }),
        purpose: s.enumOf(['disaster-recovery', 'cloud-migration', 'provider-change', 'testing', 'maintenance'], { description: 'Why the migration exists.' }),
        tags: s.map(s.string({ description: 'Categorisation key/values.' }), { description: 'Categorisation key/values.', maxProperties: 50 }),
      },
    }),
    options: s.object({
      description: 'Migration options.',
      properties: {
        cleanupPolicy: s.enumOf(['Always', 'OnSuccess', 'Never'], { description: 'Never = keep the migration snapshot; Always/OnSuccess behave identically today.', default: "OnSuccess" }),
        compress: s.boolean({ description: 'Ask the source to compress the export.', default: false }),
        diskFormat: s.enumOf(['qcow2', 'vmdk', 'raw'], { description: 'Export format requested from the source (default qcow2); pvc import format.' }),
        retryPolicy: s.object({
          description: 'Automatic retry of a Failed migration (absent = no retry)',
          properties: {
            backoffMultiplier: s.int32({ description: 'Exponential backoff factor (delay capped at 30 min)', minimum: 1, maximum: 10, default: 2 }),
            maxRetries: s.int32({ description: 'Maximum retries.', minimum: 0, maximum: 10, default: 3 }),
            retryDelay: s.duration({ description: 'Base delay between retries.', default: "5m" }),
          },
        }),
        timeout: s.duration({ description: 'Overall timeout.', default: "4h" }),
        validationChecks: s.object({
          description: 'Post-migration checks.',
          properties: {
            checkBoot: s.boolean({ description: 'Boot test.', default: false }),
            checkChecksum: s.boolean({ description: 'Compare checksums.', default: true }),
            checkConnectivity: s.boolean({ description: 'Network test.', default: false }),
            checkDiskSize: s.boolean({ description: 'Compare disk sizes.', default: true }),
          },
        }),
        verifyChecksums: s.boolean({ description: 'Ask the target to verify the checksum on import.', default: true }),
      },
    }),
    source: s.object({
      description: 'What to migrate.',
      required: ['vmRef'],
      properties: {
        createSnapshot: s.boolean({ description: 'Take a disk-only snapshot before export; always serialised.', default: true }),
        deleteAfterMigration: s.boolean({ description: 'Delete the source VirtualMachine CR after success.', default: false }),
        powerOffBeforeMigration: s.boolean({ description: 'Hard power-off the source (and set its spec.powerState=Off) before export; needed for vSphere sources.', default: false }),
        providerRef: objectRef('Reference to the source Provider (default: the source VM\'s providerRef)'),
        snapshotRef: localObjectRef('Existing snapshot to export from; its NAME is used as the provider snapshot id.'),
        vmRef: localObjectRef('Source VM (same namespace)'),
      },
    }).immutable('source cannot be changed after the migration has been created'),
    storage: s.object({
      description: 'Staging backend for the disk; effectively required (export fails without it)',
      required: ['type'],
      properties: {
        nfs: s.object({
          description: 'NFS staging (required when type is nfs)',
          required: ['export', 'server'],
          properties: {
            export: s.string({ description: 'Exported path on the server.', maxLength: 4096 }),
            gid: s.int64({ description: 'AUTH_SYS gid presented to the server.', minimum: 0, maximum: 4294967295 }),
            path: s.string({ description: 'Pre-existing sub-directory inside the export.', maxLength: 4096 }),
            readOnly: s.boolean({ description: 'Mount read-only; always serialised.', default: false }),
            server: s.string({ description: 'NFS server host/IP (SSRF-checked)', maxLength: 253 }),
            uid: s.int64({ description: 'AUTH_SYS uid presented to the server.', minimum: 0, maximum: 4294967295 }),
          },
        }),
        pvc: s.object({
          description: 'PVC staging (required when type is pvc)',
          properties: {
            accessMode: s.enumOf(['ReadWriteOnce', 'ReadWriteMany', 'ReadOnlyMany'], { description: 'Access mode of the auto-created PVC.', default: "ReadWriteMany" }),
            mountPath: s.string({ description: 'Base mount path used by the manager\'s cleanup (providers mount at /mnt/migration-storage/<pvc>)', default: "/mnt/migration-storage" }),
            name: s.string({ description: 'Existing PVC to use; empty = auto-create <migration>-storage.' }),
            size: s.string({ description: 'Size of the auto-created PVC (required if name empty)', pattern: "^[0-9]+(\\.[0-9]+)?(Ei?|Pi?|Ti?|Gi?|Mi?|Ki?)$" }),
            storageClassName: s.string({ description: 'Storage class for the auto-created PVC (required if name empty)' }),
          },
        }),
        s3: s.object({
          description: 'S3-compatible staging (required when type is s3)',
          required: ['bucket', 'credentialsSecretRef'],
          properties: {
            bucket: s.string({ description: 'Bucket name.' }),
            credentialsSecretRef: objectRef('Reference to the S3 credentials Secret (keys accessKeyID, secretAccessKey, optional sessionToken)'),
            endpoint: s.string({ description: 'Endpoint override (MinIO/Ceph); empty = AWS (SSRF-checked)', maxLength: 263 }),
            prefix: s.string({ description: 'Object key prefix.' }),
            region: s.string({ description: 'Bucket region.' }),
            usePathStyle: s.boolean({ description: 'Path-style addressing; always serialised.', default: false }),
          },
        }),
        transferMode: s.enumOf(['auto', 'relay', 'direct'], { description: 'How bytes reach the backend (auto resolves to relay)', default: "auto" }),
        type: s.enumOf(['pvc', 'nfs', 's3'], { description: 'Staging backend.', default: "pvc" }),
      },
    }),
    target: s.object({
      description: 'Target VM definition.',
      required: ['name', 'providerRef'],
      properties: {
        annotations: s.map(s.string({ description: 'Annotations merged onto the new VM.' }), { description: 'Annotations merged onto the new VM.', maxProperties: 50 }),
        classRef: localObjectRef('VMClass for the new VM (looked up in the migration namespace); effectively required.'),
        disks: s.array(vmDisk, { description: 'Additional (non-root) disks to attach.', maxItems: 20, rules: [cel.uniqueBy('name', { what: 'disk', message: 'disk names must be unique within a VM' })] }),
        imageRef: localObjectRef('VMImage.'),
        labels: s.map(s.string({ description: 'Labels of the new VM.' }), { description: 'Labels of the new VM.', maxProperties: 50 }),
        name: s.string({ description: 'Name of the VirtualMachine to create.', maxLength: 253, pattern: DNS_LABEL }),
        namespace: s.string({ description: 'Namespace of the new VM; empty = migration namespace.', maxLength: 63, pattern: DNS_LABEL }),
        networks: s.array(vmNetworkInterface, { description: 'Network interfaces of the VM (copied verbatim onto the new VM)', maxItems: 10, rules: [cel.uniqueBy('name', { what: 'network', message: 'network names must be unique within a VM' })] }),
        placementRef: localObjectRef('VMPlacementPolicy copied onto the new VM.'),
        powerOn: s.boolean({ description: 'Power on after migration.', default: false }),
        providerRef: objectRef('Reference to the target Provider.'),
      },
    }).immutable('target cannot be changed after the migration has been created'),
  },
});

export const vmMigrationStatus = s.object({
  description: 'Observed migration state.',
  properties: {
    completionTime: s.dateTime({ description: 'When it reached Ready or Failed.' }),
    conditions: conditions(),
    diskInfo: s.object({
      description: 'Disk details recorded during export/import.',
      properties: {
        checksum: s.string({ description: 'Disk checksum.' }),
        sourceChecksum: s.string({ description: 'SHA-256 reported by export; sent as expected checksum on import.' }),
        sourceDiskID: s.string({ description: 'Exported disk id (empty = primary disk)' }),
        sourceFormat: s.string({ description: 'Export format.' }),
        sourceSize: s.quantity({ description: 'Source size.' }),
        targetChecksum: s.string({ description: 'SHA-256 reported by import.' }),
        targetDiskID: s.string({ description: 'Imported disk id.' }),
        targetFormat: s.string({ description: 'Format the disk landed in (vmdk for vSphere targets, else qcow2)' }),
        targetPath: s.string({ description: 'Provider-native path of the imported disk; copied to importedDisk.path.' }),
        targetSize: s.quantity({ description: 'Target size.' }),
      },
    }),
    exportID: s.string({ description: 'Export operation id from the source.' }),
    importID: s.string({ description: 'Disk id returned by the target ImportDisk; becomes importedDisk.diskID.' }),
    lastRetryTime: s.dateTime({ description: 'Last retry time.' }),
    message: s.string({ description: 'Human-readable detail.' }),
    observedGeneration: s.int64({ description: 'Metadata.generation last processed.' }),
    phase: s.enumOf(['Pending', 'Validating', 'Snapshotting', 'Exporting', 'Transferring', 'Converting', 'Importing', 'Creating', 'Validating-Target', 'Ready', 'Failed'], { description: 'Migration phase.' }),
    progress: s.object({
      description: 'Progress.',
      properties: {
        currentPhase: s.enumOf(['Pending', 'Validating', 'Snapshotting', 'Exporting', 'Transferring', 'Converting', 'Importing', 'Creating', 'Validating-Target', 'Ready', 'Failed'], { description: 'Phase in progress.' }),
        eta: s.duration({ description: 'Estimated remaining time.' }),
        percentage: s.int32({ description: 'Completion percentage.', minimum: 0, maximum: 100 }),
        phaseStartTime: s.dateTime({ description: 'Phase start time.' }),
        totalBytes: s.int64({ description: 'Bytes to move.' }),
        transferRate: s.int64({ description: 'Bytes per second.' }),
        transferredBytes: s.int64({ description: 'Bytes moved.' }),
      },
    }),
    retryCount: s.int32({ description: 'Retries performed.' }),
    snapshotID: s.string({ description: 'Snapshot used/created for export; cleared after the snapshot is deleted.' }),
    snapshotRef: s.string({ description: 'Snapshot reference string.' }),
    startTime: s.dateTime({ description: 'When the migration started (phase Pending)' }),
    storageInfo: s.object({
      description: 'Intermediate storage info.',
      properties: {
        cleanedUp: s.boolean({ description: 'Post-success cleanup done.' }),
        size: s.quantity({ description: 'Staged size.' }),
        uploadedAt: s.dateTime({ description: 'Upload time.' }),
        url: s.string({ description: 'Staging URL.' }),
      },
    }),
    storagePVCName: s.string({ description: 'PVC used for pvc staging.' }),
    targetVMID: s.string({ description: 'Provider id of the created target VM.' }),
    targetVMRef: localObjectRef('Created VM.'),
    taskRef: s.string({ description: 'Outstanding async task of the current phase.' }),
    validationResults: s.object({
      description: 'Post-migration checks.',
      properties: {
        bootSuccess: s.boolean({ description: 'Target booted.' }),
        checksumMatch: s.boolean({ description: 'Checksums matched.' }),
        connectivitySuccess: s.boolean({ description: 'Network reachable.' }),
        diskSizeMatch: s.boolean({ description: 'Sizes matched.' }),
        validationErrors: s.array(s.string({ description: 'Validation errors.' }), { description: 'Validation errors.' }),
      },
    }),
  },
});

/** Moves a VirtualMachine's disk to another Provider through a staging store and recreates the VM there. */
export const VMMigration = defineKind({
  group: GROUP,
  version: VERSION,
  kind: 'VMMigration',
  scope: 'Namespaced',
  shortNames: ['vmmig'],
  categories: [CATEGORY],
  description: "Moves a VirtualMachine's disk to another Provider through a staging store and recreates the VM there.",
  spec: vmMigrationSpec,
  status: vmMigrationStatus,
  printerColumns: [
    { name: 'Source', type: 'string', jsonPath: '.spec.source.vmRef.name' },
    { name: 'Target', type: 'string', jsonPath: '.spec.target.name' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Progress', type: 'integer', jsonPath: '.status.progress.percentage' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
