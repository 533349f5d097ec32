/**
 * A Proxmox VE edge site: one Provider, an edge class, a template, a VLAN on
 * vmbr0, a VMSet of three sensor gateways and two routers pinned to hosts.
 */
import { App, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { Provider, VMClass, VMImage, VMNetworkAttachment, VMSet, VirtualMachineFleet } from '../src/fleet';

export class ProxmoxEdge extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'edge-ber1' });
    const pve = new Provider(this, 'pve', {
      name: 'pve-ber1',
      type: 'proxmox',
      endpoint: 'https://pve.ber1.example.com:8006/api2/json',
      credentialSecretRef: { name: 'pve-token' },
      runtime: { image: 'ghcr.io/projectbeskar/virtrigaud/provider-proxmox:v0.3.3', replicas: 1 },
      rateLimit: { qps: 5, burst: 10 },
    });
    const edge = new VMClass(this, 'edge', { cpu: 2, memory: '2Gi', firmware: 'UEFI' });
    const debian = new VMImage(this, 'debian-12-tmpl', { source: { proxmox: { templateID: 9000, node: 'pve-01', fullClone: false } } });
    const vlan = new VMNetworkAttachment(this, 'iot-vlan', { network: { proxmox: { bridge: 'vmbr0', vlanTag: 120, model: 'virtio' } }, ipAllocation: { type: 'DHCP' } });

    new VMSet(this, 'gateways', {
      name: 'sensor-gw',
      replicas: 3,
      template: { provider: pve, vmClass: edge, image: debian, networks: [{ name: 'iot', attachment: vlan }], powerState: 'On' },
    });

    new VirtualMachineFleet(this, 'routers', {
      count: 2,
      namePrefix: 'edge-router',
      template: { provider: pve, vmClass: edge, image: debian, networks: [{ name: 'uplink', attachment: vlan, prefix: 24, gateway: '10.120.0.1' }] },
      staticIps: { network: 'uplink', start: '10.120.0.2' },
      spread: { hosts: ['pve-01', 'pve-02'] },
    });
  }
}

if (require.main === module) {
  const app = new App({ outdir: 'examples/out' });
  new ProxmoxEdge(app, 'proxmox-edge');
  app.synth();
}
