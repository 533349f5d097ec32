/**
 * A libvirt lab on one KVM host: a Provider on qemu+ssh, two classes, a
 * cloud image imported into a storage pool, an isolated network, six
 * student VMs with cloud-init, and a nightly-ish snapshot of the jump host.
 */
import { App, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { Provider, VMClass, VMImage, VMNetworkAttachment, VirtualMachine, VirtualMachineFleet, VMSnapshot } from '../src/fleet';

export class LibvirtLab extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'lab' });
    const kvm = new Provider(this, 'kvm', {
      name: 'kvm-lab',
      type: 'libvirt',
      endpoint: 'qemu+ssh://virt@kvm-01.lab.example.com/system',
      credentialSecretRef: { name: 'kvm-ssh' },
      runtime: { image: 'ghcr.io/projectbeskar/virtrigaud/provider-libvirt:v0.3.3' },
    });
    const student = new VMClass(this, 'student', { cpu: 2, memory: '2Gi', diskDefaults: { size: '20Gi' } });
    const jump = new VMClass(this, 'jump', { cpu: 1, memory: '1Gi' });
    const debian = new VMImage(this, 'debian-12', {
      source: { libvirt: { url: 'https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-generic-amd64.qcow2', format: 'qcow2', storagePool: 'default' } },
      prepare: { onMissing: 'Import', validateChecksum: true },
    });
    const labnet = new VMNetworkAttachment(this, 'labnet', { network: { libvirt: { networkName: 'lab-isolated', model: 'virtio' } }, ipAllocation: { type: 'DHCP' } });

    const jumpHost = new VirtualMachine(this, 'jumphost', {
      name: 'jumphost',
      provider: kvm,
      vmClass: jump,
      image: debian,
      networks: [{ name: 'lab', attachment: labnet }],
      userData: { cloudInit: { secretRef: { name: 'jumphost-cloud-init' } } },
    });
    new VMSnapshot(this, 'jumphost-baseline', { name: 'jumphost-baseline', vm: jumpHost, snapshotConfig: { includeMemory: false, description: 'clean jump host' } });

    new VirtualMachineFleet(this, 'students', {
      count: 6,
      name: (i) => `student-${i + 1}`,
      template: {
        provider: kvm,
        vmClass: student,
        image: debian,
        networks: [{ name: 'lab', attachment: labnet }],
        userData: { cloudInit: { inline: '#cloud-config\npackage_update: true\n' } },
        disks: [{ name: 'scratch', sizeGiB: 10 }],
      },
      overrides: (i) => (i === 0 ? { powerState: 'Off' } : {}),
    });
  }
}

if (require.main === module) {
  const app = new App({ outdir: 'examples/out' });
  new LibvirtLab(app, 'libvirt-lab');
  app.synth();
}
