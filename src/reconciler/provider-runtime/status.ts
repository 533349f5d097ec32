import type { RuntimeRenderResult } from './render';

export interface RuntimeStatus {
  phase: 'Pending' | 'Running' | 'Failed';
  message: string;
  readyReplicas: number;
  availableReplicas: number;
}

/**
 * `status.runtime` phase from the live Deployment (PR-6): Running once at
 * least one replica is ready, Failed when the runtime was refused, Pending
 * otherwise (not created yet, or no ready pod).
 */
export function runtimeStatusFrom(deployment: any | undefined, rendered: RuntimeRenderResult): RuntimeStatus {
  const readyReplicas = Number(deployment?.status?.readyReplicas ?? 0);
  const availableReplicas = Number(deployment?.status?.availableReplicas ?? 0);
  if (rendered.refused) return { phase: 'Failed', message: `${rendered.refused.reason}: ${rendered.refused.message}`, readyReplicas, availableReplicas };

  const renderedDeployment = rendered.objects.find((o) => o.kind === 'Deployment');
  const desired = Number(deployment?.spec?.replicas ?? renderedDeployment?.spec?.replicas ?? 1);
  const counts = `${readyReplicas}/${desired} replicas ready`;
  if (!deployment) return { phase: 'Pending', message: `Deployment ${rendered.serviceName} not found yet (${counts})`, readyReplicas, availableReplicas };
  if (readyReplicas >= 1) return { phase: 'Running', message: `${counts}; endpoint ${rendered.endpoint}`, readyReplicas, availableReplicas };
  return { phase: 'Pending', message: counts, readyReplicas, availableReplicas };
}
