/**
 * A vSphere production tier: 12 web VMs spread over three datastores of the
 * SSD datastore cluster's members, static addresses, and a database pair
 * placed by the datastore cluster itself.
 */
import { App, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { Provider, VMClass, VMImage, VMNetworkAttachment, VirtualMachine, VirtualMachineFleet } from '../src/fleet';

export class VsphereProduction extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'prod' });
    const vsphere = new Provider(this, 'vsphere', {
      name: 'vsphere-prod',
      type: 'vsphere',
      endpoint: 'https://vcenter.example.com/sdk',
      credentialSecretRef: { name: 'vsphere-creds' },
      defaults: { cluster: 'Compute-Cluster', storagePod: 'DatastoreCluster-SSD' },
      runtime: { image: 'ghcr.io/projectbeskar/virtrigaud/provider-vsphere:v0.3.3', service: { port: 9443 } },
    });
    const small = new VMClass(this, 'small', { cpu: 2, memory: '4Gi', firmware: 'UEFI', diskDefaults: { type: 'thin', size: '40Gi' } });
    const large = new VMClass(this, 'large', { cpu: 8, memory: '32Gi', firmware: 'UEFI', performanceProfile: { cpuHotAddEnabled: true } });
    const ubuntu = new VMImage(this, 'ubuntu-22-template', { source: { vsphere: { templateName: 'tmpl-ubuntu-22.04-cloudimg' } } });
    const app = new VMNetworkAttachment(this, 'app-net', { network: { vsphere: { portgroup: 'PG-App-VLAN100' } }, ipAllocation: { type: 'Static' } });

    new VirtualMachineFleet(this, 'web', {
      count: 12,
      namePrefix: 'web',
      template: {
        provider: vsphere,
        vmClass: small,
        image: ubuntu,
        powerState: 'On',
        placement: { cluster: 'Compute-Cluster', folder: '/vm/web', storagePod: 'DatastoreCluster-SSD' },
        networks: [{ name: 'app', attachment: app, prefix: 24, gateway: '10.20.0.1' }],
        lifecycle: { gracefulShutdownTimeout: '120s', preStop: { snapshot: { name: 'pre-shutdown' } } },
        tags: ['tier:web', 'env:prod'],
      },
      staticIps: { network: 'app', start: '10.20.0.11' },
      spread: { datastores: ['ssd-01', 'ssd-02', 'ssd-03'] },
      labels: { tier: 'web' },
    });

    for (const i of [1, 2]) {
      new VirtualMachine(this, `db-${i}`, {
        name: `db-${i}`,
        provider: vsphere,
        vmClass: large,
        image: ubuntu,
        placement: { cluster: 'Compute-Cluster', storagePod: 'DatastoreCluster-SSD', folder: '/vm/db' },
        networks: [{ name: 'app', attachment: app, ipAddress: `10.20.0.${100 + i}`, prefix: 24, gateway: '10.20.0.1' }],
        disks: [{ name: 'data', sizeGiB: 500, type: 'eagerzeroedthick' }],
        labels: { tier: 'db' },
      });
    }
  }
}

if (require.main === module) {
  const app = new App({ outdir: 'examples/out' });
  new VsphereProduction(app, 'vsphere-production');
  app.synth();
}
