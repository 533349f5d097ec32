/** What "converged" means in the reconciler benchmark, and the status the minimal loop writes. */

/** status.phase Running and condition Ready=True: the bench's finish line for one VM. */
export function isConverged(vm: any): boolean {
  return vm?.status?.phase === 'Running' && !!vm.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
}

/**
 * The final status the operator writes for a VM of the in-memory provider:
 * the same fields and about the same size (~780 bytes), so the minimal
 * loop's one write costs the API server what the operator's last one costs.
 */
export function finalStatus(vm: any): Record<string, unknown> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const generation = vm.metadata?.generation;
  const name = vm.metadata?.name as string;
  const id = `mem-${name}`;
  return {
    conditions: [
      { type: 'Provisioning', status: 'False', reason: 'ReconcileSuccess', message: `created on Provider ${vm.metadata?.namespace}/lab as ${id}`, observedGeneration: generation, lastTransitionTime: now },
      { type: 'Ready', status: 'True', reason: 'ReconcileSuccess', message: 'Running; power state On', observedGeneration: generation, lastTransitionTime: now },
    ],
    consoleURL: `memory://${id}/console`,
    currentResources: { cpu: 2, memoryMiB: 4096 },
    id,
    ips: ['198.51.100.2'],
    observedGeneration: generation,
    phase: 'Running',
    powerState: 'On',
    provider: { bootCount: '1', cpu: '2', hardwareVersion: '19', id, image: '/var/lib/libvirt/images/ubuntu.qcow2', memoryMiB: '4096', name, snapshots: '0' },
  };
}
