import { s, defineKind, cel, Infer } from '../../schema';
import { GROUP, VERSION, CATEGORY, DNS_LABEL, IPV4, MAC, objectRef, localObjectRef, conditions } from './common';

/** Phases a VM goes through; `phase` in status and in VMSet member status. */
export const VM_PHASES = ['Pending', 'Provisioning', 'Running', 'Stopped', 'Reconfiguring', 'Deleting', 'Failed'] as const;
/** Desired and observed power states. */
export const POWER_STATES = ['On', 'Off', 'OffGraceful'] as const;

const execAction = s.object({
  description: 'Run a command in the guest (needs a guest agent).',
  required: ['command'],
  properties: {
    command: s.array(s.string({ description: 'One argument; the first is the program.' }), {
      description: 'Command line to run, as argv (at least one element).',
      minItems: 1,
    }),
  },
});

const httpGetAction = s.object({
  description: 'Issue an HTTP GET against the guest; a non-2xx answer fails the hook.',
  required: ['port'],
  properties: {
    host: s.string({ description: "Host to contact; empty means the VM's first IP address." }),
    path: s.string({ description: 'Request path, e.g. /healthz.' }),
    port: s.int32({ description: 'Target TCP port.', minimum: 1, maximum: 65535 }),
    scheme: s.enumOf(['HTTP', 'HTTPS'], { description: 'HTTP or HTTPS.', default: 'HTTP' }),
  },
});

const snapshotAction = s.object({
  description: 'Take a provider snapshot of the VM.',
  required: ['name'],
  properties: {
    description: s.string({ description: 'Free-text description of the snapshot.' }),
    includeMemory: s.boolean({ description: 'Capture RAM state as well.' }),
    name: s.string({ description: 'Name of the snapshot.', minLength: 1, maxLength: 253 }),
  },
});

/** A lifecycle hook: exactly one action. */
const lifecycleHandler = (description: string) =>
  s.object({
    description,
    properties: {
      exec: execAction,
      httpGet: httpGetAction,
      snapshot: snapshotAction,
    },
    rules: [cel.exactlyOneOf(['exec', 'httpGet', 'snapshot'], { message: 'a lifecycle handler needs exactly one action: exec, httpGet or snapshot' })],
  });

const gpu = (description: string) =>
  s.object({
    description,
    required: ['count'],
    properties: {
      count: s.int32({ description: 'Number of GPUs.', minimum: 1, maximum: 8 }),
      memory: s.int64({ description: 'GPU memory in MiB.', minimum: 512 }),
      type: s.string({ description: 'Provider-specific GPU model identifier.', pattern: '^[a-zA-Z0-9-_]+$', maxLength: 128 }),
    },
  });

const vmResources = (description: string) =>
  s.object({
    description,
    properties: {
      cpu: s.int32({ description: 'Number of vCPUs.', minimum: 1, maximum: 128 }),
      gpu: gpu('GPU request.'),
      memoryMiB: s.int64({ description: 'Memory size in MiB.', minimum: 128, maximum: 1048576 }),
    },
  });

/** cloud-init or Ignition data, inline or from a Secret in the VM's namespace. */
const guestData = (description: string, secretKeys: string) =>
  s.object({
    description,
    properties: {
      inline: s.string({ description: 'The document itself.' }),
      secretRef: localObjectRef(`Secret in the VM's namespace holding the document under one of the keys ${secretKeys}.`),
    },
  });

/** A data disk; shared by VirtualMachine, VMClone and VMMigration targets. */
export const vmDisk = s.object({
  description: 'A data disk attached to the VM.',
  required: ['name', 'sizeGiB'],
  properties: {
    expandPolicy: s.enumOf(['Online', 'Offline'], { description: 'Whether the disk may be grown while the VM runs (Online) or only when it is stopped (Offline).', default: 'Offline' }),
    name: s.string({ description: 'Disk name, unique within the VM.', maxLength: 63, pattern: DNS_LABEL }),
    scsi: s.object({
      description: 'vSphere-only SCSI controller placement.',
      properties: {
        controller: s.int32({ description: 'SCSI bus number 0-3; unset = first free controller.', minimum: 0, maximum: 3 }),
        controllerType: s.enumOf(['lsilogic', 'buslogic', 'lsilogic-sas', 'pvscsi'], { description: 'SCSI adapter model.', default: 'pvscsi' }),
        sharedBus: s.enumOf(['noSharing', 'virtualSharing', 'physicalSharing'], { description: 'SCSI bus sharing mode.', default: 'noSharing' }),
      },
    }),
    sizeGiB: s.int32({ description: 'Disk capacity in GiB.', minimum: 1, maximum: 65536 }),
    storageClass: s.string({ description: 'Storage class / tier hint.' }),
    type: s.enumOf(['thin', 'thick', 'eagerzeroedthick', 'ssd', 'hdd'], { description: 'Provisioning / media type hint for the provider.', default: 'thin' }),
  },
});

/** A network interface; shared by VirtualMachine, VMClone and VMMigration targets. */
export const vmNetworkInterface = s.object({
  description: 'A network interface of the VM.',
  required: ['name'],
  properties: {
    dns: s.string({ description: 'DNS servers as one comma-separated string (no format check)' }),
    gateway: s.string({ description: 'Default gateway IPv4 for this NIC.', pattern: IPV4 }),
    ipAddress: s.string({ description: 'Static IPv4 address for this NIC (omit for DHCP)', pattern: IPV4 }),
    macAddress: s.string({ description: 'Fixed MAC address, \':\' or \'-\' separated.', pattern: MAC }),
    name: s.string({ description: 'NIC name, unique within the VM.', maxLength: 63, pattern: DNS_LABEL }),
    networkRef: objectRef('Optional VMNetworkAttachment to bind; absent = reuse the template\'s pre-configured NIC.'),
    prefix: s.int32({ description: 'IPv4 prefix length for the static address (e.g. 24)', minimum: 1, maximum: 32 }),
  },
});

export interface VirtualMachineSpecOptions {
  /**
   * The spec inside a VMSet template: no immutability rules (changing the
   * template is how a set is updated).
   * @default false
   */
  readonly template?: boolean;
}

/** The VirtualMachine spec; also the schema of VMSet `spec.template.spec`. */
export function virtualMachineSpec(o: VirtualMachineSpecOptions = {}) {
  const once = <T>(node: T & { immutable(m: string): T }, what: string): T => (o.template ? node : node.immutable(`${what} cannot be changed after the VM is created`));
  const rules = [
    cel.mutuallyExclusive('imageRef', 'importedDisk', { message: 'imageRef and importedDisk are mutually exclusive: boot from an image or from an imported disk, not both' }),
  ];
  if (!o.template) {
    rules.push(
      cel.presenceImmutable('imageRef', { message: 'imageRef cannot be added or removed after the VM is created' }),
      cel.presenceImmutable('importedDisk', { message: 'importedDisk cannot be added or removed after the VM is created' }),
    );
  }
  return s.object({
    description: 'Desired state of the virtual machine.',
    required: ['classRef', 'providerRef'],
    properties: {
      classRef: objectRef('The VMClass giving CPU, memory and firmware.'),
      disks: s.array(vmDisk, { description: 'Additional (non-root) disks to attach.', maxItems: 20, rules: [cel.uniqueBy('name', { what: 'disk', message: 'disk names must be unique within a VM' })] }),
      imageRef: once(objectRef('The VMImage to boot from (mutually exclusive with importedDisk).'), 'imageRef'),
      importedDisk: s.object({
        description: 'Boot from a disk already present on the provider instead of an image (mutually exclusive with imageRef).',
        required: ['diskID'],
        properties: {
          diskID: s.string({ description: 'Provider-side identifier of the disk (libvirt: volume name)', minLength: 1, maxLength: 253 }),
          format: s.enumOf(['qcow2', 'vmdk', 'raw', 'vdi', 'vhdx'], { description: 'On-disk format of the imported disk.', default: 'qcow2' }),
          migrationRef: localObjectRef('VMMigration that produced the disk.'),
          path: s.string({ description: "Provider-native disk path; empty means the provider's default location for diskID." }),
          sizeGiB: s.int32({ description: 'Expected disk size in GiB.', minimum: 1 }),
          source: s.enumOf(['migration', 'clone', 'import', 'snapshot', 'manual'], { description: 'Provenance of the disk.' }),
        },
      }),
      lifecycle: s.object({
        description: 'Lifecycle hooks and shutdown tuning.',
        properties: {
          gracefulShutdownTimeout: s.duration({ description: 'How long a graceful shutdown (powerState OffGraceful) may take before the VM is powered off hard.', default: '60s' }),
          postStart: lifecycleHandler('Action run after the VM has been powered on.'),
          preStop: lifecycleHandler('Action run before the VM is powered off or deleted.'),
        },
      }),
      metaData: s.object({
        description: 'cloud-init meta-data for the NoCloud/guestinfo data source.',
        properties: {
          cloudInit: guestData('cloud-init meta-data.', 'metadata, meta-data or meta_data'),
        },
      }),
      networks: s.array(vmNetworkInterface, { description: 'Network interfaces of the VM.', maxItems: 10, rules: [cel.uniqueBy('name', { what: 'network', message: 'network names must be unique within a VM' })] }),
      placement: s.object({
        description: 'Placement hints forwarded to the provider.',
        properties: {
          cluster: s.string({ description: 'Target compute cluster.' }),
          datastore: s.string({ description: 'Target datastore (mutually exclusive with storagePod).' }),
          folder: s.string({ description: 'Target VM folder.' }),
          host: s.string({ description: 'Target host.' }),
          resourcePool: s.string({ description: 'Target resource pool.' }),
          storagePod: s.string({ description: 'vSphere datastore cluster; the provider picks the member datastore with the most free space.' }),
        },
        rules: [cel.mutuallyExclusive('datastore', 'storagePod', { message: 'datastore and storagePod are mutually exclusive: pin a datastore or let the datastore cluster choose one' })],
      }),
      placementRef: localObjectRef('Same-namespace reference to a VMPlacementPolicy.'),
      powerState: s.enumOf(POWER_STATES, { description: 'Desired power state; empty means On.' }),
      providerRef: once(objectRef('The Provider that hosts the VM.'), 'providerRef'),
      resources: vmResources('Per-VM CPU, memory and GPU, overriding the VMClass; changing them reconfigures the VM.'),
      snapshot: s.object({
        description: 'Snapshot-related operations on this VM.',
        properties: {
          revertToRef: localObjectRef('VMSnapshot to roll the VM back to.'),
        },
      }),
      tags: s.array(s.string({ description: 'Free-form tags passed to the provider at create time.' }), { description: 'Free-form tags passed to the provider at create time.', maxItems: 50 }),
      userData: s.object({
        description: 'Guest bootstrap data: cloud-init or Ignition.',
        properties: {
          cloudInit: guestData('cloud-init user-data.', 'userdata, user-data, cloud-init or cloud-config'),
          ignition: guestData('Ignition config (Fedora CoreOS, RHCOS).', 'ignition, config.ign or userdata'),
        },
        rules: [cel.mutuallyExclusive('cloudInit', 'ignition', { message: 'cloudInit and ignition are mutually exclusive: a guest reads one bootstrap format' })],
      }),
    },
  rules,
    });
}

export const virtualMachineStatus = s.object({
  description: 'Observed state of the virtual machine.',
  properties: {
    conditions: conditions(),
    consoleURL: s.string({ description: 'Console URL reported by the provider.' }),
    currentResources: vmResources('CPU, memory and GPU currently applied to the VM.'),
    id: s.string({ description: 'Provider-side VM identifier; empty means not yet created.' }),
    ips: s.array(s.string({ description: 'IP addresses reported by the provider.' }), { description: 'IP addresses reported by the provider.' }),
    lastReconfigureTime: s.dateTime({ description: 'When the last reconfigure was issued.' }),
    lastTaskRef: s.string({ description: 'Outstanding asynchronous provider task (create or power change).' }),
    message: s.string({ description: 'Human-readable detail.' }),
    observedGeneration: s.int64({ description: 'metadata.generation last processed.' }),
    phase: s.enumOf(VM_PHASES, { description: 'Coarse lifecycle phase.' }),
    powerState: s.enumOf(POWER_STATES, { description: 'Power state last reported by the provider.' }),
    provider: s.map(s.string({ description: 'A detail value.' }), { description: 'Provider-specific details (for example the vSphere managed object id or the libvirt domain UUID).', maxProperties: 64 }),
    reconfigureTaskRef: s.string({ description: 'Outstanding async reconfigure task.' }),
    snapshots: s.array(s.object({
      description: 'Snapshots known for this VM.',
      required: ['creationTime', 'id', 'name'],
      properties: {
        creationTime: s.dateTime({ description: 'When the snapshot was taken.' }),
        description: s.string({ description: 'Snapshot description.' }),
        hasMemory: s.boolean({ description: 'Whether RAM state is included.' }),
        id: s.string({ description: 'Provider snapshot identifier.' }),
        name: s.string({ description: 'Snapshot name.' }),
        sizeBytes: s.int64({ description: 'Snapshot size in bytes.' }),
      },
    }), { description: 'Snapshots known for this VM.' }),
  },
});

export type VirtualMachineSpec = Infer<ReturnType<typeof virtualMachineSpec>>;
export type VirtualMachineStatus = Infer<typeof virtualMachineStatus>;

/** A virtual machine on one of the Providers. */
export const VirtualMachine = defineKind({
  group: GROUP,
  version: VERSION,
  kind: 'VirtualMachine',
  scope: 'Namespaced',
  shortNames: ['vm'],
  categories: [CATEGORY],
  description: 'A virtual machine managed by a Provider: hardware from a VMClass, boot disk from a VMImage or an imported disk, networks, disks, placement and power state.',
  spec: virtualMachineSpec(),
  status: virtualMachineStatus,
  printerColumns: [
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Lifecycle phase.' },
    { name: 'Power', type: 'string', jsonPath: '.status.powerState', description: 'Power state reported by the provider.' },
    { name: 'Provider', type: 'string', jsonPath: '.spec.providerRef.name', description: 'Provider hosting the VM.' },
    { name: 'Class', type: 'string', jsonPath: '.spec.classRef.name', description: 'VMClass of the VM.' },
    { name: 'Image', type: 'string', jsonPath: '.spec.imageRef.name', priority: 1, description: 'VMImage the VM booted from.' },
    { name: 'IPs', type: 'string', jsonPath: '.status.ips[*]', description: 'IP addresses reported by the provider.' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
