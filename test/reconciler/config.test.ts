/** The operator's configuration file, the in-process selection it drives, and cross-namespace consent. */
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEFAULT_CONFIG, InProcessRefused, loadConfigFile, parseConfig, selectInstance, type ReconcilerConfig } from '../../src/reconciler/config';
import { permitsReference, selectorMatches } from '../../src/reconciler/consent';
import { DEFAULT_RECONCILER_CONFIG } from '../../src/install';
import { configProblems } from './support/config';

const problems = configProblems;

t.test('an empty file is the deny-all default', async (t) => {
  t.same(parseConfig('', 'c.yaml'), DEFAULT_CONFIG);
  t.same(DEFAULT_CONFIG.inProcessProviders, []);
  t.equal(DEFAULT_CONFIG.testProviders, false);
  t.same(DEFAULT_CONFIG.images.roots, []);
  t.same(DEFAULT_CONFIG.images.allowedUrlCidrs, []);
});

t.test('a full configuration is read', async (t) => {
  const c = parseConfig(
    `apiVersion: config.virtrigaud.io/v1alpha1
kind: ReconcilerConfiguration
inProcessProviders:
  - name: lab
    driver: qemu
    namespaces: [team-a]
    qemu: { stateDir: /var/lib/virtrigaud/qemu/lab, sandbox: true, nic: user, binary: /usr/bin/qemu-system-x86_64 }
  - name: kvm
    driver: libvirt
    namespaces: ["*"]
    libvirt: { uris: ["qemu:///system"] }
images:
  roots: [/var/lib/virtrigaud/images]
  maxBytes: 1073741824
  downloadTimeout: 5m
  allowedUrlCidrs: [10.20.0.0/16]
hooks:
  httpGetAllowedCidrs: [10.30.0.0/24]
providerRuntime:
  allowedImages: [registry.example.com/virtrigaud/]
  allowScheduling: true
`,
    'c.yaml',
  );
  t.same(c.inProcessProviders[0], { name: 'lab', driver: 'qemu', namespaces: ['team-a'], qemu: { stateDir: '/var/lib/virtrigaud/qemu/lab', sandbox: true, nic: 'user', accel: 'auto', binary: '/usr/bin/qemu-system-x86_64' } }, 'accel defaults to auto');
  t.same(c.inProcessProviders[1]!.libvirt, { uris: ['qemu:///system'], pools: ['virtrigaud'], networks: [], bridges: [] }, 'pools default to the driver\'s own; no network or bridge unless listed');
  t.equal(c.images.maxBytes, 1073741824);
  t.equal(c.images.downloadTimeoutMs, 300_000);
  t.equal(c.images.tempDir, DEFAULT_CONFIG.images.tempDir, 'unset fields keep their defaults');
  t.same(c.hooks.httpGetAllowedCidrs, ['10.30.0.0/24']);
  t.same(c.providerRuntime, { allowedImages: ['registry.example.com/virtrigaud/'], allowScheduling: true });
});

t.test('every mistake is named with its field path, all at once', async (t) => {
  const p = problems(`kind: Wrong
inProcessProviders:
  - name: Lab_1
    driver: hyperv
    namespaces: []
  - name: q
    driver: qemu
    namespaces: [a]
    qemu: { stateDir: relative/dir, sandbox: "no" }
    libvirt: { uris: [x] }
  - name: q
    driver: libvirt
    namespaces: [a]
images: { roots: [/a/../etc], allowedUrlCidrs: [everything], unknown: 1 }
sandboxes: off
`);
  t.match(p.join('\n'), /kind: Unsupported value: "Wrong"/);
  t.match(p.join('\n'), /inProcessProviders\[0\]\.name: Invalid value: "Lab_1": must be a DNS label/);
  t.match(p.join('\n'), /inProcessProviders\[0\]\.driver: Invalid value: "hyperv": supported values: "libvirt", "qemu", "firecracker", "vsphere", "proxmox", "memory"/);
  t.match(p.join('\n'), /inProcessProviders\[0\]\.namespaces: Required value/);
  t.match(p.join('\n'), /inProcessProviders\[1\]\.qemu\.stateDir: Invalid value: "relative\/dir": must be an absolute path/);
  t.match(p.join('\n'), /inProcessProviders\[1\]\.qemu\.sandbox: Invalid value: "no": must be true or false/);
  t.match(p.join('\n'), /inProcessProviders\[1\]\.libvirt: Forbidden: settings for driver libvirt on an instance of driver qemu/);
  t.match(p.join('\n'), /inProcessProviders\[2\]\.libvirt\.uris: Required value/);
  t.match(p.join('\n'), /images\.roots\[0\]: Invalid value: "\/a\/\.\.\/etc": must be an absolute path without "\.\." segments/);
  t.match(p.join('\n'), /images\.allowedUrlCidrs\[0\]: Invalid value: "everything": must be a CIDR/);
  t.match(p.join('\n'), /images\.unknown: Unsupported field/);
  t.match(p.join('\n'), /sandboxes: Unsupported field/);
});

t.test('qemu.accel: auto (default), kvm or tcg; anything else is named with its field path', async (t) => {
  const doc = (accel?: string) => `inProcessProviders:
  - name: lab
    driver: qemu
    namespaces: [a]
    qemu: { stateDir: /var/lib/q${accel === undefined ? '' : `, accel: ${accel}`} }
`;
  for (const a of ['auto', 'kvm', 'tcg'] as const) t.equal(parseConfig(doc(a), 'c.yaml').inProcessProviders[0]!.qemu!.accel, a, `accel: ${a}`);
  t.equal(parseConfig(doc(), 'c.yaml').inProcessProviders[0]!.qemu!.accel, 'auto', 'unset: auto');
  t.same(problems(doc('hvf')), ['inProcessProviders[0].qemu.accel: Invalid value: "hvf": supported values: "auto", "kvm", "tcg"']);
  t.same(problems(doc('KVM')), ['inProcessProviders[0].qemu.accel: Invalid value: "KVM": supported values: "auto", "kvm", "tcg"'], 'case matters');
  t.same(problems(doc('true')), ['inProcessProviders[0].qemu.accel: Invalid value: true: must be a non-empty string']);
  const e = (() => {
    try {
      parseConfig(doc('xen'), 'reconciler.yaml');
    } catch (x) {
      return x as Error;
    }
    return undefined;
  })();
  t.ok(e instanceof ConfigError);
  t.match(e?.message, /^reconciler\.yaml: invalid reconciler configuration:\n  inProcessProviders\[0\]\.qemu\.accel: Invalid value: "xen"/);
  // Only the operator's file has the setting: a libvirt instance cannot carry it, nor an unknown key sneak in.
  t.match(problems(doc('kvm').replace('driver: qemu', 'driver: libvirt')).join('\n'), /inProcessProviders\[0\]\.qemu: Forbidden/);
  t.match(problems(doc().replace('stateDir: /var/lib/q', 'stateDir: /var/lib/q, accelerator: kvm')).join('\n'), /inProcessProviders\[0\]\.qemu\.accelerator: Unsupported field/);
});

t.test('hostile YAML is refused with a message, not a crash or a blow-up', async (t) => {
  t.match(problems('a: &x [1]\nb: *x\n')[0], /not valid YAML/, 'aliases are refused');
  t.match(problems('a: 1\na: 2\n')[0], /not valid YAML/, 'duplicate keys are refused');
  t.match(problems('- just\n- a list\n')[0], /must be a mapping/);
  t.match(problems('__proto__: { polluted: true }\n').join('\n'), /__proto__: Unsupported field/);
  t.equal(({} as any).polluted, undefined);
});

t.test('loadConfigFile names the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vr-config-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'testProviders: maybe\n');
  t.throws(() => loadConfigFile(file), { message: new RegExp(`^${file}: invalid reconciler configuration:\\n  testProviders: Invalid value: "maybe"`) });
  t.throws(() => loadConfigFile(join(dir, 'missing.yaml')), { message: /missing\.yaml: invalid reconciler configuration:\n {2}cannot read the file: ENOENT/ });
});

const config = (over: Partial<ReconcilerConfig> = {}): ReconcilerConfig => ({
  ...DEFAULT_CONFIG,
  inProcessProviders: [
    { name: 'lab', driver: 'qemu', namespaces: ['team-a'], qemu: { stateDir: '/var/lib/q', sandbox: true, nic: 'none' } },
    { name: 'kvm', driver: 'libvirt', namespaces: ['*'], libvirt: { uris: ['qemu:///system'], pools: ['virtrigaud', 'lab'], networks: ['default'], bridges: [] } },
    { name: 'vc', driver: 'vsphere', namespaces: ['team-a'], vsphere: { endpoints: ['https://vc.example.com/sdk'] } },
    { name: 'mem', driver: 'memory', namespaces: ['team-a'] },
  ],
  ...over,
});
const provider = (ns: string, instance: string | undefined, type: string, endpoint: string): any => ({
  metadata: { namespace: ns, name: 'p', ...(instance ? { annotations: { 'virtrigaud.io/in-process': instance } } : {}) },
  spec: { type, endpoint } as any,
});
const refusal = (c: ReconcilerConfig, p: any): string => {
  try {
    selectInstance(c, p);
    return 'allowed';
  } catch (e) {
    if (!(e instanceof InProcessRefused)) throw e;
    return `${e.reason}: ${e.message}`;
  }
};

t.test('in-process selection: only what the operator configured, for the namespaces it named', async (t) => {
  t.equal(selectInstance(config(), provider('team-a', 'lab', 'qemu', 'qemu:///system')).name, 'lab');
  t.equal(selectInstance(config(), provider('anyone', 'kvm', 'libvirt', 'qemu:///system')).name, 'kvm', '"*" allows every namespace');
  t.equal(selectInstance(config(), provider('team-a', 'vc', 'vsphere', 'https://vc.example.com/sdk?datacenter=DC0')).name, 'vc', 'a query may be added');
  t.match(refusal(config(), provider('team-a', 'qemu', 'qemu', 'qemu:///system')), /^InProcessNotAllowed: annotation virtrigaud.io\/in-process: "qemu" is not an in-process provider the operator configured \(available to namespace team-a: lab, kvm, vc, mem\)/);
  t.match(refusal(config(), provider('team-b', 'lab', 'qemu', 'qemu:///system')), /^InProcessNotAllowed: .*"lab" is not available to namespace team-b/);
  t.match(refusal(config(), provider('team-a', 'lab', 'qemu', 'qemu:///tmp/other-state')), /^EndpointNotAllowed: spec.endpoint: Invalid value: "qemu:\/\/\/tmp\/other-state"/, 'the endpoint cannot pick a state directory');
  t.match(refusal(config(), provider('team-a', 'kvm', 'libvirt', 'qemu+ssh://attacker.example.com/system')), /^EndpointNotAllowed: .*may connect to "qemu:\/\/\/system" only/);
  t.match(refusal(config(), provider('team-a', 'vc', 'vsphere', 'https://169.254.169.254/sdk')), /^EndpointNotAllowed/);
  const withDefaults = (defaults: Record<string, string>) => ({ ...provider('team-a', 'kvm', 'libvirt', 'qemu:///system'), spec: { type: 'libvirt', endpoint: 'qemu:///system', defaults } });
  t.equal(refusal(config(), withDefaults({ datastore: 'lab', network: 'default' })), 'allowed');
  t.match(refusal(config(), withDefaults({ datastore: 'team-b-disks' })), /^EndpointNotAllowed: spec.defaults.datastore: Invalid value: "team-b-disks": .*storage pools "virtrigaud", "lab" only/);
  t.match(refusal(config(), withDefaults({ network: 'host-mgmt' })), /^EndpointNotAllowed: spec.defaults.network: Invalid value: "host-mgmt"/);
  t.match(refusal(config(), provider('team-a', 'lab', 'libvirt', 'qemu:///system')), /^DriverTypeMismatch: spec.type: Invalid value: "libvirt": in-process provider "lab" is a qemu driver and serves type qemu/);
  t.match(refusal(config(), provider('team-a', 'mem', 'libvirt', 'memory://x')), /^InProcessNotAllowed: .*in-memory test driver, which runs only when the reconciler is started with --enable-test-providers/);
  t.equal(refusal(config({ testProviders: true }), provider('team-a', 'mem', 'libvirt', 'memory://x')), 'allowed');
  t.match(refusal(DEFAULT_CONFIG, provider('team-a', 'kvm', 'libvirt', 'qemu:///system')), /none is available to namespace team-a/);
});

t.test('consent: cross-namespace references only where the target allows them', async (t) => {
  const labels: Record<string, Record<string, string>> = { 'team-b': { tier: 'gold', 'kubernetes.io/metadata.name': 'team-b' }, 'team-c': { tier: 'bronze' } };
  const nl = (ns: string) => labels[ns];
  const target = (allowedNamespaces?: any) => ({ metadata: { namespace: 'team-a' }, spec: { ...(allowedNamespaces ? { allowedNamespaces } : {}) } });
  t.ok(permitsReference(target(), 'team-a', nl), 'the same namespace always');
  t.notOk(permitsReference(target(), 'team-b', nl), 'another namespace: not by default');
  t.notOk(permitsReference(target({ from: 'Same' }), 'team-b', nl));
  t.ok(permitsReference(target({ from: 'Same', names: ['team-b'] }), 'team-b', nl));
  t.notOk(permitsReference(target({ from: 'Same', names: ['team-b'] }), 'team-c', nl));
  t.ok(permitsReference(target({ from: 'All' }), 'team-c', nl));
  t.ok(permitsReference(target({ from: 'Selector', selector: { matchLabels: { tier: 'gold' } } }), 'team-b', nl));
  t.notOk(permitsReference(target({ from: 'Selector', selector: { matchLabels: { tier: 'gold' } } }), 'team-c', nl));
  t.notOk(permitsReference(target({ from: 'Selector', selector: { matchLabels: {} } }), 'unknown-ns', nl), 'an unknown namespace matches no selector');
  t.ok(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold', 'silver'] }] }, { tier: 'gold' }));
  t.notOk(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['gold'] }] }, { tier: 'gold' }));
  t.ok(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, {}));
  t.notOk(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, {}));
  t.notOk(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'Bogus' }] }, { tier: 'x' }), 'an unknown operator matches nothing');
});

t.test('the install ships a configuration that parses to the deny-all default', async (t) => {
  t.same(parseConfig(DEFAULT_RECONCILER_CONFIG, 'virtrigaud-reconciler-config'), DEFAULT_CONFIG);
});
