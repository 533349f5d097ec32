/**
 * Deterministic corpus of VirtualMachine manifests for the validator
 * benchmark (bench/validate.bench.ts) and for tests that want many realistic
 * documents.
 *
 * Every document is built from a seeded PRNG, so one seed always gives the
 * same bytes. About 70% are valid (a few sit exactly on a schema bound);
 * the rest break one constraint each: a schema limit, an enum, a required
 * field, a pattern, a type, metadata, an unknown field (rejected only in
 * strict mode) or one of our CEL rules. Each document carries the label of
 * what was done to it, so verdicts can be checked against the intent.
 *
 * CLI:
 *   npx tsx bench/corpus.ts [--count N] [--seed S|random] [--invalid-ratio R]
 *                           [--layout multi|files|both] [--out DIR]
 * writes DIR/corpus.yaml (all documents, `---`-separated) and/or
 * DIR/docs/vm-NNNNN.yaml (one document per file) and prints the seed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

export const DEFAULT_COUNT = 10_000;
export const DEFAULT_SEED = 20260105;
export const DEFAULT_INVALID_RATIO = 0.3;

export const API_VERSION = 'infra.virtrigaud.io/v1beta1';

/** What kind of constraint an invalid document breaks. */
export type MutationCategory = 'limit' | 'enum' | 'required' | 'pattern' | 'type' | 'metadata' | 'unknown-field' | 'cel';

export interface CorpusDoc {
  /** 0-based position in the corpus (and in the multi-document file). */
  readonly index: number;
  /** metadata.name as generated (a metadata mutation may have changed the object's). */
  readonly name: string;
  /** File name in the one-file-per-document layout. */
  readonly file: string;
  /** The generator's intent. Unknown-field documents are invalid only in strict mode. */
  readonly expectValid: boolean;
  /** `boundary:<what>` for valid documents on a bound, the mutation id for invalid ones. */
  readonly label?: string;
  readonly category?: MutationCategory;
  readonly object: Record<string, unknown>;
  /** The document as YAML (no `---`), ending in a newline. */
  readonly yaml: string;
}

export interface CorpusOptions {
  readonly count?: number;
  readonly seed?: number;
  /** Share of invalid documents, 0..1. */
  readonly invalidRatio?: number;
}

// ---------------------------------------------------------------- PRNG

/** sfc32 seeded through splitmix32: small, fast and the same on every platform. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    let s = seed >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad) >>> 0;
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97) >>> 0;
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** Picks by weight; `items` pairs an item with a positive weight. */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((sum, [, w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    return items[items.length - 1][0];
  }

  hex(digits: number): string {
    let out = '';
    for (let i = 0; i < digits; i++) out += '0123456789abcdef'[this.int(0, 15)];
    return out;
  }
}

// ---------------------------------------------------------------- valid VMs

type Obj = Record<string, unknown>;

const ROLES = ['web', 'api', 'db', 'cache', 'worker', 'build', 'gateway', 'search', 'metrics', 'batch', 'mq', 'ldap'];
const TEAMS = ['payments', 'platform', 'search', 'data', 'identity', 'edge'];
const ENVS = ['prod', 'staging', 'dev'];
const CLASSES = ['small', 'medium', 'large', 'xlarge', 'gpu-a100'];
const IMAGES = ['ubuntu-22-template', 'ubuntu-24-template', 'rhel-9-template', 'debian-12-template', 'rocky-9-template'];
const DISK_NAMES = ['data', 'logs', 'backup', 'scratch', 'wal', 'index'];
const NETS = [
  { name: 'app-net', ref: 'app-network-attachment', third: 10 },
  { name: 'mgmt-net', ref: 'mgmt-network-attachment', third: 20 },
  { name: 'backup-net', ref: 'backup-network-attachment', third: 30 },
  { name: 'storage-net', ref: 'storage-network-attachment', third: 40 },
];
const PACKAGES = ['nginx', 'curl', 'jq', 'htop', 'chrony', 'postgresql-client', 'redis-tools', 'prometheus-node-exporter'];

type ProviderStyle = 'vsphere' | 'libvirt' | 'proxmox';

function pad(n: number, width = 5): string {
  return String(n).padStart(width, '0');
}

function cloudConfig(rng: Rng, hostname: string): string {
  const pkgs = PACKAGES.filter(() => rng.chance(0.4)).slice(0, 4);
  const lines = ['#cloud-config', `hostname: ${hostname}`, 'package_update: true'];
  if (pkgs.length > 0) lines.push('packages:', ...pkgs.map((p) => `  - ${p}`));
  lines.push('runcmd:', `  - systemctl enable --now ${rng.pick(['nginx', 'chronyd', 'node-exporter'])}`);
  return lines.join('\n') + '\n';
}

/** A valid VirtualMachine shaped like the seed's web-server, varied by the PRNG. */
function validVm(rng: Rng, index: number): Obj {
  const style = rng.weighted<ProviderStyle>([['vsphere', 6], ['libvirt', 3], ['proxmox', 1]]);
  const role = rng.pick(ROLES);
  const env = rng.pick(ENVS);
  const name = `${role}-${env}-${pad(index)}`;

  const metadata: Obj = { name };
  if (rng.chance(0.7)) metadata.namespace = rng.pick(TEAMS);
  metadata.labels = { app: role, env, 'app.kubernetes.io/managed-by': 'virtrigaud' };
  if (rng.chance(0.3)) metadata.annotations = { 'virtrigaud.io/owner': `${rng.pick(TEAMS)}@example.com` };

  const spec: Obj = {};
  spec.providerRef = { name: `${style}-${env === 'prod' ? 'prod' : 'lab'}` };
  spec.classRef = { name: rng.pick(CLASSES) };
  if (rng.chance(0.85)) {
    spec.imageRef = { name: rng.pick(IMAGES) };
  } else {
    spec.importedDisk = {
      diskID: `${name}-root-${rng.hex(6)}`,
      format: style === 'vsphere' ? 'vmdk' : 'qcow2',
      source: rng.pick(['migration', 'clone', 'import']),
      sizeGiB: rng.pick([20, 40, 80]),
    };
  }
  spec.powerState = rng.weighted([['On', 8], ['Off', 1], ['OffGraceful', 1]]);
  if (style === 'vsphere') {
    const placement: Obj = { cluster: rng.pick(['Compute-Cluster', 'Compute-Cluster-B']) };
    if (rng.chance(0.6)) placement.resourcePool = rng.pick(['Production', 'Staging', 'Batch']);
    placement.folder = `/vm/${role}`;
    if (rng.chance(0.5)) placement.storagePod = rng.pick(['DatastoreCluster-SSD', 'DatastoreCluster-HDD']);
    else placement.datastore = `ds-${rng.pick(['ssd', 'hdd'])}-${pad(rng.int(1, 12), 2)}`;
    spec.placement = placement;
  } else if (rng.chance(0.4)) {
    spec.placement = { host: `${style === 'libvirt' ? 'kvm' : 'pve'}-${pad(rng.int(1, 30), 2)}` };
  }
  if (rng.chance(0.3)) {
    const resources: Obj = { cpu: rng.pick([2, 4, 8, 16]), memoryMiB: rng.pick([2048, 4096, 8192, 16384, 32768]) };
    if (rng.chance(0.15)) resources.gpu = { count: rng.int(1, 2), type: 'nvidia-a100', memory: 40960 };
    spec.resources = resources;
  }

  const nets: Obj[] = [];
  const netCount = rng.weighted([[1, 6], [2, 3], [3, 1]]);
  for (const n of NETS.slice(0, netCount)) {
    const nic: Obj = { name: n.name, networkRef: { name: n.ref } };
    if (rng.chance(0.35)) {
      nic.ipAddress = `10.${n.third}.${rng.int(0, 255)}.${rng.int(2, 254)}`;
      nic.prefix = 24;
      nic.gateway = `10.${n.third}.0.1`;
      if (rng.chance(0.5)) nic.dns = '10.0.0.53,10.0.0.54';
    }
    if (rng.chance(0.15)) nic.macAddress = `52:54:00:${rng.hex(2)}:${rng.hex(2)}:${rng.hex(2)}`;
    nets.push(nic);
  }
  spec.networks = nets;

  const diskCount = rng.weighted([[0, 1], [1, 5], [2, 3], [3, 1]]);
  if (diskCount > 0) {
    const disks: Obj[] = [];
    for (const dn of DISK_NAMES.slice(0, diskCount)) {
      const disk: Obj = { name: dn, sizeGiB: rng.pick([10, 20, 50, 100, 200, 500]) };
      disk.type = style === 'vsphere' ? rng.pick(['thin', 'thick', 'eagerzeroedthick']) : rng.pick(['ssd', 'hdd']);
      if (rng.chance(0.2)) disk.expandPolicy = rng.pick(['Online', 'Offline']);
      if (style === 'vsphere' && rng.chance(0.15)) disk.scsi = { controller: rng.int(0, 3), controllerType: 'pvscsi' };
      disks.push(disk);
    }
    spec.disks = disks;
  }

  if (rng.chance(0.5)) {
    spec.userData = rng.chance(0.7)
      ? { cloudInit: { inline: cloudConfig(rng, name) } }
      : { cloudInit: { secretRef: { name: `${name}-userdata` } } };
  }
  if (rng.chance(0.3)) spec.tags = [`team:${rng.pick(TEAMS)}`, `env:${env}`, `cost-center:${rng.int(1000, 9999)}`];

  if (rng.chance(0.7)) {
    const lifecycle: Obj = { gracefulShutdownTimeout: rng.pick(['60s', '120s', '5m', '1m30s']) };
    lifecycle.preStop = handler(rng, 'pre-shutdown');
    if (rng.chance(0.3)) lifecycle.postStart = handler(rng, 'post-start');
    spec.lifecycle = lifecycle;
  }

  return { apiVersion: API_VERSION, kind: 'VirtualMachine', metadata, spec };
}

function handler(rng: Rng, snapshotName: string): Obj {
  switch (rng.weighted([['snapshot', 5], ['exec', 3], ['httpGet', 2]])) {
    case 'snapshot':
      return { snapshot: { name: snapshotName, includeMemory: rng.chance(0.2) } };
    case 'exec':
      return { exec: { command: ['/bin/sh', '-c', rng.pick(['systemctl stop nginx', 'sync', '/opt/app/drain.sh'])] } };
    default:
      return { httpGet: { path: rng.pick(['/healthz', '/drain', '/ready']), port: rng.pick([80, 8080, 9090]), scheme: 'HTTP' } };
  }
}

// ---------------------------------------------------------------- helpers for mutations

const spec = (vm: Obj): Obj => vm.spec as Obj;

function disks(vm: Obj, rng: Rng): Obj[] {
  const s = spec(vm);
  if (!Array.isArray(s.disks) || s.disks.length === 0) s.disks = [{ name: 'data', sizeGiB: rng.pick([50, 100]), type: 'thin' }];
  return s.disks as Obj[];
}

function nets(vm: Obj): Obj[] {
  return spec(vm).networks as Obj[];
}

function resources(vm: Obj, rng: Rng): Obj {
  const s = spec(vm);
  if (!s.resources) s.resources = { cpu: rng.pick([2, 4]), memoryMiB: 4096 };
  return s.resources as Obj;
}

function lifecycle(vm: Obj): Obj {
  const s = spec(vm);
  if (!s.lifecycle) s.lifecycle = { gracefulShutdownTimeout: '120s', preStop: { snapshot: { name: 'pre-shutdown' } } };
  return s.lifecycle as Obj;
}

function httpGetPreStop(vm: Obj): Obj {
  const l = lifecycle(vm);
  const hg: Obj = { path: '/drain', port: 8080, scheme: 'HTTP' };
  l.preStop = { httpGet: hg };
  return hg;
}

function staticNic(vm: Obj): Obj {
  const nic = nets(vm)[0];
  if (nic.ipAddress === undefined) {
    nic.ipAddress = '10.10.4.20';
    nic.prefix = 24;
    nic.gateway = '10.10.0.1';
  }
  return nic;
}

function toImportedDisk(vm: Obj, rng: Rng): Obj {
  const s = spec(vm);
  delete s.imageRef;
  if (!s.importedDisk) s.importedDisk = { diskID: `disk-${rng.hex(8)}`, format: 'qcow2', source: 'import' };
  return s.importedDisk as Obj;
}

/** Re-inserts `key` in `o` right after `after` (or at the end), keeping the others in order. */
function setAfter(o: Obj, after: string, key: string, value: unknown): void {
  const entries = Object.entries(o).filter(([k]) => k !== key);
  const at = entries.findIndex(([k]) => k === after);
  entries.splice(at < 0 ? entries.length : at + 1, 0, [key, value]);
  for (const k of Object.keys(o)) delete o[k];
  for (const [k, v] of entries) o[k] = v;
}

// ---------------------------------------------------------------- mutations

interface Mutation {
  readonly id: string;
  readonly category: MutationCategory;
  readonly weight?: number;
  apply(vm: Obj, rng: Rng): void;
}

/** Each breaks exactly one constraint of the VirtualMachine CRD (see dist/virtualmachines.infra.virtrigaud.io.yaml). */
export const MUTATIONS: readonly Mutation[] = [
  // schema limits
  { id: 'disk-size-over-max', category: 'limit', apply: (vm, rng) => void (disks(vm, rng)[0].sizeGiB = rng.pick([65537, 100000, 131072])) },
  { id: 'disk-size-zero', category: 'limit', apply: (vm, rng) => void (disks(vm, rng)[0].sizeGiB = 0) },
  { id: 'cpu-over-max', category: 'limit', apply: (vm, rng) => void (resources(vm, rng).cpu = rng.pick([129, 256])) },
  { id: 'memory-under-min', category: 'limit', apply: (vm, rng) => void (resources(vm, rng).memoryMiB = rng.pick([64, 127])) },
  { id: 'gpu-count-over-max', category: 'limit', apply: (vm, rng) => void (resources(vm, rng).gpu = { count: 9, type: 'nvidia-a100' }) },
  { id: 'prefix-over-max', category: 'limit', apply: (vm) => void (staticNic(vm).prefix = 33) },
  { id: 'http-port-over-max', category: 'limit', apply: (vm) => void (httpGetPreStop(vm).port = 70000) },
  { id: 'snapshot-name-empty', category: 'limit', apply: (vm) => void (lifecycle(vm).preStop = { snapshot: { name: '' } }) },
  { id: 'nic-name-too-long', category: 'limit', apply: (vm) => void (nets(vm)[0].name = `app-net-${'x'.repeat(56)}`) },
  {
    id: 'too-many-disks', category: 'limit', weight: 0.3,
    apply: (vm) => void (spec(vm).disks = Array.from({ length: 21 }, (_, i) => ({ name: `d${i}`, sizeGiB: 10 }))),
  },
  {
    id: 'too-many-tags', category: 'limit', weight: 0.3,
    apply: (vm) => void (spec(vm).tags = Array.from({ length: 51 }, (_, i) => `tag-${i}`)),
  },
  { id: 'exec-command-empty', category: 'limit', apply: (vm) => void (lifecycle(vm).preStop = { exec: { command: [] } }) },
  // enums
  { id: 'power-state-unknown', category: 'enum', apply: (vm, rng) => void (spec(vm).powerState = rng.pick(['Sleeping', 'on', 'Running', 'Suspended'])) },
  { id: 'disk-type-unknown', category: 'enum', apply: (vm, rng) => void (disks(vm, rng)[0].type = rng.pick(['fast', 'nvme', 'Thin'])) },
  { id: 'expand-policy-unknown', category: 'enum', apply: (vm, rng) => void (disks(vm, rng)[0].expandPolicy = 'Sometimes') },
  { id: 'scsi-type-unknown', category: 'enum', apply: (vm, rng) => void (disks(vm, rng)[0].scsi = { controllerType: 'virtio-scsi' }) },
  { id: 'imported-format-unknown', category: 'enum', apply: (vm, rng) => void (toImportedDisk(vm, rng).format = rng.pick(['qcow3', 'ova'])) },
  { id: 'http-scheme-unknown', category: 'enum', apply: (vm) => void (httpGetPreStop(vm).scheme = 'FTP') },
  // required fields
  { id: 'provider-ref-missing', category: 'required', apply: (vm) => void delete spec(vm).providerRef },
  { id: 'class-ref-missing', category: 'required', apply: (vm) => void delete spec(vm).classRef },
  { id: 'disk-size-missing', category: 'required', apply: (vm, rng) => void delete disks(vm, rng)[0].sizeGiB },
  { id: 'network-ref-name-missing', category: 'required', apply: (vm) => void (nets(vm)[0].networkRef = { namespace: 'networking' }) },
  { id: 'http-port-missing', category: 'required', apply: (vm) => void delete httpGetPreStop(vm).port },
  { id: 'imported-disk-id-missing', category: 'required', apply: (vm, rng) => void delete toImportedDisk(vm, rng).diskID },
  // patterns
  { id: 'disk-name-pattern', category: 'pattern', apply: (vm, rng) => void (disks(vm, rng)[0].name = rng.pick(['Data_Disk', 'data.disk', '-data'])) },
  { id: 'ip-pattern', category: 'pattern', apply: (vm) => void (staticNic(vm).ipAddress = '10.10.4.300') },
  { id: 'mac-pattern', category: 'pattern', apply: (vm) => void (nets(vm)[0].macAddress = '52:54:00:zz:00:01') },
  { id: 'duration-pattern', category: 'pattern', apply: (vm, rng) => void (lifecycle(vm).gracefulShutdownTimeout = rng.pick(['2 minutes', '120', '5min'])) },
  { id: 'class-name-pattern', category: 'pattern', apply: (vm) => void (spec(vm).classRef = { name: 'Small' }) },
  // types
  { id: 'cpu-string', category: 'type', apply: (vm, rng) => void (resources(vm, rng).cpu = 'four') },
  { id: 'disk-size-quantity', category: 'type', apply: (vm, rng) => void (disks(vm, rng)[0].sizeGiB = '100Gi') },
  { id: 'disks-not-a-list', category: 'type', apply: (vm, rng) => void (spec(vm).disks = disks(vm, rng)[0]) },
  // metadata
  { id: 'name-not-dns1123', category: 'metadata', apply: (vm, rng) => void ((vm.metadata as Obj).name = rng.pick(['Web_Server', 'web-server-', 'WEB01'])) },
  { id: 'name-missing', category: 'metadata', weight: 0.5, apply: (vm) => void delete (vm.metadata as Obj).name },
  // unknown fields (rejected in strict mode only; kubectl-validate always decodes strictly)
  {
    id: 'typo-powerstate', category: 'unknown-field',
    apply: (vm) => {
      const s = spec(vm);
      const v = s.powerState;
      setAfter(s, 'powerState', 'powerstate', v);
      delete s.powerState;
    },
  },
  { id: 'disk-field-unknown', category: 'unknown-field', apply: (vm, rng) => void (disks(vm, rng)[0].sizeGB = 100) },
  // CEL rules
  {
    id: 'image-and-imported-disk', category: 'cel',
    apply: (vm, rng) => {
      const s = spec(vm);
      if (!s.imageRef) setAfter(s, 'classRef', 'imageRef', { name: rng.pick(IMAGES) });
      if (!s.importedDisk) setAfter(s, 'imageRef', 'importedDisk', { diskID: `disk-${rng.hex(8)}`, format: 'qcow2' });
    },
  },
  {
    id: 'datastore-and-storagepod', category: 'cel',
    apply: (vm) => {
      const s = spec(vm);
      const p = (s.placement ?? {}) as Obj;
      p.datastore ??= 'ds-ssd-01';
      p.storagePod ??= 'DatastoreCluster-SSD';
      s.placement = p;
    },
  },
  {
    id: 'duplicate-disk-names', category: 'cel',
    apply: (vm, rng) => {
      const d = disks(vm, rng);
      d.push({ name: d[0].name, sizeGiB: 20, type: d[0].type ?? 'thin' });
    },
  },
  {
    id: 'duplicate-network-names', category: 'cel',
    apply: (vm) => {
      const n = nets(vm);
      n.push({ name: n[0].name, networkRef: { name: 'backup-network-attachment' } });
    },
  },
  {
    id: 'lifecycle-two-actions', category: 'cel',
    apply: (vm) => {
      const l = lifecycle(vm);
      l.preStop = { snapshot: { name: 'pre-shutdown' }, exec: { command: ['/bin/sync'] } };
    },
  },
  { id: 'lifecycle-no-action', category: 'cel', apply: (vm) => void (lifecycle(vm).postStart = {}) },
  {
    id: 'cloudinit-and-ignition', category: 'cel',
    apply: (vm) => {
      const s = spec(vm);
      const u = (s.userData ?? { cloudInit: { inline: '#cloud-config\npackage_update: true\n' } }) as Obj;
      u.cloudInit ??= { inline: '#cloud-config\npackage_update: true\n' };
      u.ignition = { secretRef: { name: 'ignition-config' } };
      s.userData = u;
    },
  },
];

/** Valid documents that sit exactly on a bound; a validator that is off by one rejects them. */
const BOUNDARIES: readonly { readonly id: string; apply(vm: Obj, rng: Rng): void }[] = [
  { id: 'disk-size-max', apply: (vm, rng) => void (disks(vm, rng)[0].sizeGiB = 65536) },
  { id: 'disk-size-min', apply: (vm, rng) => void (disks(vm, rng)[0].sizeGiB = 1) },
  { id: 'cpu-max', apply: (vm, rng) => void (resources(vm, rng).cpu = 128) },
  { id: 'memory-min', apply: (vm, rng) => void (resources(vm, rng).memoryMiB = 128) },
  { id: 'prefix-max', apply: (vm) => void (staticNic(vm).prefix = 32) },
  { id: 'http-port-max', apply: (vm) => void (httpGetPreStop(vm).port = 65535) },
  { id: 'nic-name-63', apply: (vm) => void (nets(vm)[0].name = `app-net-${'x'.repeat(55)}`) },
  { id: 'disks-20', apply: (vm) => void (spec(vm).disks = Array.from({ length: 20 }, (_, i) => ({ name: `d${i}`, sizeGiB: 10 }))) },
];

// ---------------------------------------------------------------- corpus

/** YAML 1.1 quoting (On/Off/yes/no stay strings for Go's YAML decoder too); no line folding. */
export function toYaml(object: unknown): string {
  return stringify(object, { version: '1.1', lineWidth: 0 });
}

/** Builds the corpus in memory. The same options always give the same documents. */
export function generateCorpus(opts: CorpusOptions = {}): CorpusDoc[] {
  const count = opts.count ?? DEFAULT_COUNT;
  const seed = opts.seed ?? DEFAULT_SEED;
  const invalidRatio = opts.invalidRatio ?? DEFAULT_INVALID_RATIO;
  if (!Number.isInteger(count) || count < 0) throw new Error(`count must be a non-negative integer, got ${count}`);
  if (!(invalidRatio >= 0 && invalidRatio <= 1)) throw new Error(`invalidRatio must be within 0..1, got ${invalidRatio}`);
  const rng = new Rng(seed);
  const weighted = MUTATIONS.map((m) => [m, m.weight ?? 1] as const);
  const docs: CorpusDoc[] = [];
  for (let index = 0; index < count; index++) {
    const object = validVm(rng, index);
    const name = (object.metadata as Obj).name as string;
    let expectValid = true;
    let label: string | undefined;
    let category: MutationCategory | undefined;
    if (rng.chance(invalidRatio)) {
      const m = rng.weighted(weighted);
      m.apply(object, rng);
      expectValid = false;
      label = m.id;
      category = m.category;
    } else if (rng.chance(0.05)) {
      const b = rng.pick(BOUNDARIES);
      b.apply(object, rng);
      label = `boundary:${b.id}`;
    }
    const header = `# corpus #${index}: ${expectValid ? 'valid' : 'invalid'}${label ? ` (${category ? `${category}: ` : ''}${label})` : ''}\n`;
    docs.push({ index, name, file: `vm-${pad(index)}.yaml`, expectValid, label, category, object, yaml: header + toYaml(object) });
  }
  return docs;
}

/** All documents in one stream; document i of the stream is docs[i]. */
export function renderMultiDoc(docs: readonly CorpusDoc[]): string {
  return docs.map((d) => d.yaml).join('---\n');
}

export type Layout = 'multi' | 'files' | 'both';

export interface WrittenCorpus {
  /** DIR/corpus.yaml when the layout has it. */
  readonly multiFile?: string;
  /** DIR/docs, holding docs[i].file for every i, when the layout has it. */
  readonly filesDir?: string;
  readonly bytes: number;
}

export function writeCorpus(dir: string, docs: readonly CorpusDoc[], layout: Layout = 'both'): WrittenCorpus {
  mkdirSync(dir, { recursive: true });
  let multiFile: string | undefined;
  let filesDir: string | undefined;
  let bytes = 0;
  if (layout !== 'files') {
    multiFile = join(dir, 'corpus.yaml');
    const text = renderMultiDoc(docs);
    writeFileSync(multiFile, text);
    bytes = Buffer.byteLength(text);
  }
  if (layout !== 'multi') {
    filesDir = join(dir, 'docs');
    mkdirSync(filesDir, { recursive: true });
    let total = 0;
    for (const d of docs) {
      writeFileSync(join(filesDir, d.file), d.yaml);
      total += Buffer.byteLength(d.yaml);
    }
    bytes ||= total;
  }
  return { multiFile, filesDir, bytes };
}

export interface CorpusStats {
  readonly count: number;
  readonly expectInvalid: number;
  readonly byCategory: Record<string, number>;
  readonly lines: { readonly min: number; readonly median: number; readonly max: number };
}

export function corpusStats(docs: readonly CorpusDoc[]): CorpusStats {
  const byCategory: Record<string, number> = {};
  for (const d of docs) {
    const key = d.category ?? (d.label ? 'valid (boundary)' : 'valid');
    byCategory[key] = (byCategory[key] ?? 0) + 1;
  }
  const lines = docs.map((d) => d.yaml.split('\n').length - 1).sort((a, b) => a - b);
  return {
    count: docs.length,
    expectInvalid: docs.filter((d) => !d.expectValid).length,
    byCategory,
    lines: { min: lines[0] ?? 0, median: lines[Math.floor(lines.length / 2)] ?? 0, max: lines[lines.length - 1] ?? 0 },
  };
}

/** `--seed random` or a decimal/hex integer. */
export function parseSeed(text: string): number {
  if (text === 'random') return (Date.now() ^ (process.pid << 16)) >>> 0;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`--seed wants an integer 0..2^32-1 or "random", got "${text}"`);
  return n;
}

function main(argv: string[]): void {
  let count = DEFAULT_COUNT;
  let seed = DEFAULT_SEED;
  let invalidRatio = DEFAULT_INVALID_RATIO;
  let layout: Layout = 'both';
  let out = resolve('.scratch/corpus');
  for (let i = 0; i < argv.length; i++) {
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${argv[i - 1]} needs a value`);
      return v;
    };
    switch (argv[i]) {
      case '--count': count = Number(value()); break;
      case '--seed': seed = parseSeed(value()); break;
      case '--invalid-ratio': invalidRatio = Number(value()); break;
      case '--layout': {
        const v = value();
        if (v !== 'multi' && v !== 'files' && v !== 'both') throw new Error(`--layout wants multi, files or both, got "${v}"`);
        layout = v;
        break;
      }
      case '--out': out = resolve(value()); break;
      case '-h':
      case '--help':
        console.log('usage: npx tsx bench/corpus.ts [--count N] [--seed S|random] [--invalid-ratio R] [--layout multi|files|both] [--out DIR]');
        return;
      default: throw new Error(`unknown argument "${argv[i]}" (see --help)`);
    }
  }
  console.log(`seed: ${seed}`);
  const docs = generateCorpus({ count, seed, invalidRatio });
  const written = writeCorpus(out, docs, layout);
  const stats = corpusStats(docs);
  console.log(`${stats.count} VirtualMachine documents, ${stats.expectInvalid} meant to be invalid, ${(written.bytes / 1048576).toFixed(1)} MiB`);
  console.log(`lines per document: min ${stats.lines.min}, median ${stats.lines.median}, max ${stats.lines.max}`);
  console.log(`by category: ${Object.entries(stats.byCategory).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (written.multiFile) console.log(`multi-document file: ${written.multiFile}`);
  if (written.filesDir) console.log(`one file per document: ${written.filesDir}/`);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(`corpus: ${(e as Error).message}`);
    process.exit(2);
  }
}
