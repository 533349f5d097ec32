/**
 * Reads a {@link ReconcilerConfig} from YAML, checking every field. Errors
 * name the file and the field path the way kube-apiserver does
 * (`inProcessProviders[0].driver: Unsupported value: ...`), all at once.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { parse } from 'yaml';
import { durationMs } from '../duration';
import { readIpam } from './ipam';
import {
  CONFIG_API_VERSION, CONFIG_KIND, DEFAULT_CONFIG, IN_PROCESS_DRIVERS, QEMU_ACCEL_SETTINGS, type ImageSettings, type InProcessDriver,
  type FirecrackerNetworkSettings, type InProcessInstance, type QemuAccelSetting, type ReconcilerConfig,
} from './types';

export class ConfigError extends Error {
  constructor(readonly source: string, readonly problems: readonly string[]) {
    super(`${source}: invalid reconciler configuration:\n  ${problems.join('\n  ')}`);
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CIDR = /^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;

/** Collects problems while reading one document. */
export class Reader {
  readonly problems: string[] = [];

  fail(path: string, message: string): void {
    this.problems.push(`${path}: ${message}`);
  }

  /** Unknown keys are errors: a misspelt setting must not silently fall back to a default. */
  known(path: string, o: Obj, keys: readonly string[]): void {
    for (const k of Object.keys(o)) if (!keys.includes(k)) this.fail(path ? `${path}.${k}` : k, 'Unsupported field: not a field of the reconciler configuration');
  }

  obj(path: string, v: unknown): Obj | undefined {
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) this.fail(path, `Invalid value: must be an object`);
    return isObj(v) ? v : undefined;
  }

  str(path: string, v: unknown, check?: (s: string) => string | undefined): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v === '') {
      this.fail(path, `Invalid value: ${JSON.stringify(v)}: must be a non-empty string`);
      return undefined;
    }
    const problem = check?.(v);
    if (problem) this.fail(path, `Invalid value: ${JSON.stringify(v)}: ${problem}`);
    return problem ? undefined : v;
  }

  strings(path: string, v: unknown, check?: (s: string) => string | undefined): string[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      this.fail(path, 'Invalid value: must be a list of strings');
      return undefined;
    }
    return v.map((x, i) => this.str(`${path}[${i}]`, x, check)).filter((x): x is string => x !== undefined);
  }

  bool(path: string, v: unknown): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') this.fail(path, `Invalid value: ${JSON.stringify(v)}: must be true or false`);
    return typeof v === 'boolean' ? v : undefined;
  }

  positive(path: string, v: unknown): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) this.fail(path, `Invalid value: ${JSON.stringify(v)}: must be a positive integer`);
    return typeof v === 'number' && v > 0 ? v : undefined;
  }

  duration(path: string, v: unknown): number | undefined {
    const s = this.str(path, v);
    if (s === undefined) return undefined;
    const ms = durationMs(s, NaN);
    if (!(ms > 0)) this.fail(path, `Invalid value: ${JSON.stringify(s)}: must be a duration like 90s or 30m`);
    return ms > 0 ? ms : undefined;
  }
}

const absolute = (s: string) => (isAbsolute(s) && !s.split('/').includes('..') ? undefined : 'must be an absolute path without ".." segments');
const cidr = (s: string) => (CIDR.test(s) ? undefined : 'must be a CIDR such as 10.0.0.0/8 or fd00::/8');

function readInstance(r: Reader, path: string, v: unknown): InProcessInstance | undefined {
  const o = r.obj(path, v);
  if (!o) {
    if (v === undefined || v === null) r.fail(path, 'Required value');
    return undefined;
  }
  r.known(path, o, ['name', 'driver', 'namespaces', 'qemu', 'firecracker', 'libvirt', 'vsphere', 'proxmox', 'memory']);
  const name = r.str(`${path}.name`, o.name, (s) => (DNS_LABEL.test(s) && s.length <= 63 ? undefined : 'must be a DNS label (lower case letters, digits and "-")'));
  if (o.name === undefined) r.fail(`${path}.name`, 'Required value');
  const driver = r.str(`${path}.driver`, o.driver, (s) => ((IN_PROCESS_DRIVERS as readonly string[]).includes(s) ? undefined : `supported values: ${IN_PROCESS_DRIVERS.map((d) => `"${d}"`).join(', ')}`)) as InProcessDriver | undefined;
  if (o.driver === undefined) r.fail(`${path}.driver`, 'Required value');
  const namespaces = r.strings(`${path}.namespaces`, o.namespaces, (s) => (s === '*' || DNS_LABEL.test(s) ? undefined : 'must be a namespace name or "*"'));
  if (!namespaces?.length) r.fail(`${path}.namespaces`, 'Required value: list the namespaces whose Providers may use this instance ("*" for all)');
  for (const other of IN_PROCESS_DRIVERS) if (other !== driver && o[other] !== undefined) r.fail(`${path}.${other}`, `Forbidden: settings for driver ${other} on an instance of driver ${driver ?? '(none)'}`);
  if (!name || !driver || !namespaces?.length) return undefined;
  const base = { name, driver, namespaces };
  const settings = r.obj(`${path}.${driver}`, o[driver]) ?? {};
  const sp = `${path}.${driver}`;
  switch (driver) {
    case 'qemu': {
      r.known(sp, settings, ['stateDir', 'binary', 'sandbox', 'nic', 'accel']);
      const stateDir = r.str(`${sp}.stateDir`, settings.stateDir, absolute);
      if (settings.stateDir === undefined) r.fail(`${sp}.stateDir`, 'Required value: each QEMU instance needs a state directory of its own');
      const nic = r.str(`${sp}.nic`, settings.nic, (s) => (s === 'none' || s === 'user' ? undefined : 'supported values: "none", "user"'));
      const binary = r.str(`${sp}.binary`, settings.binary, absolute);
      const sandbox = r.bool(`${sp}.sandbox`, settings.sandbox) ?? true;
      const accel = r.str(`${sp}.accel`, settings.accel, (s) => ((QEMU_ACCEL_SETTINGS as readonly string[]).includes(s) ? undefined : `supported values: ${QEMU_ACCEL_SETTINGS.map((a) => `"${a}"`).join(', ')}`)) as QemuAccelSetting | undefined;
      if (!stateDir) return undefined;
      return { ...base, qemu: { stateDir, sandbox, nic: (nic as 'none' | 'user' | undefined) ?? 'none', accel: accel ?? 'auto', ...(binary ? { binary } : {}) } };
    }
    case 'firecracker': return readFirecracker(r, sp, settings, base);
    case 'libvirt': {
      r.known(sp, settings, ['uris', 'pools', 'networks', 'bridges']);
      const uris = r.strings(`${sp}.uris`, settings.uris, (s) => (/^[a-z+]+:\/\//.test(s) ? undefined : 'must be a libvirt URI such as qemu:///system'));
      if (!uris?.length) r.fail(`${sp}.uris`, 'Required value: the libvirt URIs Providers of this instance may connect to');
      const pools = r.strings(`${sp}.pools`, settings.pools) ?? ['virtrigaud'];
      const networks = r.strings(`${sp}.networks`, settings.networks) ?? [];
      const bridges = r.strings(`${sp}.bridges`, settings.bridges) ?? [];
      return uris?.length ? { ...base, libvirt: { uris, pools, networks, bridges } } : undefined;
    }
    case 'vsphere': {
      r.known(sp, settings, ['endpoints']);
      const endpoints = r.strings(`${sp}.endpoints`, settings.endpoints, (s) => (/^https:\/\/[^/?#]+/.test(s) ? undefined : 'must be an https URL such as https://vcenter.example.com/sdk'));
      if (!endpoints?.length) r.fail(`${sp}.endpoints`, 'Required value: the vCenter URLs Providers of this instance may connect to');
      return endpoints?.length ? { ...base, vsphere: { endpoints } } : undefined;
    }
    case 'proxmox': {
      r.known(sp, settings, ['endpoints', 'nodes', 'storages', 'bridges']);
      const endpoints = r.strings(`${sp}.endpoints`, settings.endpoints, (s) => (/^https:\/\/[^/?#]+/.test(s) ? undefined : 'must be an https URL such as https://pve.example.com:8006'));
      if (!endpoints?.length) r.fail(`${sp}.endpoints`, 'Required value: the Proxmox VE API URLs Providers of this instance may connect to');
      // Deny by default (src/providers/proxmox/limits.ts): empty lists let the tenant name none; "*" allows any.
      const nodes = r.strings(`${sp}.nodes`, settings.nodes) ?? [];
      const storages = r.strings(`${sp}.storages`, settings.storages) ?? [];
      const bridges = r.strings(`${sp}.bridges`, settings.bridges) ?? ['vmbr0'];
      return endpoints?.length ? { ...base, proxmox: { endpoints, nodes, storages, bridges } } : undefined;
    }
    case 'memory': {
      r.known(sp, settings, ['stateDir']);
      const stateDir = r.str(`${sp}.stateDir`, settings.stateDir, absolute);
      return { ...base, memory: stateDir ? { stateDir } : {} };
    }
  }
}

const NETNS = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function readFirecracker(r: Reader, sp: string, settings: Obj, base: Pick<InProcessInstance, 'name' | 'driver' | 'namespaces'>): InProcessInstance | undefined {
  r.known(sp, settings, ['stateDir', 'binary', 'netns', 'networks', 'smt']);
  const stateDir = r.str(`${sp}.stateDir`, settings.stateDir, absolute);
  if (settings.stateDir === undefined) r.fail(`${sp}.stateDir`, 'Required value: each Firecracker instance needs a state directory of its own');
  const binary = r.str(`${sp}.binary`, settings.binary, absolute);
  const netns = r.str(`${sp}.netns`, settings.netns, (s) => (NETNS.test(s) ? undefined : 'must be a network namespace name (ip netns)'));
  const smt = r.bool(`${sp}.smt`, settings.smt) ?? false;
  const networks: FirecrackerNetworkSettings[] = [];
  const list = settings.networks ?? [];
  if (!Array.isArray(list)) r.fail(`${sp}.networks`, 'must be a list');
  else list.forEach((n, i) => {
    const np = `${sp}.networks[${i}]`;
    const o = r.obj(np, n);
    if (!o) return;
    r.known(np, o, ['name', 'rxBitsPerSecond', 'txBitsPerSecond']);
    const name = r.str(`${np}.name`, o.name, (s) => (DNS_LABEL.test(s) ? undefined : 'must be a DNS label'));
    if (o.name === undefined) r.fail(`${np}.name`, 'Required value');
    const rx = o.rxBitsPerSecond === undefined ? undefined : r.positive(`${np}.rxBitsPerSecond`, o.rxBitsPerSecond);
    const tx = o.txBitsPerSecond === undefined ? undefined : r.positive(`${np}.txBitsPerSecond`, o.txBitsPerSecond);
    if (name) networks.push({ name, ...(rx ? { rxBitsPerSecond: rx } : {}), ...(tx ? { txBitsPerSecond: tx } : {}) });
  });
  if (!stateDir) return undefined;
  return { ...base, firecracker: { stateDir, networks, smt, ...(binary ? { binary } : {}), ...(netns ? { netns } : {}) } };
}

function readImages(r: Reader, v: unknown): ImageSettings {
  const d = DEFAULT_CONFIG.images;
  const o = r.obj('images', v);
  if (!o) return d;
  r.known('images', o, ['roots', 'tempDir', 'maxBytes', 'downloadTimeout', 'allowedUrlCidrs', 'allowFileUrls']);
  return {
    roots: r.strings('images.roots', o.roots, absolute) ?? d.roots,
    tempDir: r.str('images.tempDir', o.tempDir, absolute) ?? d.tempDir,
    maxBytes: r.positive('images.maxBytes', o.maxBytes) ?? d.maxBytes,
    downloadTimeoutMs: r.duration('images.downloadTimeout', o.downloadTimeout) ?? d.downloadTimeoutMs,
    allowedUrlCidrs: r.strings('images.allowedUrlCidrs', o.allowedUrlCidrs, cidr) ?? d.allowedUrlCidrs,
    allowFileUrls: r.bool('images.allowFileUrls', o.allowFileUrls) ?? d.allowFileUrls,
  };
}

/** Parses and checks one configuration document; `source` names it in errors. */
export function parseConfig(text: string, source: string): ReconcilerConfig {
  let doc: unknown;
  try {
    // No aliases: a configuration has no use for them, and they are how YAML bombs work.
    doc = parse(text, { maxAliasCount: 0, uniqueKeys: true });
  } catch (err) {
    throw new ConfigError(source, [`not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
  }
  const r = new Reader();
  if (doc === null || doc === undefined) return DEFAULT_CONFIG;
  const o = r.obj('', doc);
  if (!o) throw new ConfigError(source, ['the document must be a mapping']);
  r.known('', o, ['apiVersion', 'kind', 'inProcessProviders', 'testProviders', 'images', 'hooks', 'providerRuntime', 'ipam']);
  if (o.apiVersion !== undefined && o.apiVersion !== CONFIG_API_VERSION) r.fail('apiVersion', `Unsupported value: ${JSON.stringify(o.apiVersion)}: supported values: "${CONFIG_API_VERSION}"`);
  if (o.kind !== undefined && o.kind !== CONFIG_KIND) r.fail('kind', `Unsupported value: ${JSON.stringify(o.kind)}: supported values: "${CONFIG_KIND}"`);

  const instances: InProcessInstance[] = [];
  if (o.inProcessProviders !== undefined && o.inProcessProviders !== null) {
    if (!Array.isArray(o.inProcessProviders)) r.fail('inProcessProviders', 'Invalid value: must be a list');
    else {
      const seen = new Set<string>();
      o.inProcessProviders.forEach((v, i) => {
        const inst = readInstance(r, `inProcessProviders[${i}]`, v);
        if (!inst) return;
        if (seen.has(inst.name)) r.fail(`inProcessProviders[${i}].name`, `Duplicate value: ${JSON.stringify(inst.name)}`);
        seen.add(inst.name);
        instances.push(inst);
      });
    }
  }
  const hooks = r.obj('hooks', o.hooks);
  if (hooks) r.known('hooks', hooks, ['httpGetAllowedCidrs']);
  const runtime = r.obj('providerRuntime', o.providerRuntime);
  if (runtime) r.known('providerRuntime', runtime, ['allowedImages', 'allowScheduling']);
  const allowedImages = runtime ? r.strings('providerRuntime.allowedImages', runtime.allowedImages) : undefined;
  const allowScheduling = runtime ? r.bool('providerRuntime.allowScheduling', runtime.allowScheduling) : undefined;
  const config: ReconcilerConfig = {
    inProcessProviders: instances,
    testProviders: r.bool('testProviders', o.testProviders) ?? DEFAULT_CONFIG.testProviders,
    images: readImages(r, o.images),
    hooks: { httpGetAllowedCidrs: (hooks && r.strings('hooks.httpGetAllowedCidrs', hooks.httpGetAllowedCidrs, cidr)) ?? DEFAULT_CONFIG.hooks.httpGetAllowedCidrs },
    providerRuntime: { ...(allowedImages ? { allowedImages } : {}), ...(allowScheduling !== undefined ? { allowScheduling } : {}) },
    ipam: readIpam(r, o.ipam),
  };
  if (r.problems.length) throw new ConfigError(source, r.problems);
  return config;
}

export function loadConfigFile(path: string): ReconcilerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  return parseConfig(text, path);
}
