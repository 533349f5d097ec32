import { s, defineKind, cel } from '../../schema';
import { GROUP, VERSION, CATEGORY, PROVIDER_IMAGE, PROVIDER_ENDPOINT, objectRef, conditions, allowedNamespaces } from './common';
import * as k8s from './k8s';

const capacity = (description: string) => s.object({
  description,
  properties: {
    available: s.int64({ description: 'Free capacity.' }),
    total: s.int64({ description: 'Total capacity.' }),
    usagePercent: s.int32({ description: 'Utilisation 0-100 (not schema-limited)' }),
    used: s.int64({ description: 'Used capacity.' }),
  },
});

export const providerSpec = s.object({
  description: 'Connection to one hypervisor endpoint plus the provider pod that serves it.',
  required: ['credentialSecretRef', 'endpoint', 'runtime', 'type'],
  properties: {
    allowedNamespaces: allowedNamespaces('Provider'),
    connectionPooling: s.object({
      description: 'Hypervisor connection pool.',
      properties: {
        connectionTimeout: s.duration({ description: 'Dial timeout.', default: "30s" }),
        idleTimeout: s.duration({ description: 'Idle connection lifetime.', default: "5m" }),
        maxConnections: s.int32({ description: 'Pool size.', minimum: 1, maximum: 100, default: 10 }),
        maxIdleConnections: s.int32({ description: 'Idle connections kept.', minimum: 1, default: 5 }),
      },
    }),
    credentialSecretRef: objectRef('Secret with hypervisor credentials, mounted at /etc/virtrigaud/credentials.'),
    defaults: s.object({
      description: 'Default placement used by the provider pod.',
      properties: {
        cluster: s.string({ description: 'Default cluster (PROVIDER_DEFAULT_CLUSTER)', maxLength: 255 }),
        datastore: s.string({ description: 'Default datastore (PROVIDER_DEFAULT_DATASTORE); used when a VM names neither a datastore nor a storagePod (mutually exclusive with storagePod).', maxLength: 255 }),
        folder: s.string({ description: 'Default folder (PROVIDER_DEFAULT_FOLDER)', maxLength: 255 }),
        network: s.string({ description: 'Default network.', maxLength: 255 }),
        resourcePool: s.string({ description: 'Default resource pool.', maxLength: 255 }),
        storagePod: s.string({ description: 'Default vSphere datastore cluster; the member datastore with the most free space is chosen.', maxLength: 255 }),
      },
      rules: [cel.mutuallyExclusive('datastore', 'storagePod', { message: 'datastore and storagePod are mutually exclusive: pin a default datastore or let a datastore cluster choose one' })],
    }),
    endpoint: s.string({ description: 'Hypervisor URL (vCenter https, PVE https, qemu+ssh for libvirt ...); passed to the pod as PROVIDER_ENDPOINT.', pattern: PROVIDER_ENDPOINT }),
    healthCheck: s.object({
      description: 'Health checking of the provider.',
      properties: {
        enabled: s.boolean({ description: 'Enable health checks; always serialised.', default: true }),
        failureThreshold: s.int32({ description: 'Consecutive failures before unhealthy.', minimum: 1, maximum: 10, default: 3 }),
        interval: s.duration({ description: 'Check period.', default: "30s" }),
        successThreshold: s.int32({ description: 'Consecutive successes before healthy.', minimum: 1, maximum: 10, default: 1 }),
        timeout: s.duration({ description: 'Per-check timeout.', default: "10s" }),
      },
    }),
    insecureSkipVerify: s.boolean({ description: 'Skip hypervisor TLS verification (passed as TLS_INSECURE_SKIP_VERIFY) - deprecated.', default: false }),
    rateLimit: s.object({
      description: 'Hypervisor API rate limit.',
      properties: {
        burst: s.integer({ description: 'Burst size.', minimum: 1, maximum: 2000, default: 20 }),
        qps: s.integer({ description: 'Sustained queries per second.', minimum: 1, maximum: 1000, default: 10 }),
      },
    }),
    runtime: s.object({
      description: 'Provider pod (Deployment + Service) definition.',
      required: ['image'],
      properties: {
        affinity: k8s.affinity('Pod affinity.'),
        env: s.array(k8s.envVar('Extra container env vars, appended after the built-in ones.'), { description: 'Extra container env vars, appended after the built-in ones.', maxItems: 50 }),
        image: s.string({ description: 'Provider container image (tag and/or sha256 digest)', pattern: PROVIDER_IMAGE }),
        imagePullPolicy: s.enumOf(['Always', 'Never', 'IfNotPresent'], { description: 'Container pull policy.', default: "IfNotPresent" }),
        imagePullSecrets: s.array(s.object({
          description: 'Registry pull secrets.',
          properties: {
            name: s.string({ description: 'Secret name.', default: "" }),
          },
        }), { description: 'Registry pull secrets.', maxItems: 10 }),
        livenessProbe: k8s.probe('Liveness probe.'),
        logFormat: s.enumOf(['text', 'json'], { description: 'Provider log format (LOG_FORMAT env)', default: "text" }),
        logLevel: s.enumOf(['debug', 'info', 'warn', 'error'], { description: 'Provider log level (LOG_LEVEL env)', default: "info" }),
        mode: s.enumOf(['Remote'], { description: 'Execution mode; only Remote exists.', default: "Remote" }),
        nodeSelector: s.map(s.string({ description: 'Pod node selector.' }), { description: 'Pod node selector.' }),
        readinessProbe: k8s.probe('Readiness probe.'),
        replicas: s.int32({ description: 'Deployment replica count.', minimum: 1, maximum: 10, default: 1 }),
        resources: k8s.resourceRequirements('Container resources; replaces the built-in default entirely.'),
        securityContext: k8s.securityContext('Container security context; replaces the hardened default entirely.'),
        service: s.object({
          description: 'gRPC Service settings.',
          properties: {
            port: s.int32({ description: 'gRPC port of Service and container.', minimum: 1024, maximum: 65535, default: 9443 }),
            tls: s.object({
              description: 'Manager<->provider TLS decision; MUST be present or the runtime is refused.',
              properties: {
                enabled: s.boolean({ description: 'mTLS on (needs secretRef) or explicit plaintext opt-out; always serialised.', default: true }),
                insecureSkipVerify: s.boolean({ description: 'Manager does not verify the provider server cert.', default: false }),
                secretRef: s.object({
                  description: 'Secret with tls.crt, tls.key, ca.crt (mounted at /etc/virtrigaud/tls)',
                  properties: {
                    name: s.string({ description: 'Secret name.', default: "" }),
                  },
                }),
              },
            }),
          },
        }),
        tolerations: s.array(k8s.toleration('Pod tolerations.'), { description: 'Pod tolerations.', maxItems: 20 }),
      },
    }),
    type: s.enumOf(['vsphere', 'libvirt', 'firecracker', 'qemu', 'proxmox'], { description: 'Hypervisor family (sets PROVIDER_TYPE in the pod)' }),
  },
});

export const providerStatus = s.object({
  description: 'Observed provider state.',
  properties: {
    adoption: s.object({
      description: 'VM adoption progress (present while annotation virtrigaud.io/adopt-vms=true)',
      properties: {
        adoptedVMs: s.int32({ description: 'VMs adopted in last pass.' }),
        discoveredVMs: s.int32({ description: 'Unmanaged VMs found in last pass.' }),
        failedAdoptions: s.int32({ description: 'Adoption failures in last pass.' }),
        lastDiscoveryTime: s.dateTime({ description: 'Last discovery pass.' }),
        message: s.string({ description: 'Adoption detail.' }),
      },
    }),
    capabilities: s.array(s.enumOf(['VirtualMachines', 'Snapshots', 'Cloning', 'LiveMigration', 'ConsoleAccess', 'DiskManagement', 'NetworkManagement', 'GPUPassthrough', 'HighAvailability', 'Backup', 'Templates'], { description: 'Coarse capability list.' }), { description: 'Coarse capability list.' }),
    conditions: conditions(),
    connectedVMs: s.int32({ description: 'Count of VirtualMachines (all namespaces) whose providerRef resolves to this Provider.' }),
    healthy: s.boolean({ description: 'True when condition ProviderAvailable is True.' }),
    lastHealthCheck: s.dateTime({ description: 'Set to now on each reconcile while healthy.' }),
    observedGeneration: s.int64({ description: 'Metadata.generation last processed.' }),
    reportedCapabilities: s.object({
      description: 'Snapshot of the GetCapabilities RPC answer.',
      properties: {
        supportedDiskTypes: s.array(s.string({ description: 'Disk formats supported.' }), { description: 'Disk formats supported.' }),
        supportedExportBackends: s.array(s.string({ description: 'Staging backends for export; empty =.' }), { description: 'Staging backends for export; empty =.' }),
        supportedExportFormats: s.array(s.string({ description: 'Export formats.' }), { description: 'Export formats.' }),
        supportedImportBackends: s.array(s.string({ description: 'Staging backends for import; empty =.' }), { description: 'Staging backends for import; empty =.' }),
        supportedImportFormats: s.array(s.string({ description: 'Import formats.' }), { description: 'Import formats.' }),
        supportedNetworkTypes: s.array(s.string({ description: 'NIC models supported.' }), { description: 'NIC models supported.' }),
        supportedTransferModes: s.array(s.string({ description: 'Transfer modes; empty =.' }), { description: 'Transfer modes; empty =.' }),
        supportsDiskExpansionOnline: s.boolean({ description: 'Hot disk growth.' }),
        supportsDiskExport: s.boolean({ description: 'Can be a migration source.' }),
        supportsDiskImport: s.boolean({ description: 'Can be a migration target.' }),
        supportsExportCompression: s.boolean({ description: 'Compressed export.' }),
        supportsImageImport: s.boolean({ description: 'ImagePrepare / import; gates the image-prepare flow.' }),
        supportsLinkedClones: s.boolean({ description: 'Linked (COW) clones.' }),
        supportsMemorySnapshots: s.boolean({ description: 'Snapshots including RAM.' }),
        supportsReconfigureOnline: s.boolean({ description: 'Hot CPU/memory change.' }),
        supportsSnapshots: s.boolean({ description: 'Snapshots.' }),
      },
    }),
    resourceUsage: s.object({
      description: 'Hypervisor usage stats.',
      properties: {
        cpu: capacity('CPU usage.'),
        memory: capacity('Memory usage.'),
        network: s.object({
          description: 'Network counters.',
          properties: {
            bytesReceived: s.int64({ description: 'Bytes received.' }),
            bytesSent: s.int64({ description: 'Bytes sent.' }),
            packetsReceived: s.int64({ description: 'Packets received.' }),
            packetsSent: s.int64({ description: 'Packets sent.' }),
          },
        }),
        storage: capacity('Storage usage.'),
      },
    }),
    runtime: s.object({
      description: 'Provider pod runtime status.',
      properties: {
        availableReplicas: s.int32({ description: 'Available pods.' }),
        endpoint: s.string({ description: 'gRPC host:port the manager dials (<svc>.<ns>.svc.cluster.local:<port>)' }),
        message: s.string({ description: 'Runtime detail.' }),
        mode: s.enumOf(['Remote'], { description: 'Always Remote.' }),
        phase: s.enumOf(['Pending', 'Starting', 'Running', 'Stopping', 'Failed'], { description: 'Runtime phase (manager sets Pending, Running or Failed)' }),
        readyReplicas: s.int32({ description: 'Ready pods.' }),
        serviceRef: s.object({
          description: 'Service fronting the provider pods.',
          properties: {
            name: s.string({ description: 'Service name.', default: "" }),
          },
        }),
      },
    }),
    version: s.string({ description: 'Provider version.' }),
  },
});

/** A connection to a hypervisor (vSphere, libvirt, Proxmox VE, Firecracker or QEMU): endpoint, credentials, placement defaults and how the provider runs. */
export const Provider = defineKind({
  group: GROUP,
  version: VERSION,
  kind: 'Provider',
  scope: 'Namespaced',
  shortNames: ['prov'],
  categories: [CATEGORY],
  description: 'A connection to a hypervisor (vSphere, libvirt, Proxmox VE, Firecracker or QEMU): endpoint, credentials, placement defaults and how the provider runs.',
  spec: providerSpec,
  status: providerStatus,
  printerColumns: [
    { name: 'Type', type: 'string', jsonPath: '.spec.type' },
    { name: 'Endpoint', type: 'string', jsonPath: '.spec.endpoint' },
    { name: 'Healthy', type: 'boolean', jsonPath: '.status.healthy' },
    { name: 'Connected VMs', type: 'integer', jsonPath: '.status.connectedVMs' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
