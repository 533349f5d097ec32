/**
 * More PVE behaviour, each against fakepve over verified HTTPS: PVE's own
 * error texts and TASK ERROR lines as error kinds, POST /config and resize
 * as tasks, pending changes applied at the next start, the shutdown that
 * ends in "got timeout", snapshots with and without vmstate, linked and full
 * clones, NIC firewall/rate/mtu, nextid across two providers, a create cut
 * short after the clone resumed (no second VM), delete leaving no volume,
 * a held config lock, ticket renewal against a short TTL, cicustom snippets,
 * what the provider does at fakepve's gaps, and the CSRF check being real.
 */
import * as https from 'node:https';
import t from 'tap';
import { createRequest, desiredPayload, fixtureUid } from '../../../src/providers/conformance';
import { isProviderError, ProviderError, type ImagePayload, type NetworkPayload } from '../../../src/providers/provider';
import { categoryOf } from '../../../src/providers/proxmox';
import { needsSnippet, snippetName } from '../../../src/providers/proxmox/config';
import { awaitUpid } from '../../../src/providers/proxmox/tasks';
import { startFakePve } from './fakepve';

const kind = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (e instanceof ProviderError ? e.category : `other: ${String(e)}`));

interface CatalogueError { name: string; status: number; message: string; in_task: boolean }
interface TaskRow { upid: string; type: string; id: string; status: string; exitstatus?: string }

t.test('PVE details against fakepve', async (t) => {
  const pve = await startFakePve(t);
  const p = pve.provider();
  t.teardown(() => p.close());
  const vmidOf = (id: string) => Number(id.split('/')[1]);
  const fake = async (id: string) => (await pve.vms()).find((v) => v.vmid === vmidOf(id));
  const tasks = () => pve.control<TaskRow[]>({ op: 'tasks' });
  const del = async (id: string) => awaitUpid(p.client, (await p.delete(id))?.id, 'Delete');

  await t.test('PVE\'s own error texts (fakepve\'s catalogue) map to the protocol\'s error kinds', async (t) => {
    const want: Record<string, string> = {
      configuration_file_does_not_exist: 'NotFound',
      locked: 'Retryable',
      config_lock_timeout: 'Retryable',
      no_quorum: 'Retryable',
      no_route_to_host: 'Retryable',
      hostname_lookup_failed: 'Retryable',
      invalid_ticket: 'Unauthenticated',
      authentication_failure: 'Unauthenticated',
      invalid_csrf: 'Unauthenticated',
      permission_denied: 'Unauthenticated',
      not_implemented: 'Unimplemented',
    };
    const start = await pve.control<CatalogueError[]>({ op: 'errors_for', method: 'POST', path: '/nodes/pve1/qemu/100/status/start' });
    for (const [name, cat] of Object.entries(want)) {
      const e = start.find((x) => x.name === name);
      t.ok(e, `the catalogue has ${name}`);
      if (e) t.equal(categoryOf(e.status, e.message), cat, `${name} (${e.status} ${e.message}): ${cat}`);
    }
    const byPath = async (method: string, path: string, name: string) => (await pve.control<CatalogueError[]>({ op: 'errors_for', method, path })).find((x) => x.name === name)!;
    const sd = await byPath('POST', '/nodes/pve1/qemu/100/status/shutdown', 'quit_powerdown_failed_got_timeout');
    t.equal(categoryOf(sd.status, sd.message), 'Retryable', `${sd.message}: Retryable`);
    // "does not exist" of anything but the VM or its snapshot is the request's fault, not a vanished VM.
    const store = await byPath('POST', '/nodes/pve1/qemu/100/clone', 'storage_does_not_exist');
    t.equal(categoryOf(store.status, store.message), 'InvalidSpec', `${store.message}: InvalidSpec, not NotFound`);
    const disk = await byPath('PUT', '/nodes/pve1/qemu/100/resize', 'disk_does_not_exist');
    t.equal(categoryOf(disk.status, disk.message), 'InvalidSpec', `${disk.message}: InvalidSpec, not NotFound`);
    const snap = await byPath('POST', '/nodes/pve1/qemu/100/clone', 'snapshot_does_not_exist');
    t.equal(categoryOf(snap.status, snap.message), 'NotFound', `${snap.message}: NotFound`);
    const shrink = await byPath('PUT', '/nodes/pve1/qemu/100/resize', 'shrinking_disks_not_supported');
    t.equal(categoryOf(shrink.status, shrink.message), 'InvalidSpec', `${shrink.message}: InvalidSpec`);
  });

  await t.test('a TASK ERROR: TaskStatus carries the text and its kind, awaiting it throws that kind', async (t) => {
    const { id } = await p.create(createRequest('det-taskerr'));
    const vmid = vmidOf(id);
    await pve.control({ op: 'fail', method: 'POST', suffix: `/nodes/pve1/qemu/${vmid}/status/start`, error: 'locked', times: 1 });
    const ref = await p.power(id, 'On', 0);
    t.match(ref?.id, /^UPID:pve1:/, 'the start answered with a UPID');
    let st = await p.taskStatus(ref!);
    for (let i = 0; i < 100 && !st.done; i++) st = await new Promise((r) => setTimeout(r, 50)).then(() => p.taskStatus(ref!));
    t.same(st, { done: true, error: 'VM is locked (backup) (Retryable)' }, 'TaskStatus: the TASK ERROR text and its kind');
    const row = (await tasks()).find((x) => x.upid === ref!.id);
    t.equal(row?.exitstatus, 'VM is locked (backup)', 'fakepve ended the task in that error');
    // A real lock held by fakepve, hit inside a qmconfig task (POST /config is a task).
    await pve.control({ op: 'lock', vmid, lock: 'backup' });
    const upid = await p.client.post(`/nodes/pve1/qemu/${vmid}/config`, { cores: 3 }, 'Reconfigure');
    t.match(upid, /^UPID:pve1:[^:]+:[^:]+:[^:]+:qmconfig:/, 'POST /config is a qmconfig task');
    const e = await awaitUpid(p.client, upid, 'Reconfigure').catch((x: unknown) => x);
    t.ok(isProviderError(e, 'Retryable'), `awaiting it: Retryable (${(e as Error).message})`);
    t.match((e as Error).message, /task failed: VM is locked \(backup\)/, 'with PVE\'s text');
    await pve.control({ op: 'unlock', vmid });
    t.equal(await p.power(id, 'On', 0).then((r) => awaitUpid(p.client, r?.id, 'Power')).then(() => 'ok'), 'ok', 'converges once the lock is gone');
    await del(id);
  });

  await t.test('a config lock held by another worker: "can\'t lock file ... got timeout" is Retryable, in a task and out of one', async (t) => {
    const req = createRequest('det-flock');
    const { id } = await p.create(req);
    const vmid = vmidOf(id);
    await pve.control({ op: 'hold_config_lock', vmid });
    const sync = await p.reconfigure(id, desiredPayload(req, 3, 2048)).catch((x: unknown) => x);
    t.ok(isProviderError(sync, 'Retryable'), `PUT /config: Retryable (${(sync as Error).message})`);
    t.match((sync as Error).message, new RegExp(`can't lock file '/var/lock/qemu-server/lock-${vmid}\\.conf' - got timeout`), 'PVE\'s text');
    const upid = await p.client.post(`/nodes/pve1/qemu/${vmid}/config`, { cores: 3 }, 'Reconfigure') as string;
    let st = await p.taskStatus({ id: upid });
    for (let i = 0; i < 100 && !st.done; i++) st = await new Promise((r) => setTimeout(r, 50)).then(() => p.taskStatus({ id: upid }));
    t.match(st.error, new RegExp(`^can't lock file '/var/lock/qemu-server/lock-${vmid}\\.conf' - got timeout \\(Retryable\\)$`), `the qmconfig task's TASK ERROR with its kind (${st.error})`);
    await pve.control({ op: 'release_config_lock', vmid });
    await p.reconfigure(id, desiredPayload(req, 3, 2048));
    t.equal((await p.describe(id)).cpu, 3, 'converges once the lock is free');
    await del(id);
  });

  await t.test('disks are added by a POST /config task and grown by a resize task; PUT /config stays synchronous', async (t) => {
    const req = createRequest('det-disks');
    const { id } = await p.create(req);
    const vmid = String(vmidOf(id));
    const before = (await tasks()).length;
    const put = await p.client.put(`/nodes/pve1/qemu/${vmid}/config`, { cores: 2 }, 'Reconfigure');
    t.equal(put ?? null, null, 'PUT /config answers no task');
    t.equal((await tasks()).length, before, 'and starts none');
    await p.reconfigure(id, { ...desiredPayload(req, 2, 2048), Disks: [{ SizeGiB: 20, Type: 'thin', Name: 'data' }, { SizeGiB: 3, Type: 'thin', Name: 'logs' }] });
    const mine = (await tasks()).slice(before).filter((x) => x.id === vmid);
    t.ok(mine.some((x) => x.type === 'qmconfig' && x.exitstatus === 'OK'), `the new disk came from a qmconfig task that ended OK (${mine.map((x) => x.type).join(', ')})`);
    // PVE names it qmresize; fakepve's schema-driven resize names it resize.
    t.ok(mine.some((x) => /resize$/.test(x.type) && x.exitstatus === 'OK'), 'the grown disk from a resize task that ended OK');
    // fakepve's gaps (docs/providers/proxmox.md): a new disk stays `storage:GiB` (no volume is allocated)
    // and a resize does not change the stored size, so the request and the task are what can be seen.
    t.equal((await fake(id))!.config.scsi2, 'local-lvm:3', 'the second data disk was asked for on the VM\'s storage');
    await del(id);
  });

  await t.test('pending changes on a running VM apply at the next start, and describe stops listing them', async (t) => {
    const req = createRequest('det-pending');
    const { id } = await p.create(req);
    await awaitUpid(p.client, (await p.power(id, 'On', 0))?.id, 'Power');
    await p.reconfigure(id, desiredPayload(req, 2, 3072));
    t.match(String((await p.describe(id)).providerRaw.pendingChanges), /memory/, 'pending while running');
    await awaitUpid(p.client, (await p.power(id, 'Off', 0))?.id, 'Power');
    await awaitUpid(p.client, (await p.power(id, 'On', 0))?.id, 'Power');
    const d = await p.describe(id);
    t.equal(d.memoryMiB, 3072, 'the memory is in effect after the restart');
    t.equal(d.providerRaw.pendingChanges, undefined, 'nothing pending any more');
    t.same((await fake(id))!.pending, {}, 'fakepve has nothing pending');
    await del(id);
  });

  await t.test('a shutdown task ending "VM quit/powerdown failed - got timeout" is followed by a stop', async (t) => {
    const { id } = await p.create(createRequest('det-sd'));
    const vmid = vmidOf(id);
    await awaitUpid(p.client, (await p.power(id, 'On', 0))?.id, 'Power');
    await pve.control({ op: 'fail', method: 'POST', suffix: `/nodes/pve1/qemu/${vmid}/status/shutdown`, error: 'quit_powerdown_failed_got_timeout', times: 1 });
    const ref = await p.power(id, 'ShutdownGraceful', 2);
    t.match(ref?.id, /:qmshutdown:/, 'the shutdown task is returned at once (the reconciler polls it)');
    let st = await p.taskStatus(ref!);
    for (let i = 0; i < 200 && !st.done; i++) st = await new Promise((r) => setTimeout(r, 50)).then(() => p.taskStatus(ref!));
    t.same(st, { done: true }, 'its status: done, no error (the provider stopped the VM as OffGraceful asks)');
    t.equal((await p.describe(id)).powerState, 'Off', 'Off');
    const mine = (await tasks()).filter((x) => x.id === String(vmid));
    t.ok(mine.some((x) => x.type === 'qmshutdown' && /got timeout/.test(x.exitstatus ?? '')), 'the shutdown task failed with the timeout');
    t.ok(mine.some((x) => x.type === 'qmstop' && x.exitstatus === 'OK'), 'and a stop followed');
    await del(id);
  });

  await t.test('a failed shutdown task this provider did not start is only reported: a task id from a status stops no VM', async (t) => {
    const { id } = await p.create(createRequest('det-sd-foreign'));
    const vmid = vmidOf(id);
    await awaitUpid(p.client, (await p.power(id, 'On', 0))?.id, 'Power');
    await pve.control({ op: 'fail', method: 'POST', suffix: `/nodes/pve1/qemu/${vmid}/status/shutdown`, error: 'quit_powerdown_failed_got_timeout', times: 1 });
    const ref = await p.power(id, 'ShutdownGraceful', 2);
    const stops = async () => (await tasks()).filter((x) => x.id === String(vmid) && x.type === 'qmstop').length;
    const stopsBefore = await stops();
    // Another provider instance (as after a restart, or a tenant's VM status naming this task) polls it.
    const other = pve.provider();
    t.teardown(() => other.close());
    let st = await other.taskStatus(ref!);
    for (let i = 0; i < 200 && !st.done; i++) st = await new Promise((r) => setTimeout(r, 50)).then(() => other.taskStatus(ref!));
    t.match(st.error, /got timeout/, `the task's error is reported (${st.error})`);
    t.equal((await other.describe(id)).powerState, 'On', 'and the VM is left running');
    t.equal(await stops(), stopsBefore, 'no stop was sent');
    await awaitUpid(p.client, (await p.power(id, 'Off', 0))?.id, 'Power');
    await del(id);
  });

  await t.test('graceful shutdown returns at once; PVE force-stops a guest that ignores ACPI after the timeout', async (t) => {
    const { id } = await p.create(createRequest('det-sd-force'));
    await awaitUpid(p.client, (await p.power(id, 'On', 0))?.id, 'Power');
    await pve.control({ op: 'acpi', vmid: vmidOf(id), on: false });
    const t0 = Date.now();
    const ref = await p.power(id, 'ShutdownGraceful', 3);
    t.ok(Date.now() - t0 < 2_000, `power() did not wait for the guest (${Date.now() - t0} ms)`);
    let st = await p.taskStatus(ref!);
    for (let i = 0; i < 200 && !st.done; i++) st = await new Promise((r) => setTimeout(r, 50)).then(() => p.taskStatus(ref!));
    t.same(st, { done: true }, 'the task ends without error');
    // Without forceStop a guest ignoring ACPI ends the task in "got timeout": OK shows PVE stopped it.
    t.equal((await tasks()).find((x) => x.upid === ref!.id)?.exitstatus, 'OK', 'fakepve ended the qmshutdown task OK (forceStop=1)');
    t.equal((await p.describe(id)).powerState, 'Off', 'Off after the timeout');
    await del(id);
  });

  await t.test('snapshots: vmstate only with memory of a running VM, rollback, delete, unknown is NotFound', async (t) => {
    const req = createRequest('det-snap');
    const { id } = await p.create(req);
    const mk = async (hint: string, includeMemory: boolean) => {
      const s = await p.snapshotCreate({ vmId: id, nameHint: hint, includeMemory, description: hint });
      await awaitUpid(p.client, s.task?.id, 'SnapshotCreate');
      return s.snapshotId;
    };
    const cold = await mk('cold', true);
    await awaitUpid(p.client, (await p.power(id, 'On', 0))?.id, 'Power');
    const disk = await mk('disk', false);
    const ram = await mk('ram', true);
    const v = (await fake(id))!;
    t.same([v.vmstate[cold], v.vmstate[disk], v.vmstate[ram]], [false, false, true], 'vmstate only for memory of a running VM');
    await p.reconfigure(id, desiredPayload(req, 2, 2048));
    await awaitUpid(p.client, (await p.power(id, 'Off', 0))?.id, 'Power');
    await p.reconfigure(id, desiredPayload(req, 4, 2048));
    t.equal((await p.describe(id)).cpu, 4, 'resized after the snapshots');
    await awaitUpid(p.client, (await p.snapshotRevert(id, cold))?.id, 'SnapshotRevert');
    t.equal((await p.describe(id)).cpu, 2, 'rollback brings the snapshot\'s size back');
    await awaitUpid(p.client, (await p.snapshotDelete(id, disk))?.id, 'SnapshotDelete');
    t.same((await fake(id))!.snapshots.sort(), [cold, ram].sort(), 'the deleted snapshot is gone');
    t.equal(await kind(p.snapshotDelete(id, 'nope')), 'NotFound', 'deleting an unknown snapshot: NotFound');
    t.equal(await kind(p.snapshotRevert(id, 'nope')), 'NotFound', 'reverting to one: NotFound');
    await del(id);
  });

  await t.test('linked and full clones, storage and format of a full one', async (t) => {
    const img = (over: Partial<ImagePayload>): ImagePayload => ({ ...createRequest('x').image, TemplateName: String(pve.templateId), ...over });
    const linked = await p.create(createRequest('det-linked', { image: img({ FullClone: false }) }));
    t.match((await fake(linked.id))!.config.scsi0, /^local-lvm:vm-\d+-disk-0/, 'a linked clone of the lvm-thin template');
    // On a file storage the linked volume names its base: base-9001-disk-0.qcow2/<vmid>/vm-<vmid>-disk-0.
    const dirImg = (over: Partial<ImagePayload>) => img({ TemplateName: 'debian-12-dir', ...over });
    const linkedDir = await p.create(createRequest('det-linked-dir', { image: dirImg({ FullClone: false }) }));
    t.match((await fake(linkedDir.id))!.config.scsi0, /^local:9001\/base-9001-disk-0\.qcow2\/\d+\/vm-\d+-disk-0/, 'a linked clone sits on the template\'s base volume');
    const fullDir = await p.create(createRequest('det-full-dir', { image: dirImg({ FullClone: true }) }));
    t.match((await fake(fullDir.id))!.config.scsi0, /^local:\d+\/vm-\d+-disk-0\.qcow2/, 'a full clone has a volume of its own');
    t.notMatch((await fake(fullDir.id))!.config.scsi0, /base-/, 'not on the base volume');
    const full = await p.create(createRequest('det-full', { image: img({}) }));
    t.match((await fake(full.id))!.config.scsi0, /^local-lvm:vm-\d+-disk-0(,|$)/, 'no fullClone given: a full clone');
    const q = await p.create(createRequest('det-qcow', { image: img({ Storage: 'local', Format: 'qcow2' }) }));
    t.match((await fake(q.id))!.config.scsi0, /^local:\d+\/vm-\d+-disk-0\.qcow2/, 'full clone onto source.proxmox.storage in source.proxmox.format');
    // The CRD defaults source.proxmox.format to qcow2: on LVM-thin (raw only) no format is sent, the clone works.
    const lvm = await p.create(createRequest('det-lvm-qcow', { image: img({ Format: 'qcow2' }) }));
    t.match((await fake(lvm.id))!.config.scsi0, /^local-lvm:vm-\d+-disk-0(,|$)/, 'qcow2 asked, raw on LVM-thin (the format is left out)');
    const lvmNamed = await p.create(createRequest('det-lvm-qcow2', { image: img({ Format: 'qcow2', Storage: 'local-lvm' }) }));
    t.match((await fake(lvmNamed.id))!.config.scsi0, /^local-lvm:vm-\d+-disk-0(,|$)/, 'and with the storage named');
    const dirDefault = await p.create(createRequest('det-dir-qcow', { image: img({ TemplateName: 'debian-12-dir', Format: 'raw' }) }));
    t.match((await fake(dirDefault.id))!.config.scsi0, /^local:\d+\/vm-\d+-disk-0\.raw/, 'on the template\'s file storage the format is honoured');
    const e = await p.create(createRequest('det-linked-store', { image: img({ FullClone: false, Storage: 'local' }) })).catch((x: unknown) => x);
    t.ok(isProviderError(e, 'InvalidSpec'), `a linked clone with a storage: InvalidSpec (${(e as Error).message})`);
    const lim = pve.provider({ limits: { nodes: ['*'], storages: ['local-lvm'], bridges: ['*'] } });
    t.teardown(() => lim.close());
    const e2 = await lim.create(createRequest('det-store-lim', { image: img({ Storage: 'local' }) })).catch((x: unknown) => x);
    t.match((e2 as Error).message, /image source\.proxmox\.storage: Forbidden: storage "local" is not one the operator allows/, 'the image\'s storage is held to the operator\'s list');
    t.same((await pve.vms()).filter((v) => /det-(linked-store|store-lim)/.test(v.name)), [], 'nothing made for the refused ones');
    for (const x of [linked, linkedDir, fullDir, full, q, lvm, lvmNamed, dirDefault]) await del(x.id);
  });

  await t.test('NIC firewall, rate limit and MTU from network.proxmox', async (t) => {
    const nic = (over: Partial<NetworkPayload>): NetworkPayload => ({ ...createRequest('x').networks[0]!, Bridge: 'vmbr1', ...over });
    const { id } = await p.create(createRequest('det-nic', { networks: [nic({ Firewall: true, RateLimit: 25, MTU: 9000, VLAN: 7 })] }));
    const net0 = (await fake(id))!.config.net0!;
    t.match(net0, /^virtio(=[0-9A-F:]{17})?,bridge=vmbr1/, `model and bridge (${net0})`);
    t.match(net0, /(^|,)firewall=1(,|$)/, 'firewall=1');
    t.match(net0, /(^|,)rate=25(,|$)/, 'rate=25 (MB/s)');
    t.match(net0, /(^|,)mtu=9000(,|$)/, 'mtu=9000');
    t.match(net0, /(^|,)tag=7(,|$)/, 'tag=7');
    // qos from the VMNetworkAttachment (bit/s each way): one PVE rate in MiB/s, the tighter of the two.
    const qos = await p.create(createRequest('det-nic-qos', { networks: [nic({ IngressLimit: 100_000_000, EgressLimit: 50_000_000 })] }));
    t.match((await fake(qos.id))!.config.net0, /(^|,)rate=5\.96(,|$)/, 'qos 100/50 Mbit/s: rate=5.96 (50 Mbit/s in MiB/s, rounded down)');
    const both = await p.create(createRequest('det-nic-both', { networks: [nic({ RateLimit: 3, EgressLimit: 50_000_000 })] }));
    t.match((await fake(both.id))!.config.net0, /(^|,)rate=3(,|$)/, 'network.proxmox rateLimit wins over qos');
    const plain = await p.create(createRequest('det-nic-plain', { networks: [nic({})] }));
    t.notMatch((await fake(plain.id))!.config.net0, /firewall|rate=|mtu=/, 'none of them unless asked');
    const e = await p.create(createRequest('det-nic-mtu', { networks: [nic({ Model: 'e1000', MTU: 9000 })] })).catch((x: unknown) => x);
    t.match((e as Error).message, /networks\[0\]\.mtu: Invalid value: 9000: Proxmox VE sets the MTU of virtio NICs only/, 'MTU on an e1000 NIC is refused');
    for (const x of [id, plain.id, qos.id, both.id]) await del(x);
  });

  await t.test('cloud-init beyond a user and its keys: a cicustom snippet, named by its content', async (t) => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample ops@host';
    const plain = `#cloud-config\nusers:\n  - name: ops\n    ssh_authorized_keys:\n      - ${key}\n`;
    t.equal(needsSnippet(plain), false, 'one user and its keys: the ciuser/sshkeys fields say it all');
    t.equal(needsSnippet('#!/bin/sh\necho hi\n'), true, 'a script: a snippet');
    t.equal(needsSnippet(`${plain}users2: x\n`), true, 'another key: a snippet');
    t.equal(needsSnippet(`#cloud-config\nusers:\n  - name: a\n  - name: b\n`), true, 'two users: a snippet');
    const rich = `${plain}packages:\n  - nginx\nruncmd:\n  - [systemctl, enable, --now, nginx]\n`;
    const name = snippetName(rich);
    t.match(name, /^virtrigaud-[0-9a-f]{16}\.yaml$/, `named by the content (${name})`);
    const req = createRequest('det-snippet', { userData: rich });
    const e = await p.create(req).catch((x: unknown) => x);
    t.ok(isProviderError(e, 'Retryable'), `without the snippet: Retryable (${(e as Error).message})`);
    t.match((e as Error).message, `place it as snippets/${name} on storage local of node pve1`, 'saying which file to place where');
    t.notMatch((e as Error).message, /nginx/, 'never quoting the user-data');
    t.same((await pve.vms()).filter((v) => v.name === 'det-snippet'), [], 'nothing made');
    await pve.control({ op: 'snippet', storage: 'local', name, data: rich });
    const { id } = await p.create(req);
    const cfg = (await fake(id))!.config;
    t.equal(cfg.cicustom, `user=local:snippets/${name}`, 'cicustom points at the snippet');
    t.equal(cfg.ciuser, 'ops', 'ciuser is still set');
    const simple = await p.create(createRequest('det-nosnippet', { userData: plain }));
    t.equal((await fake(simple.id))!.config.cicustom, undefined, 'plain user-data: no cicustom');
    for (const x of [id, simple.id]) await del(x);
  });

  await t.test('nextid: creates at once through two providers (two replicas) get different vmids', async (t) => {
    const q = pve.provider();
    t.teardown(() => q.close());
    const made = await Promise.all([p.create(createRequest('det-race-a')), q.create(createRequest('det-race-b')), p.create(createRequest('det-race-c')), q.create(createRequest('det-race-d'))]);
    t.equal(new Set(made.map((m) => m.id)).size, 4, `four different ids (${made.map((m) => m.id).join(', ')})`);
    const onPve = (await pve.vms()).filter((v) => v.name.startsWith('det-race-'));
    t.same(onPve.map((v) => v.name).sort(), ['det-race-a', 'det-race-b', 'det-race-c', 'det-race-d'], 'one VM each on fakepve');
    for (const m of made) await del(m.id);
  });

  await t.test('a create cut short after the clone is resumed by the next create: no second VM, not listed half-made', async (t) => {
    const uid = fixtureUid();
    const req = createRequest('det-resume', { uid, networks: [{ ...createRequest('x').networks[0]!, Bridge: 'vmbr1' }] });
    // The clone is posted, then the task can no longer be read (the node drops off the network once).
    await pve.control({ op: 'fail', method: 'GET', suffix: '/nodes/{node}/tasks/{upid}/status', status: 595, message: 'No route to host', times: 1 });
    const e = await p.create(req).catch((x: unknown) => x);
    t.ok(isProviderError(e, 'Retryable'), `the create fails Retryable (${(e as Error).message})`);
    const half = (await pve.vms()).filter((v) => v.name === 'det-resume');
    t.equal(half.length, 1, 'the clone exists on fakepve');
    t.match(half[0]!.config.description, /virtrigaud\.io\/state=creating/, 'marked as still being created');
    t.notOk((await p.listVMs()).some((v) => v.uid === uid), 'ListVMs does not offer the half-made VM for adoption');
    const { id } = await p.create(req);
    t.equal(vmidOf(id), half[0]!.vmid, 'the retry resumes that VM');
    const done = (await pve.vms()).filter((v) => v.name === 'det-resume');
    t.equal(done.length, 1, 'still one VM');
    t.match(done[0]!.config.net0, /bridge=vmbr1/, 'configured by the retry');
    t.notMatch(done[0]!.config.description, /state=creating/, 'no longer marked');
    t.equal((await p.listVMs()).find((v) => v.uid === uid)?.id, id, 'now listed with its uid');
    t.equal((await p.create(req)).id, id, 'one more create with that uid returns the same VM');
    const other = await p.create(createRequest('det-resume', { uid: fixtureUid() })).catch((x: unknown) => x);
    t.ok(isProviderError(other, 'InvalidSpec'), 'the same name with another uid is refused');
    t.match((other as Error).message, new RegExp(`already exists \\(pve1/${vmidOf(id)}, uid ${uid}\\)`), 'naming the VM that holds it');
    await del(id);
  });

  await t.test('delete with purge leaves no volume on any storage', async (t) => {
    const { id } = await p.create(createRequest('det-purge', { disks: [{ SizeGiB: 2, Type: 'thin', Name: 'a' }, { SizeGiB: 3, Type: 'thin', Name: 'b' }] }));
    const vmid = vmidOf(id);
    const mine = async () => (await pve.control<string[]>({ op: 'volumes' })).filter((v) => new RegExp(`vm-${vmid}-`).test(v));
    // fakepve allocates the clone's volume; new disks stay `storage:GiB` in the config (a gap, see the docs).
    t.same(await mine(), [`local-lvm:vm-${vmid}-disk-0`], 'the clone\'s boot volume is on fakepve');
    t.same([(await fake(id))!.config.scsi1, (await fake(id))!.config.scsi2], ['local-lvm:2', 'local-lvm:3'], 'and both data disks in its config');
    await awaitUpid(p.client, (await p.power(id, 'On', 0))?.id, 'Power');
    await del(id);
    t.same(await mine(), [], 'nothing of the VM left on any storage');
    t.notOk((await pve.vms()).some((v) => v.vmid === vmid), 'and no VM');
  });

  await t.test('fakepve\'s gaps: what the provider does there', async (t) => {
    // download-url pretends: the provider never uses it. Images are existing templates; anything else is refused.
    const before = (await tasks()).length;
    const url = await p.imagePrepare({ imageJson: JSON.stringify({ source: { http: { url: 'https://images.example/u.qcow2' } } }), targetName: 'u', storageHint: '' }).catch((x: unknown) => x);
    t.ok(isProviderError(url, 'Unimplemented'), `an image to download: Unimplemented (${(url as Error).message})`);
    t.equal((await tasks()).length, before, 'no task started (no download-url)');
    const tmpl = await p.imagePrepare({ imageJson: JSON.stringify({ source: { proxmox: { templateName: 'ubuntu-22.04' } } }), targetName: 'u', storageHint: '' });
    t.same(tmpl, { preparedImageId: String(pve.templateId), preparedImagePath: `pve1/${pve.templateId}` }, 'a template by name: its VMID and node');
    const missing = await p.imagePrepare({ imageJson: JSON.stringify({ source: { proxmox: { templateID: 4242 } } }), targetName: 'u', storageHint: '' }).catch((x: unknown) => x);
    t.ok(isProviderError(missing, 'InvalidSpec'), 'an unknown template: InvalidSpec');
    // No SSH data plane: the disk calls say so.
    t.equal(await kind(p.exportDisk()), 'Unimplemented', 'ExportDisk: Unimplemented');
    t.equal(await kind(p.importDisk()), 'Unimplemented', 'ImportDisk: Unimplemented');
    t.equal(await kind(p.getDiskInfo()), 'Unimplemented', 'GetDiskInfo: Unimplemented');
    // Tokens created over the API do not authenticate on fakepve; the launcher registers the test token
    // through its Python API. A token PVE does not accept is Unauthenticated, and its secret is never told.
    const bad = pve.provider({ tokenSecret: 'not-the-secret-42' });
    t.teardown(() => bad.close());
    const v = await bad.validate();
    t.equal(v.ok, false, `validate fails (${v.message})`);
    t.notMatch(v.message, /not-the-secret-42/, 'without the secret in the message');
    const e = await bad.describe('pve1/100').catch((x: unknown) => x);
    t.ok(isProviderError(e, 'Unauthenticated'), `a call: Unauthenticated (${(e as Error).message})`);
    t.notMatch((e as Error).message, /not-the-secret-42/, 'without the secret');
  });

  await t.test('ticket renewal: a ticket is renewed before PVE expires it, a refused one is replaced once', async (t) => {
    // fakepve's tickets live 7200 s as PVE's do; here 1.2 s, and the client renews after 0.6 s.
    await pve.control({ op: 'ticket_ttl', seconds: 1.2 });
    t.teardown(() => pve.control({ op: 'ticket_ttl', seconds: 7200 }));
    const early = pve.provider({ tokenId: undefined, tokenSecret: undefined, username: pve.user, password: pve.password, ticketRenewMs: 600 });
    t.teardown(() => early.close());
    for (let i = 0; i < 8; i++) {
      t.equal((await early.describe('pve1/777')).exists, false, `call ${i + 1} at ${i * 400} ms`);
      await new Promise((r) => setTimeout(r, 400));
    }
    t.ok(early.client.logins >= 4, `renewed along the way (${early.client.logins} logins)`);
    t.equal(early.client.reauths, 0, 'never refused: each ticket was renewed before it expired');
    const late = pve.provider({ tokenId: undefined, tokenSecret: undefined, username: pve.user, password: pve.password });
    t.teardown(() => late.close());
    t.equal((await late.validate()).ok, true, 'a first call');
    await new Promise((r) => setTimeout(r, 1_500));
    t.equal((await late.validate()).ok, true, 'after the ticket expired (renewal not due yet): the call still succeeds');
    t.equal(late.client.reauths, 1, 'by one login after the 401');
  });

  await t.test('ticket login: fakepve refuses a write without the CSRF token, the client sends it', async (t) => {
    const login = await new Promise<{ ticket: string; CSRFPreventionToken: string }>((resolve, reject) => {
      const body = new URLSearchParams({ username: pve.user, password: pve.password }).toString();
      const req = https.request(`${pve.url}/api2/json/access/ticket`, { method: 'POST', ca: pve.ca, headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
        let s = '';
        res.on('data', (c: Buffer) => { s += c.toString(); });
        res.on('end', () => resolve((JSON.parse(s) as { data: { ticket: string; CSRFPreventionToken: string } }).data));
      });
      req.on('error', reject);
      req.end(body);
    });
    const write = (csrf?: string) => new Promise<number>((resolve, reject) => {
      const req = https.request(`${pve.url}/api2/json/nodes/pve1/qemu/${pve.templateId}/config`, {
        method: 'PUT', ca: pve.ca,
        headers: { Cookie: `PVEAuthCookie=${login.ticket}`, 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength('description=x'), ...(csrf ? { CSRFPreventionToken: csrf } : {}) },
      }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
      req.end('description=x');
    });
    t.equal(await write(), 401, 'without CSRFPreventionToken: 401');
    t.equal(await write('0:bogus'), 401, 'with a wrong one: 401');
    t.equal(await write(login.CSRFPreventionToken), 200, 'with the ticket\'s own: 200');
    const tp = pve.provider({ tokenId: undefined, tokenSecret: undefined, username: pve.user, password: pve.password });
    t.teardown(() => tp.close());
    const { id } = await tp.create(createRequest('det-csrf'));
    t.equal((await tp.describe(id)).exists, true, 'the provider\'s writes with a ticket pass');
    t.equal(tp.client.logins, 1, 'on one login');
    await awaitUpid(tp.client, (await tp.delete(id))?.id, 'Delete');
  });

  t.same((await pve.vms()).filter((v) => !v.template).map((v) => v.name), [], 'nothing left in fakepve');
});
