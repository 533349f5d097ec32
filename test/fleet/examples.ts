/** The example apps, and how tests synthesize them. */
import { Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { VsphereProduction } from '../../examples/vsphere-production';
import { LibvirtLab } from '../../examples/libvirt-lab';
import { ProxmoxEdge } from '../../examples/proxmox-edge';

export const EXAMPLES: [string, new (scope: Construct, id: string) => Chart][] = [
  ['vsphere-production', VsphereProduction],
  ['libvirt-lab', LibvirtLab],
  ['proxmox-edge', ProxmoxEdge],
];

/** The manifests an example synthesizes (validations included). */
export function synthExample(make: new (scope: Construct, id: string) => Chart, id: string): Record<string, any>[] {
  const app = Testing.app();
  const chart = new make(app, id);
  app.synth(); // runs every construct's validation
  return chart.toJson();
}

