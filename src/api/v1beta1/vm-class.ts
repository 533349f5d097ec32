import { s, defineKind } from '../../schema';
import { GROUP, VERSION, CATEGORY, conditions, allowedNamespaces } from './common';

export const vmClassSpec = s.object({
  description: 'Hardware profile shared by VMs.',
  required: ['cpu', 'memory'],
  properties: {
    allowedNamespaces: allowedNamespaces('VMClass'),
    cpu: s.int32({ description: 'Number of vCPUs.', minimum: 1, maximum: 128 }),
    diskDefaults: s.object({
      description: 'Root-disk defaults.',
      properties: {
        iops: s.int32({ description: 'IOPS limit for disks.', minimum: 100, maximum: 100000 }),
        size: s.quantity({ description: 'Root-disk size (converted to whole GiB, floor)', default: "40Gi" }),
        storageClass: s.string({ description: 'Storage class for disks.', maxLength: 253 }),
        type: s.enumOf(['thin', 'thick', 'eagerzeroedthick', 'ssd', 'hdd', 'nvme'], { description: 'Default provisioning type of the root disk.', default: "thin" }),
      },
    }),
    extraConfig: s.map(s.string({ description: 'Provider-specific key/value settings (e.g. vsphere.hardwareVersion)' }), { description: 'Provider-specific key/value settings (e.g. vsphere.hardwareVersion)', maxProperties: 50 }),
    firmware: s.enumOf(['BIOS', 'UEFI', 'EFI'], { description: 'Boot firmware (EFI is an alias of UEFI)', default: "BIOS" }),
    guestToolsPolicy: s.enumOf(['install', 'skip', 'upgrade', 'uninstall'], { description: 'What to do with guest tools (VMware Tools / agent)', default: "install" }),
    memory: s.quantity({ description: 'Memory size as a Kubernetes quantity (converted to MiB, floor)' }),
    performanceProfile: s.object({
      description: 'Performance tuning.',
      properties: {
        cpuHotAddEnabled: s.boolean({ description: 'Allow adding vCPUs while running.', default: false }),
        hyperThreadingPolicy: s.enumOf(['auto', 'prefer', 'avoid', 'require'], { description: 'Hyper-threading placement preference.', default: "auto" }),
        latencySensitivity: s.enumOf(['low', 'normal', 'high'], { description: 'Latency sensitivity level.', default: "normal" }),
        memoryHotAddEnabled: s.boolean({ description: 'Allow adding memory while running.', default: false }),
        nestedVirtualization: s.boolean({ description: 'Expose hardware virtualisation to the guest.', default: false }),
        virtualizationBasedSecurity: s.boolean({ description: 'Enable Windows VBS.', default: false }),
      },
    }),
    resourceLimits: s.object({
      description: 'Limits, reservations and shares.',
      properties: {
        cpuLimit: s.int32({ description: 'CPU ceiling (MHz or percent, provider-defined)', minimum: 100, maximum: 100000 }),
        cpuReservation: s.int32({ description: 'Guaranteed CPU in MHz.', minimum: 0, maximum: 100000 }),
        cpuShares: s.int32({ description: 'Relative CPU weight.', minimum: 1, maximum: 1000000 }),
        memoryLimit: s.quantity({ description: 'Memory ceiling (sent as MiB, clamped to int32)' }),
        memoryReservation: s.quantity({ description: 'Guaranteed memory (sent as MiB, clamped to int32)' }),
      },
    }),
    securityProfile: s.object({
      description: 'Security features.',
      properties: {
        encryptionPolicy: s.object({
          description: 'VM encryption settings.',
          properties: {
            enabled: s.boolean({ description: 'Encrypt the VM.', default: false }),
            keyProvider: s.enumOf(['standard', 'hardware', 'external'], { description: 'Source of encryption keys.' }),
            requireEncryption: s.boolean({ description: 'Fail if encryption cannot be applied.', default: false }),
          },
        }),
        secureBoot: s.boolean({ description: 'Enable UEFI Secure Boot.', default: false }),
        tpmEnabled: s.boolean({ description: 'Attach a virtual TPM.', default: false }),
        tpmVersion: s.enumOf(['1.2', '2.0'], { description: 'TPM version, as a string.' }),
        vtdEnabled: s.boolean({ description: 'Enable IOMMU (Intel VT-d / AMD-Vi)', default: false }),
      },
    }),
  },
});

export const vmClassStatus = s.object({
  description: 'Observed state.',
  properties: {
    conditions: conditions(),
    observedGeneration: s.int64({ description: 'Metadata.generation last processed.' }),
    supportedProviders: s.array(s.string({ description: 'Providers able to honour the class.' }), { description: 'Providers able to honour the class.' }),
    usedByVMs: s.int32({ description: 'Count of VMs referencing this class.' }),
    validationResults: s.map(s.object({
      description: 'Validation outcome for one provider.',
      required: ['valid'],
      properties: {
        lastValidated: s.dateTime({ description: 'When validation ran.' }),
        message: s.string({ description: 'Validation detail.' }),
        valid: s.boolean({ description: 'Whether the class is valid for the provider.' }),
        warnings: s.array(s.string({ description: 'Non-fatal findings.' }), { description: 'Non-fatal findings.' }),
      },
    }), { description: 'Per-provider validation outcome, keyed by provider name.' }),
  },
});

/** A hardware profile (CPU, memory, firmware, disk defaults, performance and security settings) that VirtualMachines reference. */
export const VMClass = defineKind({
  group: GROUP,
  version: VERSION,
  kind: 'VMClass',
  scope: 'Namespaced',
  shortNames: ['vmclass'],
  categories: [CATEGORY],
  description: 'A hardware profile (CPU, memory, firmware, disk defaults, performance and security settings) that VirtualMachines reference.',
  spec: vmClassSpec,
  status: vmClassStatus,
  printerColumns: [
    { name: 'CPU', type: 'integer', jsonPath: '.spec.cpu' },
    { name: 'Memory', type: 'string', jsonPath: '.spec.memory' },
    { name: 'Firmware', type: 'string', jsonPath: '.spec.firmware' },
    { name: 'Used By', type: 'integer', jsonPath: '.status.usedByVMs' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
