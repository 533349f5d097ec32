import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Chart, Testing, Yaml } from 'cdk8s';
import { Construct } from 'constructs';
import { Provider, VMClass, VMImage, VirtualMachine, VirtualMachineFleet, VMNetworkAttachment } from '../../src/fleet';
import { validateObjects } from '../../src/validate';
import { VsphereProduction } from '../../examples/vsphere-production';
import { EXAMPLES, synthExample } from './examples';

const golden = (name: string) => path.join(__dirname, 'golden', `${name}.yaml`);

t.test('examples match their golden output (UPDATE_GOLDEN=1 rewrites it)', async (t) => {
  for (const [name, make] of EXAMPLES) {
    const yaml = Yaml.stringify(...synthExample(make, name));
    if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(golden(name), yaml);
    t.ok(fs.existsSync(golden(name)), `${name}: golden file exists`);
    t.ok(fs.readFileSync(golden(name), 'utf8') === yaml, `${name}: output equals test/fleet/golden/${name}.yaml`);
  }
});

t.test('examples are valid for the validator', async (t) => {
  for (const [name, make] of EXAMPLES) {
    const objects = synthExample(make, name);
    const results = validateObjects(objects, { strict: true });
    t.same(results.filter((r) => !r.valid).map((r) => r.errors), [], `${name}: ${objects.length} objects valid`);
  }
});

t.test('the fleet stamps names, static IPs and spread placement', async (t) => {
  const objs = synthExample(VsphereProduction, 'prod');
  const web = objs.filter((o) => o.kind === 'VirtualMachine' && o.metadata.labels?.tier === 'web');
  t.equal(web.length, 12);
  t.same(web.map((o) => o.metadata.name).slice(0, 3), ['web-00', 'web-01', 'web-02']);
  t.same(web.map((o) => o.spec.networks[0].ipAddress).slice(0, 3), ['10.20.0.11', '10.20.0.12', '10.20.0.13']);
  t.same(web.map((o) => o.spec.placement.datastore).slice(0, 4), ['ssd-01', 'ssd-02', 'ssd-03', 'ssd-01']);
  t.notOk(web[0].spec.placement.storagePod, 'a pinned datastore replaces the datastore cluster');
  t.equal(web[0].spec.networks[0].networkRef.name, 'app-net', 'references become names');
  t.equal(web[5].metadata.labels['virtrigaud.io/fleet-index'], '5');
});

function base(chart: Construct) {
  const provider = Provider.fromName(chart, 'p', 'vsphere-prod');
  const vmClass = VMClass.fromName(chart, 'c', 'small');
  return { provider, vmClass };
}

function synthErrors(build: (chart: Chart) => void): string {
  const app = Testing.app();
  build(new Chart(app, 'chart'));
  try {
    app.synth();
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

t.test('synth reports every problem at once, with construct and field paths', async (t) => {
  const other = new Chart(new App(), 'other');
  const foreign = new VMImage(other, 'ubuntu', { source: {} });
  const msg = synthErrors((chart) => {
    const refs = base(chart);
    new VirtualMachine(chart, 'a', { name: 'web', ...refs, image: foreign as never, disks: [{ name: 'd', sizeGiB: 0 }] });
    new VirtualMachine(chart, 'b', { name: 'web', ...refs, placement: { datastore: 'x', storagePod: 'y' } });
  });
  t.match(msg, /\[chart\/a\] VirtualMachine default\/web: spec\.disks\[0\]\.sizeGiB: Invalid value: 0: .*greater than or equal to 1/);
  t.match(msg, /\[chart\/a\] VirtualMachine default\/web: spec\.imageRef: VMImage ubuntu \(other\/ubuntu\) belongs to another app; declare it here or use VMImage\.fromName\(\)/);
  t.match(msg, /\[chart\/a\] VirtualMachine default\/web: metadata\.name: Duplicate value: "web" is also used by chart\/b/);
  t.match(msg, /\[chart\/b\] VirtualMachine default\/web: spec\.placement: Invalid value: datastore and storagePod are mutually exclusive/);
});

t.test('names: required for VMs, never from the construct path', async (t) => {
  const app = Testing.app();
  const chart = new Chart(app, 'chart');
  const refs = base(chart);
  t.throws(() => new VirtualMachine(chart, 'x', { ...refs } as never), /'name' is required/);
  t.throws(() => new VMClass(chart, 'Not_A_Name', { cpu: 1, memory: '1Gi' }), /name "Not_A_Name" is not a lower-case DNS-1123 subdomain \(it defaults to the construct id; pass name\)/);
  const deep = new Construct(new Construct(chart, 'team'), 'web-tier');
  const vm = new VirtualMachine(deep, 'some-id', { name: 'web-1', ...refs });
  t.equal(vm.name, 'web-1');
  t.equal(chart.toJson().find((o: any) => o.kind === 'VirtualMachine').metadata.name, 'web-1', 'the tree does not leak into the name');
  t.equal(new VMNetworkAttachment(deep, 'app-net', { network: {} }).name, 'app-net', 'config kinds default to the construct id, not the path');
});

t.test('fleet argument errors', async (t) => {
  const chart = new Chart(Testing.app(), 'chart');
  const refs = base(chart);
  t.throws(() => new VirtualMachineFleet(chart, 'f', { count: -1, namePrefix: 'x', template: refs }), /count must be a whole number/);
  t.throws(() => new VirtualMachineFleet(chart, 'g', { count: 1, template: refs }), /give name or namePrefix/);
  t.throws(() => new VirtualMachineFleet(chart, 'h', { count: 1, namePrefix: 'h', template: refs, staticIps: { network: 'nope', start: '10.0.0.1' } }), /staticIps.network "nope" is not a NIC of the template/);
});
