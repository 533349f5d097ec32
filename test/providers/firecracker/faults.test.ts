/**
 * Firecracker's own error texts, provoked from the real binary (a bare
 * process in a network namespace this test makes and removes), each mapped
 * to a protocol error kind with the text kept in the ProviderError.
 */
import t, { type Test } from 'tap';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FAULT_RULES, faultCategory, fcApi, FirecrackerApiError, Layout, toProviderError } from '../../../src/providers/firecracker';
import type { ApiCall } from '../../../src/providers/firecracker/api';
import { spawnVmm, terminate } from '../../../src/providers/firecracker/process';
import type { ProviderErrorCategory } from '../../../src/providers/provider';
import { destroyStateDir, firecrackerBin, makeNetns, removeNetns, stateDir, templateDir } from './support';

interface Case { readonly call: ApiCall; readonly text: RegExp; readonly kind: ProviderErrorCategory }

const mc = (body: unknown): ApiCall => ({ method: 'PUT', path: '/machine-config', body });

/** Before InstanceStart. */
const before: Case[] = [
  { call: { method: 'GET', path: '/no-such-endpoint' }, text: /Invalid request method and\/or path/, kind: 'Unimplemented' },
  { call: mc({ vcpu_count: 0, mem_size_mib: 128 }), text: /Machine config error: The number of vCPUs must be greater than 0/, kind: 'InvalidSpec' },
  { call: mc({ vcpu_count: 3, mem_size_mib: 128, smt: true }), text: /must be 1 or an even number if SMT is enabled/, kind: 'InvalidSpec' },
  { call: mc({ vcpu_count: 1 }), text: /deserializing the json body of a request: missing field `mem_size_mib`/, kind: 'Internal' },
  { call: { method: 'PUT', path: '/actions', body: { action_type: 'Bogus' } }, text: /unknown variant `Bogus`/, kind: 'Internal' },
  { call: { method: 'PUT', path: '/boot-source', body: { kernel_image_path: '/nonexistent/vmlinux' } }, text: /Boot source error: The kernel file cannot be opened: No such file or directory/, kind: 'Internal' },
  {
    call: { method: 'PUT', path: '/drives/rootfs', body: { drive_id: 'rootfs', path_on_host: '/nonexistent/rootfs', is_root_device: true, is_read_only: false } },
    text: /Drive config error: .*No such file or directory \(os error 2\)/, kind: 'Internal',
  },
  { call: { method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', host_dev_name: 'x'.repeat(20) } }, text: /Open tap device failed: Invalid interface name/, kind: 'InvalidSpec' },
  { call: { method: 'PUT', path: '/actions', body: { action_type: 'InstanceStart' } }, text: /Start microvm error: Cannot start microvm without kernel configuration/, kind: 'InvalidSpec' },
  { call: { method: 'PATCH', path: '/vm', body: { state: 'Paused' } }, text: /not supported before starting the microVM/, kind: 'Unimplemented' },
  { call: { method: 'PATCH', path: '/balloon', body: { amount_mib: 1 } }, text: /not supported before starting the microVM/, kind: 'Unimplemented' },
];

/** After a boot source, a balloon and one NIC are configured (a snapshot load is then refused). */
const configured: Case[] = [
  {
    call: { method: 'PUT', path: '/snapshot/load', body: { snapshot_path: '/nonexistent', mem_backend: { backend_type: 'File', backend_path: '/nonexistent' } } },
    text: /Load snapshot error: Loading a microVM snapshot not allowed after configuring boot-specific resources/, kind: 'Unimplemented',
  },
];

/** After InstanceStart. */
const started: Case[] = [
  { call: mc({ vcpu_count: 2, mem_size_mib: 128 }), text: /not supported after starting the microVM/, kind: 'Unimplemented' },
  { call: { method: 'PUT', path: '/actions', body: { action_type: 'InstanceStart' } }, text: /not supported after starting the microVM/, kind: 'Unimplemented' },
  { call: { method: 'PUT', path: '/snapshot/create', body: { snapshot_path: '/tmp/x', mem_file_path: '/tmp/y' } }, text: /Operation not allowed: save\/restore unavailable while running/, kind: 'Unimplemented' },
  { call: { method: 'PATCH', path: '/drives/nope', body: { drive_id: 'nope', path_on_host: '/tmp/x' } }, text: /Unable to patch the block device: .*Device not found/, kind: 'NotFound' },
  { call: { method: 'PATCH', path: '/network-interfaces/eth9', body: { iface_id: 'eth9' } }, text: /Unable to update the net device: .*Device not found/, kind: 'NotFound' },
  { call: { method: 'PATCH', path: '/vm', body: { state: 'Frozen' } }, text: /unknown variant `Frozen`, expected `Paused` or `Resumed`/, kind: 'Internal' },
];

async function provoke(t: Test, sock: string, cases: readonly Case[]): Promise<void> {
  for (const c of cases) {
    const what = `${c.call.method} ${c.call.path}`;
    const e = await fcApi(sock, c.call).then(() => undefined, (x: unknown) => x);
    if (!(e instanceof FirecrackerApiError)) {
      t.fail(`${what}: Firecracker refused it (${String(e)})`);
      continue;
    }
    t.equal(e.status, 400, `${what}: 400`);
    t.match(e.fault, c.text, `${what}: Firecracker's text "${e.fault}"`);
    t.equal(faultCategory(e.status, e.fault), c.kind, `${what}: ${c.kind}`);
    const pe = toProviderError('Op', e);
    t.equal(pe.category, c.kind, `${what}: the ProviderError is ${c.kind}`);
    t.ok(pe.message.includes(e.fault), `${what}: the ProviderError keeps the text`);
  }
}

t.test('Firecracker fault texts from the real binary', { timeout: 120_000 }, async (t) => {
  const binary = firecrackerBin();
  const dir = await stateDir('faults', []);
  const netns = makeNetns();
  t.teardown(async () => {
    await destroyStateDir(dir);
    removeNetns(netns);
  });
  const layout = new Layout(dir);
  const host = { binary, netns };
  const id = 'faults-0001';
  await mkdir(layout.vmDir(id), { recursive: true });
  await spawnVmm(host, layout, id);
  const sock = layout.socket(id);
  t.teardown(() => terminate(layout, id));

  await provoke(t, sock, before);
  const tpl = templateDir();
  await fcApi(sock, mc({ vcpu_count: 1, mem_size_mib: 128 }));
  await fcApi(sock, { method: 'PUT', path: '/boot-source', body: { kernel_image_path: join(tpl, 'vmlinux'), boot_args: 'console=ttyS0 reboot=k panic=1 pci=off' } });
  await fcApi(sock, { method: 'PUT', path: '/balloon', body: { amount_mib: 0, deflate_on_oom: true } });
  await provoke(t, sock, configured);
  await fcApi(sock, { method: 'PUT', path: '/actions', body: { action_type: 'InstanceStart' } });
  await provoke(t, sock, started);

  // A second process asking for the tap the first holds: busy, worth a retry.
  const busyId = 'faults-0002';
  await mkdir(layout.vmDir(busyId), { recursive: true });
  const a = 'faults-0003';
  await mkdir(layout.vmDir(a), { recursive: true });
  await spawnVmm(host, layout, a);
  t.teardown(() => terminate(layout, a));
  await fcApi(layout.socket(a), { method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', host_dev_name: 'fcbusy0' } });
  await spawnVmm(host, layout, busyId);
  t.teardown(() => terminate(layout, busyId));
  const busy = await fcApi(layout.socket(busyId), { method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', host_dev_name: 'fcbusy0' } }).then(() => undefined, (x: unknown) => x);
  t.ok(busy instanceof FirecrackerApiError, 'a tap another process holds is refused');
  if (busy instanceof FirecrackerApiError) {
    t.match(busy.fault, /Device or resource busy \(os error 16\)/, `text: "${busy.fault}"`);
    t.equal(toProviderError('Create', busy).category, 'Retryable', 'Retryable');
  }

  t.test('the rules themselves', async (t) => {
    t.equal(faultCategory(400, 'Start microvm error: Kvm error: Error creating KVM object: Permission denied (os error 13)'), 'Internal', 'KVM: Internal');
    t.match(toProviderError('Create', new FirecrackerApiError('PUT', '/actions InstanceStart', 400, 'Start microvm error: Kvm error: x')).message, /needs a usable \/dev\/kvm/, 'KVM: with the hint');
    t.equal(faultCategory(404, 'something new'), 'NotFound', 'an unknown 404: NotFound');
    t.equal(faultCategory(400, 'something new'), 'InvalidSpec', 'an unknown 400: InvalidSpec');
    t.equal(faultCategory(500, 'something new'), 'Internal', 'an unknown 5xx: Internal');
    t.ok(FAULT_RULES.every((r) => r.why.length > 0), 'every rule says why');
    const unreachable = toProviderError('Describe', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    t.equal(unreachable.category, 'Retryable', 'an unreachable socket: Retryable');
  });
});
