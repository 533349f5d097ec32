/** The operator's `proxmox` driver settings: parsing, defaults, and what a Provider may select. */
import t from 'tap';
import { parseConfig, selectInstance, InProcessRefused } from '../../../src/reconciler/config';
import type { Provider } from '../../../src/generated/provider';

const YAML = (settings: string) => `apiVersion: config.virtrigaud.io/v1alpha1
kind: ReconcilerConfiguration
inProcessProviders:
  - name: pve
    driver: proxmox
    namespaces: [team-a]
${settings}`;

const provider = (spec: Record<string, unknown>): Provider => ({
  apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'Provider',
  metadata: { name: 'p', namespace: 'team-a', annotations: { 'virtrigaud.io/in-process': 'pve' } },
  spec: { type: 'proxmox', endpoint: 'https://pve.example.com:8006', credentialSecretRef: { name: 's' }, ...spec },
} as unknown as Provider);

t.test('proxmox settings parse with defaults', async (t) => {
  const c = parseConfig(YAML('    proxmox:\n      endpoints: [https://pve.example.com:8006]\n      nodes: [pve1]\n      storages: [local-lvm]\n'), 'test');
  const inst = c.inProcessProviders.find((i) => i.name === 'pve')!;
  t.same(inst.proxmox, { endpoints: ['https://pve.example.com:8006'], nodes: ['pve1'], storages: ['local-lvm'], bridges: ['vmbr0'] }, 'bridges default to vmbr0');
  t.throws(() => parseConfig(YAML('    proxmox: {}\n'), 'test'), /proxmox\.endpoints: Required value/, 'endpoints are required');
  t.throws(() => parseConfig(YAML('    proxmox:\n      endpoints: [http://pve:8006]\n'), 'test'), /must be an https URL/, 'http is refused');
  t.throws(() => parseConfig(YAML('    proxmox:\n      endpoints: [https://pve:8006]\n      pools: [x]\n'), 'test'), /proxmox\.pools: Unsupported field/, 'unknown keys are refused');
});

t.test('a Provider selects the instance only within the operator\'s lists', async (t) => {
  const c = parseConfig(YAML('    proxmox:\n      endpoints: [https://pve.example.com:8006]\n      nodes: [pve1]\n      storages: [local-lvm]\n'), 'test');
  t.equal(selectInstance(c, provider({})).name, 'pve', 'the listed endpoint');
  t.equal(selectInstance(c, provider({ endpoint: 'https://pve.example.com:8006/api2/json' })).name, 'pve', 'with /api2/json');
  const refused = (spec: Record<string, unknown>, re: RegExp, what: string) => {
    const e = (() => { try { selectInstance(c, provider(spec)); return undefined; } catch (x) { return x; } })();
    t.ok(e instanceof InProcessRefused && e.reason === 'EndpointNotAllowed', `${what}: EndpointNotAllowed`);
    t.match((e as Error).message, re, `${what}: ${(e as Error).message}`);
  };
  refused({ endpoint: 'https://evil.example.com:8006' }, /spec\.endpoint: Invalid value/, 'another API URL');
  refused({ defaults: { datastore: 'nfs' } }, /spec\.defaults\.datastore: Invalid value: "nfs"/, 'another storage');
  refused({ defaults: { network: 'vmbr7' } }, /spec\.defaults\.network: Invalid value: "vmbr7"/, 'another bridge');
  refused({ defaults: { cluster: 'pve9' } }, /spec\.defaults\.cluster: Invalid value: "pve9"/, 'another node');
});

t.test('empty node and storage lists: the Provider may name none; "*" allows any', async (t) => {
  const c = parseConfig(YAML('    proxmox:\n      endpoints: [https://pve.example.com:8006]\n      bridges: []\n'), 'test');
  t.same(c.inProcessProviders[0]!.proxmox, { endpoints: ['https://pve.example.com:8006'], nodes: [], storages: [], bridges: [] }, 'nodes and storages default to none, bridges: [] stays empty');
  t.equal(selectInstance(c, provider({})).name, 'pve', 'a Provider naming no node, storage or bridge is served');
  const refused = (spec: Record<string, unknown>, re: RegExp, what: string) => {
    const e = (() => { try { selectInstance(c, provider(spec)); return undefined; } catch (x) { return x; } })();
    t.ok(e instanceof InProcessRefused && e.reason === 'EndpointNotAllowed', `${what}: EndpointNotAllowed`);
    t.match((e as Error).message, re, `${what}: ${(e as Error).message}`);
  };
  refused({ defaults: { datastore: 'local-lvm' } }, /spec\.defaults\.datastore: Forbidden: "local-lvm": in-process provider "pve" allows no storages \(leave it unset; the operator configures proxmox\.storages in the reconciler config\)/, 'any storage');
  refused({ defaults: { cluster: 'pve1' } }, /spec\.defaults\.cluster: Forbidden: "pve1": in-process provider "pve" allows no nodes/, 'any node');
  refused({ defaults: { network: 'vmbr0' } }, /spec\.defaults\.network: Forbidden: "vmbr0": in-process provider "pve" allows no bridges/, 'any bridge (explicitly empty)');
  const any = parseConfig(YAML('    proxmox:\n      endpoints: [https://pve.example.com:8006]\n      nodes: ["*"]\n      storages: ["*"]\n      bridges: ["*"]\n'), 'test');
  t.equal(selectInstance(any, provider({ defaults: { datastore: 'nfs', cluster: 'pve9', network: 'vmbr7' } })).name, 'pve', '"*" is the operator\'s explicit opt-in to any');
});
