"""Starts fakepve for the Proxmox provider tests with what its CLI lacks.

Ours, not fakepve's: it drives fakepve's Python API. It serves HTTPS on the
host given (a loopback address) and an OS-chosen port, with a self-signed
certificate written to the state directory, an API token, a template VM,
storages with content types, and a guest agent in every VM that has
`agent` enabled. It prints one JSON line (url, ca, token, password) once
listening, then reads JSON commands on stdin, one a line, to inject and
clear faults; each is answered with one JSON line.
"""
import asyncio
import json
import sys

from fakepve.certs import make_cert
from fakepve.server import FakePve

TEMPLATE_ID = 9000
DIR_TEMPLATE_ID = 9001


def setup(pve):
    pve.apitokens['root@pam!virtrigaud'] = 'token-secret-0123'
    pve.storages['local']['content'] = 'iso,vztmpl,backup,snippets,images'
    pve.add_vm(TEMPLATE_ID, 'ubuntu-22.04', node='pve1', template=True, config={
        'cores': 1, 'memory': 1024, 'scsi0': 'local-lvm:base-9000-disk-0,size=8G', 'scsihw': 'virtio-scsi-pci',
        'ostype': 'l26', 'agent': '1', 'net0': 'virtio=BC:24:11:00:90:00,bridge=vmbr0'})
    # A second template on a file storage (qcow2), where a linked clone shows in its volume name.
    pve.add_vm(DIR_TEMPLATE_ID, 'debian-12-dir', node='pve1', template=True, config={
        'cores': 1, 'memory': 1024, 'scsi0': 'local:{0}/base-{0}-disk-0.qcow2,size=4G'.format(DIR_TEMPLATE_ID),
        'scsihw': 'virtio-scsi-pci', 'ostype': 'l26', 'net0': 'virtio=BC:24:11:00:90:01,bridge=vmbr0'})
    pve.add_node('pve2')


async def agents(pve):
    while True:
        for vm in pve.vms:
            if vm.agent is None and not vm.template and str(vm.config.get('agent', '0')).startswith('1'):
                vm.agent = {}
        await asyncio.sleep(0.1)


def command(pve, c):
    op = c.get('op')
    if op == 'lose_quorum':
        pve.lose_quorum()
    elif op == 'regain_quorum':
        pve.regain_quorum()
    elif op == 'node_offline':
        pve.set_node_offline(c['node'], c.get('offline', True))
    elif op == 'lock':
        pve.guest(int(c['vmid'])).lock = c.get('lock', 'backup')
    elif op == 'unlock':
        pve.guest(int(c['vmid'])).lock = None
    elif op == 'fail':
        pve.fail(c['method'], c['suffix'], c.get('status'), c.get('message'), error=c.get('error'), times=c.get('times'))
    elif op == 'clear_failures':
        pve.failures.clear()
    elif op == 'ticket_ttl':
        pve.ticket_ttl = c['seconds']
    elif op == 'revoke_tickets':
        pve.revoke_tickets()
    elif op == 'shutdown_secs':
        pve.guest(int(c['vmid'])).shutdown_secs = c['seconds']
    elif op == 'acpi':
        pve.guest(int(c['vmid'])).acpi = c['on']
    elif op == 'time_scale':
        pve.time_scale = c['value']
    elif op == 'vms':
        return [{'vmid': v.vmid, 'name': v.name, 'node': v.node, 'status': v.status, 'template': bool(v.template),
                 'config': dict((k, str(x)) for k, x in v.config.items()),
                 'pending': dict((k, None if x is None else str(x)) for k, x in v.pending.items()),
                 'snapshots': sorted(v.snapshots),
                 'vmstate': dict((n, bool(x.get('vmstate'))) for n, x in v.snapshots.items())} for v in pve.vms]
    elif op == 'volumes':
        # Every volume on every storage that belongs to a guest: what a delete must leave nothing of.
        return sorted('{0}:{1}'.format(sid, name) for sid in pve.storages
                      for name, vol in pve._volumes(sid).items() if vol.get('vmid') is not None)
    elif op == 'hold_config_lock':
        # Another worker holds the VM's config lock (flock on lock-<vmid>.conf): PVE's "got timeout".
        pve.guest(int(c['vmid'])).lock_holder = c.get('holder', 'other-worker')
    elif op == 'release_config_lock':
        pve.release(pve.guest(int(c['vmid'])), c.get('holder', 'other-worker'))
    elif op == 'snippet':
        # What the operator's provisioning does on a real node (PVE's API cannot write snippets).
        pve.store_file(c.get('storage', 'local'), c['name'], len(c.get('data', '')), content='snippets')
    elif op == 'errors_for':
        # PVE's own error texts for a path (fakepve's catalogue): what the provider must classify.
        return [{'name': e['name'], 'status': e['status'], 'message': e['message'], 'in_task': bool(e.get('in_task'))}
                for e in pve.errors_for(c['method'], c['path'])]
    elif op == 'tasks':
        return [{'upid': r['upid'], 'type': r['type'], 'id': r['id'], 'status': r['status'],
                 'exitstatus': r.get('exitstatus')} for r in pve.tasklog]
    else:
        raise ValueError('unknown op {0!r}'.format(op))
    return None


async def main(host, state_dir):
    pve = FakePve(user='root@pam', password='pve-password-1', host=host, port=0)
    setup(pve)
    certfile, keyfile, _ = make_cert(state_dir, hosts=(host,))
    await pve.start(certfile, keyfile)
    asyncio.ensure_future(agents(pve))
    print(json.dumps({'url': pve.url, 'ca': certfile, 'user': 'root@pam', 'password': pve.password,
                      'token': 'root@pam!virtrigaud', 'secret': pve.apitokens['root@pam!virtrigaud'],
                      'template': TEMPLATE_ID}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            return
        try:
            out = {'ok': True, 'result': command(pve, json.loads(line))}
        except Exception as e:  # the test sees what went wrong
            out = {'ok': False, 'error': repr(e)}
        print(json.dumps(out, default=str), flush=True)


if __name__ == '__main__':
    asyncio.run(main(sys.argv[1], sys.argv[2]))
