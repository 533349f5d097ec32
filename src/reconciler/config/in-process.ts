/**
 * Which in-process instance serves a Provider object, decided from the
 * operator's configuration alone. The Provider's annotation only names an
 * instance; the instance fixes the driver and its host settings, and says
 * which namespaces may use it. Anything not allowed is refused with a
 * reason the Provider and its VMs show as a condition.
 */
import type { Provider as ProviderObject } from '../../generated/provider';
import { IN_PROCESS_ANNOTATION } from '../../providers/registry';
import { DRIVER_TYPES, type InProcessInstance, type ReconcilerConfig } from './types';

/** Why a Provider may not be served in process; `reason` is the condition reason. */
export class InProcessRefused extends Error {
  constructor(readonly reason: 'InProcessNotAllowed' | 'DriverTypeMismatch' | 'EndpointNotAllowed', message: string) {
    super(message);
  }
}

/** The instance name a Provider asks for, if any. */
export function requestedInstance(p: ProviderObject): string | undefined {
  return p.metadata?.annotations?.[IN_PROCESS_ANNOTATION] || undefined;
}

/** The instance that serves `p`, or throws {@link InProcessRefused} saying what the operator has not allowed. */
export function selectInstance(config: ReconcilerConfig, p: ProviderObject): InProcessInstance {
  const wanted = requestedInstance(p);
  const ns = p.metadata?.namespace ?? '';
  const key = `${ns}/${p.metadata?.name}`;
  if (!wanted) throw new InProcessRefused('InProcessNotAllowed', `Provider "${key}" names no in-process instance`);
  const inst = config.inProcessProviders.find((i) => i.name === wanted);
  if (!inst) {
    const names = config.inProcessProviders.filter((i) => allowsNamespace(i, ns)).map((i) => i.name);
    throw new InProcessRefused(
      'InProcessNotAllowed',
      `annotation ${IN_PROCESS_ANNOTATION}: "${wanted}" is not an in-process provider the operator configured${names.length ? ` (available to namespace ${ns}: ${names.join(', ')})` : ` (none is available to namespace ${ns}; without the annotation the Provider runs as a provider pod)`}`,
    );
  }
  if (!allowsNamespace(inst, ns)) {
    throw new InProcessRefused('InProcessNotAllowed', `annotation ${IN_PROCESS_ANNOTATION}: the operator's in-process provider "${wanted}" is not available to namespace ${ns}`);
  }
  if (inst.driver === 'memory' && !config.testProviders) {
    throw new InProcessRefused('InProcessNotAllowed', `in-process provider "${wanted}" uses the in-memory test driver, which runs only when the reconciler is started with --enable-test-providers`);
  }
  const types = DRIVER_TYPES[inst.driver];
  const type = p.spec?.type ?? '';
  if (types !== 'any' && !types.includes(type)) {
    throw new InProcessRefused('DriverTypeMismatch', `spec.type: Invalid value: "${type}": in-process provider "${wanted}" is a ${inst.driver} driver and serves type ${types.join(' or ')}`);
  }
  checkEndpoint(inst, p.spec?.endpoint ?? '');
  if (inst.libvirt) checkLibvirtDefaults(inst, p);
  if (inst.proxmox) checkProxmoxDefaults(inst, p);
  return inst;
}

export function allowsNamespace(inst: InProcessInstance, ns: string): boolean {
  return inst.namespaces.includes('*') || inst.namespaces.includes(ns);
}

/** A storage pool and a default network are host resources too: only those the instance lists. */
function checkLibvirtDefaults(inst: InProcessInstance, p: ProviderObject): void {
  const l = inst.libvirt!;
  const pool = p.spec?.defaults?.datastore || 'virtrigaud';
  if (!l.pools.includes(pool)) {
    throw new InProcessRefused('EndpointNotAllowed', `spec.defaults.datastore: Invalid value: "${pool}": in-process provider "${inst.name}" may use the storage pools ${l.pools.map((x) => `"${x}"`).join(', ') || '(none)'} only`);
  }
  const net = p.spec?.defaults?.network;
  if (net && !l.networks.includes(net)) {
    throw new InProcessRefused('EndpointNotAllowed', `spec.defaults.network: Invalid value: "${net}": in-process provider "${inst.name}" may attach NICs to the libvirt networks ${l.networks.map((x) => `"${x}"`).join(', ') || '(none)'} only`);
  }
}

/**
 * Proxmox node, storage and bridge defaults are host resources: only those
 * the instance lists (`"*"` for any). An empty list allows none: VMs stay on
 * their template's node and storage, and the Provider may not name one.
 */
function checkProxmoxDefaults(inst: InProcessInstance, p: ProviderObject): void {
  const x = inst.proxmox!;
  const check = (field: string, v: string | undefined, list: readonly string[], what: string) => {
    if (!v || list.includes('*') || list.includes(v)) return;
    if (!list.length) {
      throw new InProcessRefused('EndpointNotAllowed', `spec.defaults.${field}: Forbidden: "${v}": in-process provider "${inst.name}" allows no ${what} (leave it unset; the operator configures proxmox.${what} in the reconciler config)`);
    }
    throw new InProcessRefused('EndpointNotAllowed', `spec.defaults.${field}: Invalid value: "${v}": in-process provider "${inst.name}" may use the ${what} ${list.map((s) => `"${s}"`).join(', ')} only`);
  };
  check('datastore', p.spec?.defaults?.datastore, x.storages, 'storages');
  check('network', p.spec?.defaults?.network, x.bridges, 'bridges');
  check('cluster', p.spec?.defaults?.cluster, x.nodes, 'nodes');
}

/** The endpoint is a network target (libvirt, vCenter) or a host location (QEMU): only what the operator listed. */
function checkEndpoint(inst: InProcessInstance, endpoint: string): void {
  const refuse = (allowed: readonly string[]) => {
    throw new InProcessRefused('EndpointNotAllowed', `spec.endpoint: Invalid value: ${JSON.stringify(endpoint)}: in-process provider "${inst.name}" may connect to ${allowed.map((a) => JSON.stringify(a)).join(', ')} only`);
  };
  switch (inst.driver) {
    case 'libvirt':
      if (!inst.libvirt!.uris.includes(endpoint)) refuse(inst.libvirt!.uris);
      return;
    case 'vsphere': {
      const base = endpoint.replace(/[?#].*$/, '');
      if (!inst.vsphere!.endpoints.some((e) => e.replace(/[?#].*$/, '') === base)) refuse(inst.vsphere!.endpoints);
      return;
    }
    case 'proxmox': {
      const norm = (u: string) => u.replace(/[?#].*$/, '').replace(/\/+$/, '').replace(/\/api2\/json$/, '');
      if (!inst.proxmox!.endpoints.some((e) => norm(e) === norm(endpoint))) refuse(inst.proxmox!.endpoints);
      return;
    }
    case 'qemu':
      // The state directory, binary and sandbox come from the instance; the endpoint only says "this host".
      if (endpoint !== 'qemu:///system') refuse(['qemu:///system']);
      return;
    case 'firecracker':
      // Like QEMU: every host choice is the instance's; the endpoint only says "this host".
      if (endpoint !== 'firecracker:///system') refuse(['firecracker:///system']);
      return;
    case 'memory':
      return;
  }
}
