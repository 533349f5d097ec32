/** The operator's `driver: firecracker` settings: parsed, checked, and what the provider is built from. */
import t from 'tap';
import { firecrackerOptionsFromContext } from '../../../src/providers/firecracker';
import { ConfigError, parseConfig } from '../../../src/reconciler/config/load';

const doc = (fc: string) => `apiVersion: config.virtrigaud.io/v1alpha1
kind: ReconcilerConfiguration
inProcessProviders:
  - name: micro
    driver: firecracker
    namespaces: [team-a]
    firecracker:
${fc}`;

t.test('firecracker driver settings', async (t) => {
  const cfg = parseConfig(doc(`      stateDir: /var/lib/vr/fc
      binary: /opt/fc/firecracker
      netns: microvms
      networks: [{ name: lab-net, rxBitsPerSecond: 1000000 }]`), 'test');
  const inst = cfg.inProcessProviders[0]!;
  t.same(inst.firecracker, { stateDir: '/var/lib/vr/fc', binary: '/opt/fc/firecracker', netns: 'microvms', smt: false, networks: [{ name: 'lab-net', rxBitsPerSecond: 1000000 }] });
  const opts = firecrackerOptionsFromContext({ namespace: 'team-a', name: 'p', type: 'firecracker', endpoint: 'firecracker:///system', credentials: {}, defaults: {}, insecureSkipVerify: false, instance: inst });
  t.same(opts, { stateDir: '/var/lib/vr/fc', binary: '/opt/fc/firecracker', netns: 'microvms', smt: false, networks: [{ name: 'lab-net', rxBitsPerSecond: 1000000 }] }, 'provider options from the instance only');
  const bad = (() => {
    try {
      parseConfig(doc(`      stateDir: relative
      binary: fc
      netns: "a b"
      networks: [{ name: Lab_Net, rxBitsPerSecond: -1 }]
      tapPrefix: x`), 'test');
      return undefined;
    } catch (e) {
      return e as ConfigError;
    }
  })();
  t.ok(bad instanceof ConfigError, 'invalid settings are refused');
  const text = bad?.problems.join('\n') ?? '';
  for (const f of ['firecracker.stateDir', 'firecracker.binary', 'firecracker.netns', 'networks[0].name', 'networks[0].rxBitsPerSecond', 'tapPrefix']) t.match(text, f, `names ${f}`);
});

t.test('the Firecracker tests fail, never skip, without the binary, and say how to provide it', async (t) => {
  const { firecrackerBin } = await import('./support');
  const saved = process.env.FIRECRACKER_BIN;
  t.teardown(() => {
    if (saved === undefined) delete process.env.FIRECRACKER_BIN;
    else process.env.FIRECRACKER_BIN = saved;
  });
  process.env.FIRECRACKER_BIN = '/nonexistent/firecracker';
  t.throws(() => firecrackerBin(), /Firecracker binary not found at \/nonexistent\/firecracker: set FIRECRACKER_BIN .*FIRECRACKER_BIN=\/path\/to\/firecracker npx tap/, 'a missing binary throws (the test fails) with what to set');
  const dir = t.testdir({ 'plain-file': 'not a binary' });
  process.env.FIRECRACKER_BIN = `${dir}/plain-file`;
  t.throws(() => firecrackerBin(), /Firecracker binary not found at .*plain-file: set FIRECRACKER_BIN/, 'so does a file that is not executable');
  process.env.FIRECRACKER_BIN = dir;
  t.throws(() => firecrackerBin(), /Firecracker binary not found at /, 'and a directory');
});
