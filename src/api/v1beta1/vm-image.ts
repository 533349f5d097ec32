import { s, defineKind } from '../../schema';
import { GROUP, VERSION, CATEGORY, objectRef, localObjectRef, conditions, allowedNamespaces } from './common';

export const vmImageSpec = s.object({
  description: 'Image definition; the whole spec is JSON-encoded and sent to providers on ImagePrepare.',
  required: ['source'],
  properties: {
    allowedNamespaces: allowedNamespaces('VMImage'),
    distribution: s.object({
      description: 'Guest OS information.',
      properties: {
        family: s.enumOf(['linux', 'windows', 'bsd', 'other'], { description: 'OS family.' }),
        kernel: s.object({
          description: 'Kernel information.',
          properties: {
            type: s.enumOf(['linux', 'windows', 'freebsd', 'other'], { description: 'Kernel type.' }),
            version: s.string({ description: 'Kernel version.' }),
          },
        }),
        name: s.enumOf(['ubuntu', 'centos', 'rhel', 'fedora', 'debian', 'suse', 'windows', 'freebsd', 'coreos', 'other'], { description: 'Distribution.' }),
        variant: s.string({ description: 'Variant (server, desktop, ...)', maxLength: 100 }),
        version: s.string({ description: 'Distribution version.', maxLength: 100 }),
      },
    }),
    metadata: s.object({
      description: 'Descriptive image metadata (not ObjectMeta)',
      properties: {
        annotations: s.map(s.string({ description: 'Extra key/value annotations.' }), { description: 'Extra key/value annotations.', maxProperties: 50 }),
        architecture: s.enumOf(['amd64', 'arm64', 'x86_64', 'aarch64'], { description: 'CPU architecture.', default: "amd64" }),
        description: s.string({ description: 'Description.', maxLength: 1024 }),
        displayName: s.string({ description: 'Human-friendly name.', maxLength: 255 }),
        tags: s.map(s.string({ description: 'Categorisation key/values.' }), { description: 'Categorisation key/values.', maxProperties: 50 }),
        version: s.string({ description: 'Image version string.', maxLength: 100 }),
      },
    }),
    prepare: s.object({
      description: 'Preparation policy when a VM first needs the image on a provider.',
      properties: {
        force: s.boolean({ description: 'Re-import even when already present.' }),
        onMissing: s.enumOf(['Import', 'Fail', 'Wait'], { description: 'Action when the image is absent: Import it, Fail, or Wait for an external preparer.', default: "Import" }),
        optimization: s.object({
          description: 'Post-import optimisation.',
          properties: {
            convertFormat: s.enumOf(['qcow2', 'raw', 'vmdk', 'vhd', 'vhdx', 'iso', 'ova', 'ovf'], { description: 'Convert to this format.' }),
            enableCompression: s.boolean({ description: 'Compress the image.', default: false }),
            enableDeltaSync: s.boolean({ description: 'Use delta sync on updates.', default: false }),
            removeUnusedSpace: s.boolean({ description: 'Sparsify / trim free space.', default: false }),
          },
        }),
        retries: s.int32({ description: 'Retry count for failed preparation steps.', minimum: 0, maximum: 10, default: 3 }),
        storage: s.object({
          description: 'Storage options for the import.',
          properties: {
            compression: s.boolean({ description: 'Compress during import.', default: false }),
            libvirt: s.object({
              description: 'Libvirt import placement.',
              properties: {
                allocationPolicy: s.enumOf(['eager', 'lazy'], { description: 'Eager or lazy allocation.' }),
                preallocation: s.enumOf(['off', 'metadata', 'falloc', 'full'], { description: 'Qemu-img preallocation mode.' }),
                storagePool: s.string({ description: 'Target storage pool.', maxLength: 255 }),
              },
            }),
            preferredFormat: s.enumOf(['qcow2', 'raw', 'vmdk', 'vhd', 'vhdx', 'iso', 'ova', 'ovf'], { description: 'Preferred target format.' }),
            vsphere: s.object({
              description: 'vSphere import placement.',
              properties: {
                datastore: s.string({ description: 'Target datastore.', maxLength: 255 }),
                diskType: s.enumOf(['thin', 'thick', 'eagerzeroedthick'], { description: 'Provisioning type of the imported disk.' }),
                folder: s.string({ description: 'Target folder.', maxLength: 255 }),
                thinProvisioned: s.boolean({ description: 'Thin-provision the imported disk.' }),
              },
            }),
          },
        }),
        timeout: s.duration({ description: 'Maximum preparation time.', default: "30m" }),
        validateChecksum: s.boolean({ description: 'Verify the checksum after download.', default: true }),
      },
    }),
    source: s.object({
      description: 'Where the image comes from (one provider-specific or generic sub-block)',
      properties: {
        dataVolume: objectRef('KubeVirt/CDI DataVolume source.'),
        http: s.object({
          description: 'Generic HTTP(S) download source.',
          required: ['url'],
          properties: {
            authentication: s.object({
              description: 'Download authentication.',
              properties: {
                basicAuth: s.object({
                  description: 'HTTP basic auth from a Secret.',
                  required: ['secretRef'],
                  properties: {
                    passwordKey: s.string({ description: 'Secret key holding the password.', default: "password" }),
                    secretRef: localObjectRef('Secret holding the credentials.'),
                    usernameKey: s.string({ description: 'Secret key holding the user name.', default: "username" }),
                  },
                }),
                bearer: s.object({
                  description: 'Bearer-token auth from a Secret.',
                  required: ['secretRef'],
                  properties: {
                    secretRef: localObjectRef('Secret holding the token.'),
                    tokenKey: s.string({ description: 'Secret key holding the token.', default: "token" }),
                  },
                }),
                clientCert: s.object({
                  description: 'TLS client-certificate auth from a Secret.',
                  required: ['secretRef'],
                  properties: {
                    certKey: s.string({ description: 'Secret key holding the certificate.', default: "tls.crt" }),
                    keyKey: s.string({ description: 'Secret key holding the private key.', default: "tls.key" }),
                    secretRef: localObjectRef('Secret holding cert and key.'),
                  },
                }),
              },
            }),
            checksum: s.string({ description: 'Expected checksum of the downloaded artifact.' }),
            checksumType: s.enumOf(['md5', 'sha1', 'sha256', 'sha512'], { description: 'Hash algorithm of the checksum.', default: "sha256" }),
            headers: s.map(s.string({ description: 'Extra HTTP request headers.' }), { description: 'Extra HTTP request headers.', maxProperties: 20 }),
            timeout: s.duration({ description: 'Download timeout.', default: "30m" }),
            url: s.string({ description: 'Download URL.', pattern: "^https?://.*" }),
          },
        }),
        libvirt: s.object({
          description: 'Libvirt file or download source.',
          properties: {
            checksum: s.string({ description: 'Expected checksum of the downloaded artifact.' }),
            checksumType: s.enumOf(['md5', 'sha1', 'sha256', 'sha512'], { description: 'Hash algorithm of the checksum.', default: "sha256" }),
            format: s.enumOf(['qcow2', 'raw', 'vmdk', 'vhd', 'vhdx', 'iso', 'ova', 'ovf'], { description: 'Image file format.', default: "qcow2" }),
            path: s.string({ description: 'Path of an existing image file on the libvirt host (reference-only)' }),
            storagePool: s.string({ description: 'Libvirt storage pool to place the image in.', maxLength: 255 }),
            url: s.string({ description: 'HTTP/HTTPS/FTP URL to download (import)', pattern: "^(https?|ftp)://.*" }),
          },
        }),
        proxmox: s.object({
          description: 'Proxmox VE template source (reference-only)',
          properties: {
            format: s.enumOf(['raw', 'qcow2', 'vmdk'], { description: 'Disk format for the clone.', default: "qcow2" }),
            fullClone: s.boolean({ description: 'Full clone (true) or linked clone (false)', default: true }),
            node: s.string({ description: 'Node holding the template.', maxLength: 255 }),
            storage: s.string({ description: 'Proxmox storage used when cloning.', maxLength: 255 }),
            templateID: s.integer({ description: 'VMID of an existing template (wins over templateName)', minimum: 100, maximum: 999999999 }),
            templateName: s.string({ description: 'Name of an existing template.', maxLength: 255 }),
          },
        }),
        registry: s.object({
          description: 'Disk image packaged in a container registry.',
          required: ['image'],
          properties: {
            format: s.enumOf(['qcow2', 'raw', 'vmdk', 'vhd', 'vhdx', 'iso', 'ova', 'ovf'], { description: 'Format of the disk inside the artifact.', default: "qcow2" }),
            image: s.string({ description: 'Image reference; must include a tag.', pattern: "^[a-zA-Z0-9._/-]+:[a-zA-Z0-9._-]+$" }),
            pullSecretRef: localObjectRef('Pull secret.'),
          },
        }),
        vsphere: s.object({
          description: 'vSphere template / content library / OVA source.',
          properties: {
            checksum: s.string({ description: 'Expected checksum of the downloaded artifact.' }),
            checksumType: s.enumOf(['md5', 'sha1', 'sha256', 'sha512'], { description: 'Hash algorithm of the checksum.', default: "sha256" }),
            contentLibrary: s.object({
              description: 'vSphere content library item; reference-only.',
              required: ['item', 'library'],
              properties: {
                item: s.string({ description: 'Library item name.', maxLength: 255 }),
                library: s.string({ description: 'Content library name.', maxLength: 255 }),
                version: s.string({ description: 'Item version.' }),
              },
            }),
            ovaURL: s.string({ description: 'HTTP(S) URL of an OVA/OVF to import.', pattern: "^https?://.*\\.(ova|ovf)$" }),
            providerRef: localObjectRef('vSphere Provider to import into.'),
            templateName: s.string({ description: 'Existing vSphere template (name or inventory path); reference-only, no import.', maxLength: 255 }),
          },
        }),
      },
    }),
  },
});

export const vmImageStatus = s.object({
  description: 'Observed image state (written by the VMImage controller\'s prepare flow)',
  properties: {
    availableOn: s.array(s.string({ description: 'Provider names where the image is available (deduplicated)' }), { description: 'Provider names where the image is available (deduplicated)' }),
    checksum: s.string({ description: 'Actual checksum of the prepared image.' }),
    conditions: conditions(),
    format: s.enumOf(['qcow2', 'raw', 'vmdk', 'vhd', 'vhdx', 'iso', 'ova', 'ovf'], { description: 'Actual format of the prepared image.' }),
    importProgress: s.object({
      description: 'Import progress.',
      properties: {
        eta: s.duration({ description: 'Estimated remaining time.' }),
        percentage: s.int32({ description: 'Completion percentage.', minimum: 0, maximum: 100 }),
        startTime: s.dateTime({ description: 'Import start time.' }),
        totalBytes: s.int64({ description: 'Total bytes to transfer.' }),
        transferRate: s.int64({ description: 'Bytes per second.' }),
        transferredBytes: s.int64({ description: 'Bytes transferred so far.' }),
      },
    }),
    lastPrepareTime: s.dateTime({ description: 'When a prepare was last started/completed.' }),
    message: s.string({ description: 'Human-readable detail.' }),
    observedGeneration: s.int64({ description: 'Metadata.generation last processed.' }),
    phase: s.enumOf(['Pending', 'Downloading', 'Importing', 'Converting', 'Optimizing', 'Ready', 'Failed'], { description: 'Preparation phase.' }),
    prepareTaskRef: s.string({ description: 'Outstanding async prepare task.' }),
    providerStatus: s.map(s.object({
      description: 'State on one provider.',
      required: ['available'],
      properties: {
        attempts: s.int32({ description: 'Failed preparation attempts for this generation (spec.prepare.retries bounds them).', minimum: 0 }),
        available: s.boolean({ description: 'Image usable on this provider.' }),
        id: s.string({ description: 'Prepared image id (vSphere template / Proxmox VMID or name); used as template at create.' }),
        lastUpdated: s.dateTime({ description: 'Last update time.' }),
        message: s.string({ description: 'Provider-specific detail.' }),
        observedGeneration: s.int64({ description: 'Metadata.generation this entry was prepared for; an older one is prepared again.' }),
        path: s.string({ description: 'Prepared image path (libvirt pool file); used as image path at create.' }),
        phase: s.enumOf(['Pending', 'Importing', 'Ready', 'Failed', 'Waiting', 'Deferred'], { description: 'Preparation on this provider: Waiting for an external preparer (onMissing Wait); Deferred when the provider prepares images at create time.' }),
        prepareTaskRef: s.string({ description: 'Outstanding async prepare task on this provider.' }),
        reason: s.string({ description: 'Why the entry is Failed (PrepareFailed, MissingOnProvider) or Ready (Prepared).' }),
        size: s.quantity({ description: 'Image size on this provider.' }),
      },
    }), { description: 'Per-provider preparation state, keyed by Provider name.' }),
    ready: s.boolean({ description: 'True once the image is available on at least one provider.' }),
    size: s.quantity({ description: 'Prepared image size.' }),
  },
});

/** A base image or template for VirtualMachines, with a source per provider type and preparation options. */
export const VMImage = defineKind({
  group: GROUP,
  version: VERSION,
  kind: 'VMImage',
  scope: 'Namespaced',
  shortNames: ['vmimg'],
  categories: [CATEGORY],
  description: 'A base image or template for VirtualMachines, with a source per provider type and preparation options.',
  spec: vmImageSpec,
  status: vmImageStatus,
  printerColumns: [
    { name: 'Ready', type: 'boolean', jsonPath: '.status.ready' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
    { name: 'Size', type: 'string', jsonPath: '.status.size' },
    { name: 'Providers', type: 'string', jsonPath: '.status.availableOn[*]' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
