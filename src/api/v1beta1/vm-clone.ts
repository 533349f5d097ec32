import { s, defineKind, cel } from '../../schema';
import { GROUP, VERSION, CATEGORY, DNS_LABEL, IPV4, MAC, objectRef, localObjectRef, conditions } from './common';
import { vmDisk, vmNetworkInterface } from './virtual-machine';

const passwordSource = (description: string) => s.object({
  description,
  properties: {
    secretKey: s.string({ description: 'Key inside the Secret.', default: "password" }),
    secretRef: localObjectRef('Secret with the password.'),
    value: s.string({ description: 'Plain-text password.' }),
  },
});

export const vmCloneSpec = s.object({
  description: 'One-shot clone job producing a new VirtualMachine.',
  required: ['source', 'target'],
  properties: {
    customization: s.object({
      description: 'Guest customisation; JSON-encoded and passed to the provider Clone RPC.',
      properties: {
        certificates: s.array(s.object({
          description: 'Certificates to install.',
          required: ['name'],
          properties: {
            data: s.string({ description: 'PEM data.' }),
            name: s.string({ description: 'Certificate name.', maxLength: 255 }),
            secretKey: s.string({ description: 'Key inside the Secret.', default: "tls.crt" }),
            secretRef: localObjectRef('Secret with the certificate.'),
            store: s.enumOf(['root', 'ca', 'my', 'trust'], { description: 'Certificate store.', default: "root" }),
          },
        }), { description: 'Certificates to install.', maxItems: 10 }),
        domain: s.string({ description: 'DNS domain.', maxLength: 255 }),
        guestCommands: s.array(s.object({
          description: 'Commands run in the guest.',
          required: ['command'],
          properties: {
            arguments: s.array(s.string({ description: 'Arguments.' }), { description: 'Arguments.', maxItems: 20 }),
            command: s.string({ description: 'Command line.', maxLength: 1000 }),
            runAsUser: s.string({ description: 'Run-as user.', maxLength: 255 }),
            stage: s.enumOf(['pre-customization', 'post-customization', 'first-boot'], { description: 'When to run.', default: "post-customization" }),
            timeout: s.duration({ description: 'Command timeout.', default: "5m" }),
            workingDirectory: s.string({ description: 'Working directory.', maxLength: 500 }),
          },
        }), { description: 'Commands run in the guest.', maxItems: 20 }),
        hostname: s.string({ description: 'Guest hostname.', maxLength: 255, pattern: "^[a-zA-Z0-9]([a-zA-Z0-9\\-]*[a-zA-Z0-9])?$" }),
        networks: s.array(s.object({
          description: 'Per-NIC guest network settings.',
          required: ['name'],
          properties: {
            dhcp: s.boolean({ description: 'Use DHCP.' }),
            dns: s.array(s.string({ description: 'DNS servers.' }), { description: 'DNS servers.', maxItems: 5 }),
            gateway: s.string({ description: 'Gateway IPv4.', pattern: IPV4 }),
            ipAddress: s.string({ description: 'Static IPv4.', pattern: IPV4 }),
            macAddress: s.string({ description: 'MAC address.', pattern: MAC }),
            name: s.string({ description: 'NIC to customise.', maxLength: 255 }),
            subnetMask: s.string({ description: 'Dotted subnet mask.', pattern: IPV4 }),
          },
        }), { description: 'Per-NIC guest network settings.', maxItems: 10 }),
        sysprep: s.object({
          description: 'Windows sysprep.',
          properties: {
            adminPassword: passwordSource('Administrator password.'),
            customCommands: s.array(s.string({ description: 'Extra sysprep commands.' }), { description: 'Extra sysprep commands.', maxItems: 20 }),
            enabled: s.boolean({ description: 'Run sysprep.', default: false }),
            joinDomain: s.object({
              description: 'Active Directory join.',
              required: ['domain', 'password', 'username'],
              properties: {
                domain: s.string({ description: 'AD domain.', maxLength: 255 }),
                organizationalUnit: s.string({ description: 'OU for the computer object.', maxLength: 500 }),
                password: passwordSource('Join password.'),
                username: s.string({ description: 'Join account.', maxLength: 255 }),
              },
            }),
            organization: s.string({ description: 'Organisation name.', maxLength: 255 }),
            owner: s.string({ description: 'Owner name.', maxLength: 255 }),
            productKey: s.string({ description: 'Windows product key.' }),
          },
        }),
        tags: s.array(s.string({ description: 'Tags for the cloned VM.' }), { description: 'Tags for the cloned VM.', maxItems: 50 }),
        timeZone: s.string({ description: 'Guest time zone.', maxLength: 100 }),
        userData: s.object({
          description: 'Guest bootstrap data (cloud-init or Ignition) (part of customize_json)',
          properties: {
            cloudInit: s.object({
              description: 'Cloud-init user-data source.',
              properties: {
                inline: s.string({ description: 'Literal cloud-init user-data document.' }),
                secretRef: localObjectRef('Secret (same namespace) holding user-data under key userdata, user-data, cloud-init or cloud-config.'),
              },
            }),
            ignition: s.object({
              description: 'Ignition config source (CoreOS/RHCOS)',
              properties: {
                inline: s.string({ description: 'Literal Ignition JSON.' }),
                secretRef: localObjectRef('Secret holding the Ignition config.'),
              },
            }),
          },
        }),
      },
    }),
    metadata: s.object({
      description: 'Descriptive metadata (not ObjectMeta)',
      properties: {
        createdBy: s.string({ description: 'Creator.', maxLength: 255 }),
        environment: s.enumOf(['dev', 'staging', 'prod', 'test', 'qa', 'uat'], { description: 'Environment label.' }),
        project: s.string({ description: 'Owning project.', maxLength: 255 }),
        purpose: s.enumOf(['backup', 'testing', 'migration', 'development', 'production', 'staging'], { description: 'Why the clone exists.' }),
        tags: s.map(s.string({ description: 'Categorisation key/values.' }), { description: 'Categorisation key/values.', maxProperties: 50 }),
      },
    }),
    options: s.object({
      description: 'Clone options (only type is read)',
      properties: {
        includeSnapshots: s.boolean({ description: 'Copy snapshots.', default: false }),
        parallel: s.boolean({ description: 'Clone disks in parallel.', default: false }),
        performance: s.object({
          description: 'Performance options.',
          properties: {
            concurrentDisks: s.int32({ description: 'Disks cloned at once.', minimum: 1, maximum: 10, default: 2 }),
            ioThrottling: s.boolean({ description: 'Throttle I/O.', default: false }),
            maxIOPS: s.int32({ description: 'IOPS cap.', minimum: 100, maximum: 100000 }),
            priority: s.enumOf(['Low', 'Normal', 'High'], { description: 'Operation priority.', default: "Normal" }),
          },
        }),
        powerOn: s.boolean({ description: 'Power on after cloning.', default: false }),
        retryPolicy: s.object({
          description: 'Retry policy.',
          properties: {
            backoffMultiplier: s.int32({ description: 'Backoff multiplier.', default: 2 }),
            maxRetries: s.int32({ description: 'Maximum retries.', minimum: 0, maximum: 10, default: 3 }),
            retryDelay: s.duration({ description: 'Delay between retries.', default: "5m" }),
          },
        }),
        storage: s.object({
          description: 'Storage options.',
          properties: {
            datastore: s.string({ description: 'Target datastore.', maxLength: 255 }),
            diskFormat: s.enumOf(['thin', 'thick', 'eagerzeroedthick', 'ssd', 'hdd', 'nvme'], { description: 'Disk type of clone.' }),
            enableCompression: s.boolean({ description: 'Compress during clone.', default: false }),
            folder: s.string({ description: 'Target folder.', maxLength: 255 }),
            preferThinProvisioning: s.boolean({ description: 'Prefer thin disks.', default: true }),
            storageClass: s.string({ description: 'Storage class.', maxLength: 253 }),
          },
        }),
        timeout: s.duration({ description: 'Overall timeout.', default: "30m" }),
        type: s.enumOf(['FullClone', 'LinkedClone', 'InstantClone'], { description: 'Full, linked or instant clone (InstantClone is treated as full)', default: "FullClone" }),
      },
    }),
    source: s.object({
      description: 'What to clone: exactly one of a VM, a snapshot, a template or an image.',
      properties: {
        imageRef: objectRef('Reference to the VMImage.'),
        snapshotRef: localObjectRef('Clone from a VMSnapshot.'),
        templateRef: objectRef('Reference to the VM template.'),
        vmRef: localObjectRef('Source VM in the same namespace.'),
      },
      rules: [cel.exactlyOneOf(['vmRef', 'snapshotRef', 'templateRef', 'imageRef'], { message: 'a clone source needs exactly one of vmRef, snapshotRef, templateRef or imageRef' })],
    }).immutable('source cannot be changed after the clone has been created'),
    target: s.object({
      description: 'Target VM definition.',
      required: ['name'],
      properties: {
        annotations: s.map(s.string({ description: 'Annotations added to the new VM.' }), { description: 'Annotations added to the new VM.', maxProperties: 50 }),
        classRef: localObjectRef('VMClass override; empty = source VM\'s class.'),
        disks: s.array(vmDisk, { description: 'Additional (non-root) disks to attach.', maxItems: 20, rules: [cel.uniqueBy('name', { what: 'disk', message: 'disk names must be unique within a VM' })] }),
        labels: s.map(s.string({ description: 'Labels added to the new VM.' }), { description: 'Labels added to the new VM.', maxProperties: 50 }),
        name: s.string({ description: 'Name of the VirtualMachine to create.', maxLength: 253, pattern: DNS_LABEL }),
        namespace: s.string({ description: 'Namespace of the new VM; empty = VMClone namespace.', maxLength: 63, pattern: DNS_LABEL }),
        networks: s.array(vmNetworkInterface, { description: 'Network interfaces of the VM (copied verbatim onto the new VM)', maxItems: 10, rules: [cel.uniqueBy('name', { what: 'network', message: 'network names must be unique within a VM' })] }),
        placementRef: localObjectRef('VMPlacementPolicy for the new VM (copied onto it; JSON sent to provider)'),
        providerRef: objectRef('Reference to the target Provider.'),
      },
    }).immutable('target cannot be changed after the clone has been created'),
  },
});

export const vmCloneStatus = s.object({
  description: 'Observed clone state.',
  properties: {
    actualCloneType: s.enumOf(['FullClone', 'LinkedClone', 'InstantClone'], { description: 'Clone type actually requested (FullClone or LinkedClone)' }),
    completionTime: s.dateTime({ description: 'When the clone became Ready.' }),
    conditions: conditions(),
    customizationStatus: s.object({
      description: 'Customisation progress.',
      properties: {
        completed: s.boolean({ description: 'Customisation finished.' }),
        completedSteps: s.array(s.string({ description: 'Steps done.' }), { description: 'Steps done.' }),
        currentStep: s.string({ description: 'Current step.' }),
        failedSteps: s.array(s.string({ description: 'Steps failed.' }), { description: 'Steps failed.' }),
        message: s.string({ description: 'Detail.' }),
        started: s.boolean({ description: 'Customisation started.' }),
      },
    }),
    lastRetryTime: s.dateTime({ description: 'Last retry.' }),
    message: s.string({ description: 'Human-readable detail.' }),
    observedGeneration: s.int64({ description: 'Metadata.generation last processed.' }),
    phase: s.enumOf(['Pending', 'Preparing', 'Cloning', 'Customizing', 'Powering-On', 'Ready', 'Failed'], { description: 'Clone phase (manager sets Pending, Cloning, Ready, Failed)' }),
    progress: s.object({
      description: 'Progress.',
      properties: {
        completedDisks: s.int32({ description: 'Disks done.' }),
        currentDisk: s.object({
          description: 'Disk in progress.',
          required: ['name'],
          properties: {
            completedBytes: s.int64({ description: 'Bytes done.' }),
            name: s.string({ description: 'Disk name.' }),
            percentage: s.int32({ description: 'Disk completion percentage.', minimum: 0, maximum: 100 }),
            totalBytes: s.int64({ description: 'Disk size.' }),
            transferRate: s.int64({ description: 'Bytes per second.' }),
          },
        }),
        eta: s.duration({ description: 'Estimated remaining time.' }),
        overallPercentage: s.int32({ description: 'Overall completion percentage.', minimum: 0, maximum: 100 }),
        totalDisks: s.int32({ description: 'Disks to clone.' }),
      },
    }),
    retryCount: s.int32({ description: 'Retries performed.' }),
    startTime: s.dateTime({ description: 'When the Clone RPC was issued.' }),
    targetRef: localObjectRef('Produced VirtualMachine.'),
    targetVMID: s.string({ description: 'Provider id of the cloned VM; persisted before binding (idempotency key)' }),
    taskRef: s.string({ description: 'Outstanding async clone task.' }),
  },
});

/** Creates a new VirtualMachine by cloning an existing VM, a snapshot, a template or an image. */
export const VMClone = defineKind({
  group: GROUP,
  version: VERSION,
  kind: 'VMClone',
  scope: 'Namespaced',
  shortNames: ['vmclone'],
  categories: [CATEGORY],
  description: 'Creates a new VirtualMachine by cloning an existing VM, a snapshot, a template or an image.',
  spec: vmCloneSpec,
  status: vmCloneStatus,
  printerColumns: [
    { name: 'Source', type: 'string', jsonPath: '.spec.source.vmRef.name' },
    { name: 'Target', type: 'string', jsonPath: '.spec.target.name' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Clone Type', type: 'string', jsonPath: '.status.actualCloneType' },
    { name: 'Progress', type: 'integer', jsonPath: '.status.progress.overallPercentage' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
