import { s, defineKind } from '../../schema';
import { GROUP, VERSION, CATEGORY, IPV4, IPV4_CIDR, localObjectRef, conditions } from './common';

export const vmNetworkAttachmentSpec = s.object({
  description: 'Network definition referenced by VM NICs.',
  required: ['network'],
  properties: {
    ipAllocation: s.object({
      description: 'IP addressing policy.',
      properties: {
        dhcpConfig: s.object({
          description: 'DHCP client options.',
          properties: {
            clientID: s.string({ description: 'DHCP client identifier.', maxLength: 255 }),
            hostname: s.string({ description: 'Hostname to request.', maxLength: 255 }),
            options: s.map(s.string({ description: 'Extra DHCP options.' }), { description: 'Extra DHCP options.', maxProperties: 20 }),
          },
        }),
        dnsConfig: s.object({
          description: 'Resolver configuration.',
          properties: {
            options: s.map(s.string({ description: 'Resolver options.' }), { description: 'Resolver options.', maxProperties: 10 }),
            searchDomains: s.array(s.string({ description: 'Search domains.' }), { description: 'Search domains.', maxItems: 10 }),
            servers: s.array(s.string({ description: 'DNS servers.' }), { description: 'DNS servers.', maxItems: 10 }),
          },
        }),
        poolConfig: s.object({
          description: 'Pool-based addressing.',
          required: ['poolRef'],
          properties: {
            poolRef: localObjectRef('IP pool object (no such CRD exists in VirtRigaud)'),
            preferredIP: s.string({ description: 'Preferred address from the pool.', pattern: IPV4 }),
          },
        }),
        staticConfig: s.object({
          description: 'Static addressing.',
          required: ['address'],
          properties: {
            address: s.string({ description: 'Address in CIDR form.', pattern: IPV4_CIDR }),
            gateway: s.string({ description: 'Default gateway.', pattern: IPV4 }),
            routes: s.array(s.object({
              description: 'Static routes.',
              required: ['destination', 'gateway'],
              properties: {
                destination: s.string({ description: 'Destination CIDR.', pattern: IPV4_CIDR }),
                gateway: s.string({ description: 'Next hop.', pattern: IPV4 }),
                metric: s.int32({ description: 'Route metric.', minimum: 0, maximum: 65535 }),
              },
            }), { description: 'Static routes.', maxItems: 20 }),
          },
        }),
        type: s.enumOf(['DHCP', 'Static', 'Pool', 'None'], { description: 'Allocation mode.', default: "DHCP" }),
      },
    }),
    metadata: s.object({
      description: 'Descriptive metadata (not ObjectMeta)',
      properties: {
        description: s.string({ description: 'Description.', maxLength: 1024 }),
        displayName: s.string({ description: 'Human-friendly name.', maxLength: 255 }),
        environment: s.enumOf(['dev', 'staging', 'prod', 'test', 'qa', 'uat'], { description: 'Environment label.' }),
        tags: s.map(s.string({ description: 'Categorisation key/values.' }), { description: 'Categorisation key/values.', maxProperties: 50 }),
      },
    }),
    network: s.object({
      description: 'Underlying network (one provider block plus generic settings)',
      properties: {
        libvirt: s.object({
          description: 'Libvirt network settings.',
          properties: {
            bridge: s.object({
              description: 'Host bridge to attach to.',
              required: ['name'],
              properties: {
                delay: s.int32({ description: 'STP forward delay, seconds.', minimum: 0, maximum: 30 }),
                name: s.string({ description: 'Bridge device name (forwarded)', maxLength: 15 }),
                stp: s.boolean({ description: 'Enable STP.', default: false }),
              },
            }),
            driver: s.object({
              description: 'Virtio driver tuning.',
              properties: {
                eventIDX: s.boolean({ description: 'Enable event index.' }),
                ioEventFD: s.boolean({ description: 'Enable ioeventfd.' }),
                name: s.enumOf(['kvm', 'vfio', 'uio'], { description: 'Backend driver.' }),
                queues: s.int32({ description: 'Multiqueue count.', minimum: 1, maximum: 16 }),
                txMode: s.enumOf(['iothread', 'timer'], { description: 'TX mode.' }),
              },
            }),
            filterRef: s.object({
              description: 'Nwfilter to apply.',
              required: ['filter'],
              properties: {
                filter: s.string({ description: 'Filter name.', maxLength: 255 }),
                parameters: s.map(s.string({ description: 'Filter parameters.' }), { description: 'Filter parameters.', maxProperties: 20 }),
              },
            }),
            model: s.enumOf(['virtio', 'e1000', 'e1000e', 'rtl8139', 'pcnet', 'ne2k_pci'], { description: 'NIC device model (forwarded)', default: "virtio" }),
            networkName: s.string({ description: 'Libvirt network name.', maxLength: 255 }),
          },
        }),
        mtu: s.int32({ description: 'MTU for the network.', minimum: 68, maximum: 9000, default: 1500 }),
        proxmox: s.object({
          description: 'Proxmox VE NIC settings.',
          properties: {
            bridge: s.string({ description: 'Linux bridge vmbrN (forwarded)', maxLength: 15, pattern: "^vmbr[0-9]+$" }),
            firewall: s.boolean({ description: 'Enable PVE firewall on the NIC.', default: false }),
            model: s.enumOf(['virtio', 'e1000', 'rtl8139', 'vmxnet3'], { description: 'NIC model (forwarded)', default: "virtio" }),
            mtu: s.int32({ description: 'NIC MTU.', minimum: 68, maximum: 65520 }),
            rateLimit: s.int32({ description: 'Bandwidth cap in MB/s.', minimum: 1 }),
            vlanTag: s.int32({ description: 'VLAN tag (forwarded as the NIC VLAN)', minimum: 1, maximum: 4094 }),
          },
        }),
        type: s.enumOf(['bridged', 'nat', 'isolated', 'host-only', 'external'], { description: 'Generic network type.', default: "bridged" }),
        vsphere: s.object({
          description: 'vSphere port group settings.',
          properties: {
            adapterType: s.enumOf(['vmxnet3', 'e1000', 'e1000e'], { description: 'Virtual NIC model.', default: "vmxnet3" }),
            distributedSwitch: s.object({
              description: 'Distributed switch details.',
              required: ['name'],
              properties: {
                name: s.string({ description: 'DVS name.', maxLength: 255 }),
                portgroupType: s.enumOf(['ephemeral', 'distributed'], { description: 'Ephemeral or distributed port binding.' }),
                uuid: s.string({ description: 'DVS UUID.' }),
              },
            }),
            pciSlotNumber: s.int32({ description: 'PCI slot of the NIC, controls Linux name (192 -> ens192)', minimum: 32, maximum: 1024 }),
            portgroup: s.string({ description: 'Port group name (sent as the NIC network name)', maxLength: 255 }),
            security: s.object({
              description: 'Port group security policy.',
              properties: {
                allowForgedTransmits: s.boolean({ description: 'Allow forged transmits.', default: true }),
                allowMACChanges: s.boolean({ description: 'Allow guest MAC changes.', default: true }),
                allowPromiscuous: s.boolean({ description: 'Allow promiscuous mode.', default: false }),
              },
            }),
            trafficShaping: s.object({
              description: 'Traffic shaping.',
              properties: {
                averageBandwidth: s.int64({ description: 'Average bandwidth, bit/s.', minimum: 1000 }),
                burstSize: s.int64({ description: 'Burst size, bytes.', minimum: 1024 }),
                enabled: s.boolean({ description: 'Enable shaping.', default: false }),
                peakBandwidth: s.int64({ description: 'Peak bandwidth, bit/s.', minimum: 1000 }),
              },
            }),
            vlan: s.object({
              description: 'VLAN configuration (only vlanID is forwarded)',
              properties: {
                primaryVlanID: s.int32({ description: 'Private-VLAN primary id.', minimum: 1, maximum: 4094 }),
                secondaryVlanID: s.int32({ description: 'Private-VLAN secondary id.', minimum: 1, maximum: 4094 }),
                trunkVlanIDs: s.array(s.int32({ description: 'VLAN ids carried on a trunk.' }), { description: 'VLAN ids carried on a trunk.', maxItems: 100 }),
                type: s.enumOf(['none', 'vlan', 'pvlan', 'trunk'], { description: 'VLAN mode.', default: "none" }),
                vlanID: s.int32({ description: 'VLAN id (forwarded as the NIC VLAN)', minimum: 1, maximum: 4094 }),
              },
            }),
          },
        }),
      },
    }),
    qos: s.object({
      description: 'Quality of service.',
      properties: {
        dscp: s.int32({ description: 'DSCP marking.', minimum: 0, maximum: 63 }),
        egressLimit: s.int64({ description: 'Outbound cap, bit/s.', minimum: 1000 }),
        ingressLimit: s.int64({ description: 'Inbound cap, bit/s.', minimum: 1000 }),
        priority: s.int32({ description: '802.1p priority.', minimum: 0, maximum: 7 }),
      },
    }),
    security: s.object({
      description: 'Network security.',
      properties: {
        encryption: s.object({
          description: 'Overlay encryption.',
          properties: {
            enabled: s.boolean({ description: 'Enable encryption.', default: false }),
            keyRef: localObjectRef('Key material.'),
            protocol: s.enumOf(['ipsec', 'wireguard', 'openvpn'], { description: 'Encryption protocol.' }),
          },
        }),
        firewall: s.object({
          description: 'Firewall settings.',
          properties: {
            defaultPolicy: s.enumOf(['ACCEPT', 'DROP', 'REJECT'], { description: 'Policy when no rule matches.', default: "ACCEPT" }),
            enabled: s.boolean({ description: 'Enable the firewall.', default: false }),
            rules: s.array(s.object({
              description: 'Ordered rules.',
              required: ['action', 'direction', 'name'],
              properties: {
                action: s.enumOf(['ACCEPT', 'DROP', 'REJECT'], { description: 'Verdict.' }),
                destinationCIDR: s.string({ description: 'Destination CIDR (no format check)' }),
                direction: s.enumOf(['in', 'out', 'inout'], { description: 'Traffic direction.' }),
                name: s.string({ description: 'Rule name.', maxLength: 255 }),
                ports: s.object({
                  description: 'Port range.',
                  required: ['start'],
                  properties: {
                    end: s.int32({ description: 'Last port; empty = start.', minimum: 1, maximum: 65535 }),
                    start: s.int32({ description: 'First port.', minimum: 1, maximum: 65535 }),
                  },
                }),
                priority: s.int32({ description: 'Rule priority.', minimum: 1, maximum: 1000 }),
                protocol: s.enumOf(['tcp', 'udp', 'icmp', 'all'], { description: 'L4 protocol.' }),
                sourceCIDR: s.string({ description: 'Source CIDR (no format check)' }),
              },
            }), { description: 'Ordered rules.', maxItems: 100 }),
          },
        }),
        isolation: s.object({
          description: 'Isolation settings.',
          properties: {
            allowedNetworks: s.array(s.string({ description: 'Allowed CIDRs.' }), { description: 'Allowed CIDRs.', maxItems: 50 }),
            deniedNetworks: s.array(s.string({ description: 'Denied CIDRs.' }), { description: 'Denied CIDRs.', maxItems: 50 }),
            mode: s.enumOf(['none', 'strict', 'custom'], { description: 'Isolation mode.' }),
          },
        }),
      },
    }),
  },
});

export const vmNetworkAttachmentStatus = s.object({
  description: 'Observed state.',
  properties: {
    availableOn: s.array(s.string({ description: 'Providers where the network exists.' }), { description: 'Providers where the network exists.' }),
    conditions: conditions(),
    connectedVMs: s.int32({ description: 'Number of attached VMs.' }),
    ipAllocations: s.array(s.object({
      description: 'Current IP leases.',
      required: ['ip', 'vm'],
      properties: {
        allocatedAt: s.dateTime({ description: 'Allocation time.' }),
        ip: s.string({ description: 'Allocated address.' }),
        leaseExpiry: s.dateTime({ description: 'DHCP lease expiry.' }),
        mac: s.string({ description: 'MAC address.' }),
        vm: s.string({ description: 'VM holding the address.' }),
      },
    }), { description: 'Current IP leases.' }),
    message: s.string({ description: 'Human-readable detail.' }),
    observedGeneration: s.int64({ description: 'Metadata.generation last processed.' }),
    phase: s.enumOf(['Pending', 'Configuring', 'Ready', 'Failed'], { description: 'Configuration phase.' }),
    providerStatus: s.map(s.object({
      description: 'State on one provider.',
      required: ['available'],
      properties: {
        available: s.boolean({ description: 'Network exists on the provider.' }),
        id: s.string({ description: 'Provider network id.' }),
        lastUpdated: s.dateTime({ description: 'Last update.' }),
        message: s.string({ description: 'Detail.' }),
        state: s.string({ description: 'Provider-specific state.' }),
      },
    }), { description: 'Per-provider state keyed by provider name.' }),
    ready: s.boolean({ description: 'Network usable.' }),
  },
});

/** A network that VirtualMachine NICs attach to, with provider-specific settings, IP allocation, security and QoS. */
export const VMNetworkAttachment = defineKind({
  group: GROUP,
  version: VERSION,
  kind: 'VMNetworkAttachment',
  scope: 'Namespaced',
  shortNames: ['vmnet'],
  categories: [CATEGORY],
  description: 'A network that VirtualMachine NICs attach to, with provider-specific settings, IP allocation, security and QoS.',
  spec: vmNetworkAttachmentSpec,
  status: vmNetworkAttachmentStatus,
  printerColumns: [
    { name: 'Ready', type: 'boolean', jsonPath: '.status.ready' },
    { name: 'Type', type: 'string', jsonPath: '.spec.network.type' },
    { name: 'Connected VMs', type: 'integer', jsonPath: '.status.connectedVMs' },
    { name: 'Providers', type: 'string', jsonPath: '.status.availableOn[*]' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
