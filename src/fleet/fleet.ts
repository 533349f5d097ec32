import { Construct } from 'constructs';
import { VirtualMachine, VirtualMachineOptions, VirtualMachineNetwork } from './virtual-machine';

/** Static addressing for one NIC across a fleet: consecutive IPv4 addresses from `start`. */
export interface FleetStaticIps {
  /** Name of the NIC (in the template's `networks`) that gets the addresses. */
  readonly network: string;
  /** Address of VM 0; VM i gets start + i. */
  readonly start: string;
  /** @default - the template NIC's prefix */
  readonly prefix?: number;
  /** @default - the template NIC's gateway */
  readonly gateway?: string;
}

/** Where to spread the VMs: index i goes to element i mod length of each list. */
export interface FleetSpread {
  /** @default - no host pinning */
  readonly hosts?: readonly string[];
  /** @default - no datastore pinning */
  readonly datastores?: readonly string[];
  /** @default - no cluster pinning */
  readonly clusters?: readonly string[];
}

/** Props of {@link VirtualMachineFleet}. */
export interface VirtualMachineFleetProps {
  /** How many VMs. */
  readonly count: number;
  /**
   * Name of VM i. The names are the VMs' identities: keep this function
   * stable (a new count only adds or removes VMs at the end).
   * @default - `${namePrefix}-${index padded to 2 digits}`
   */
  readonly name?: (index: number) => string;
  /** Used by the default `name`. */
  readonly namePrefix?: string;
  /** @default - the chart's namespace */
  readonly namespace?: string;
  /** What every VM looks like. */
  readonly template: VirtualMachineOptions;
  /** Per-VM changes applied last (shallow merge over the template). @default - none */
  readonly overrides?: (index: number) => Partial<VirtualMachineOptions>;
  /** @default - none */
  readonly staticIps?: FleetStaticIps;
  /** @default - none */
  readonly spread?: FleetSpread;
  /** Labels on every VM; each also gets `virtrigaud.io/fleet` and `virtrigaud.io/fleet-index`. @default {} */
  readonly labels?: Record<string, string>;
}

/**
 * N VirtualMachines from one template, with per-index names, static IPs,
 * placement spread over hosts, datastores or clusters, and overrides.
 */
export class VirtualMachineFleet extends Construct {
  /** The VMs, in index order. */
  readonly vms: readonly VirtualMachine[];

  constructor(scope: Construct, id: string, props: VirtualMachineFleetProps) {
    super(scope, id);
    if (!Number.isInteger(props.count) || props.count < 0 || props.count > 10_000) {
      throw new Error(`VirtualMachineFleet ${this.node.path}: count must be a whole number from 0 to 10000, got ${props.count}`);
    }
    if (!props.name && !props.namePrefix) throw new Error(`VirtualMachineFleet ${this.node.path}: give name or namePrefix`);
    const nameOf = props.name ?? ((i: number) => `${props.namePrefix}-${String(i).padStart(2, '0')}`);
    const vms: VirtualMachine[] = [];
    for (let i = 0; i < props.count; i++) {
      const options: VirtualMachineOptions = { ...props.template, ...this.placement(props, i), ...this.addresses(props, i), ...(props.overrides?.(i) ?? {}) };
      vms.push(new VirtualMachine(this, String(i), {
        ...options,
        name: nameOf(i),
        namespace: props.namespace,
        labels: { ...(props.labels ?? {}), 'virtrigaud.io/fleet': id.toLowerCase().replace(/[^a-z0-9-]/g, '-'), 'virtrigaud.io/fleet-index': String(i) },
      }));
    }
    this.vms = vms;
  }

  private placement(props: VirtualMachineFleetProps, i: number): Partial<VirtualMachineOptions> {
    const s = props.spread;
    if (!s) return {};
    const pick = (xs?: readonly string[]) => (xs && xs.length ? xs[i % xs.length] : undefined);
    const placement: Record<string, string> = { ...(props.template.placement ?? {}) } as Record<string, string>;
    const host = pick(s.hosts);
    const datastore = pick(s.datastores);
    const cluster = pick(s.clusters);
    if (host) placement.host = host;
    if (cluster) placement.cluster = cluster;
    if (datastore) {
      placement.datastore = datastore;
      delete placement.storagePod; // a pinned datastore replaces the datastore cluster
    }
    return { placement };
  }

  private addresses(props: VirtualMachineFleetProps, i: number): Partial<VirtualMachineOptions> {
    const ips = props.staticIps;
    if (!ips) return {};
    const nics = props.template.networks ?? [];
    if (!nics.some((n) => n.name === ips.network)) {
      throw new Error(`VirtualMachineFleet ${this.node.path}: staticIps.network ${JSON.stringify(ips.network)} is not a NIC of the template (${nics.map((n) => n.name).join(', ') || 'none'})`);
    }
    const networks: VirtualMachineNetwork[] = nics.map((n) => n.name !== ips.network ? n : {
      ...n,
      ipAddress: addIpv4(ips.start, i, this.node.path),
      ...(ips.prefix !== undefined ? { prefix: ips.prefix } : {}),
      ...(ips.gateway !== undefined ? { gateway: ips.gateway } : {}),
    });
    return { networks };
  }
}

function addIpv4(start: string, offset: number, where: string): string {
  const parts = start.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`VirtualMachineFleet ${where}: staticIps.start ${JSON.stringify(start)} is not an IPv4 address`);
  const n = ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3] + offset;
  if (n > 0xffffffff) throw new Error(`VirtualMachineFleet ${where}: ${start} + ${offset} leaves the IPv4 space`);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
