import { App } from 'cdk8s';
import type { Provider } from '../../generated/provider';
import { applyRuntimeSpec, ProviderRuntimeChart } from './chart';
import { providerEnv } from './env';
import { DEFAULT_GRPC_PORT, HEALTH_PORT, runtimeObjectName, unshortenedRuntimeName } from './names';
import { checkRuntime, DEFAULT_RUNTIME_POLICY, restrictedPodProblems, violationMessage, violationReason, type RuntimePolicy, type RuntimeViolation, type ViolationReason } from './policy';
import { decideTls, type TlsDecisionReason } from './tls';

/** Why nothing may be deployed (the ProviderRuntimeReady=False reason, §7.4); the policy's reasons last. */
export type RefusalReason = 'MissingRuntime' | 'InvalidConfiguration' | 'TLSNotConfigured' | ViolationReason;

export interface RuntimeRenderResult {
  /** ServiceAccount, Service, Deployment, in apply order; [] when refused. */
  objects: Record<string, any>[];
  /** The TLSConfigured decision (PR-2). */
  tls: { decision: TlsDecisionReason; message: string };
  /** `<service>.<namespace>.svc.cluster.local:<port>` (PR-6). */
  endpoint: string;
  serviceName: string;
  refused?: { reason: RefusalReason; message: string };
  /** What the runtime policy refused, field by field (empty unless `refused` is the policy's). */
  violations: RuntimeViolation[];
}

/** Why the spec cannot be deployed regardless of TLS (PR-1 and what the API server would reject). */
function configurationProblem(provider: Provider, port: number): { reason: RefusalReason; message: string } | undefined {
  const runtime = provider.spec?.runtime;
  if (!runtime) return { reason: 'MissingRuntime', message: 'spec.runtime is not set; there is no provider runtime to deploy' };
  if (!runtime.image) return { reason: 'InvalidConfiguration', message: 'spec.runtime.image is empty' };
  if (!provider.spec!.credentialSecretRef?.name) return { reason: 'InvalidConfiguration', message: 'spec.credentialSecretRef.name is empty' };
  if (!provider.spec!.type) return { reason: 'InvalidConfiguration', message: 'spec.type is empty' };
  // Two container ports (and Service ports) 8080/TCP would be rejected.
  if (port === HEALTH_PORT) return { reason: 'InvalidConfiguration', message: `spec.runtime.service.port ${port} is the provider's health/metrics port` };
  return undefined;
}

/**
 * The objects that run a Provider's runtime (§14.2 PR-1..PR-5): its own
 * ServiceAccount, a ClusterIP Service and a Deployment, all owned by the
 * Provider and in its namespace. Pure: rendered in memory with cdk8s-plus, the
 * same Provider always gives byte-identical JSON. When the Provider is
 * refused (no runtime, no image, no TLS decision, mTLS without a Secret, or
 * anything `policy` does not allow, see {@link checkRuntime}), `objects` is
 * empty and `refused` says why. The checks run in that order, so a Provider
 * without a TLS decision reads TLSNotConfigured whatever its image. The
 * rendered pod template is checked against the restricted Pod Security
 * Standard before it is returned ({@link restrictedPodProblems}).
 *
 * @throws TypeError when metadata.name, namespace or uid is missing (a
 *   Provider read from the API server always has them; owner references need the uid)
 */
/**
 * Where the runtime of a Provider answers: its Service in its own namespace,
 * derived from the Provider's name and spec alone. The reconciler dials
 * this, never `status.runtime.endpoint`, which whoever may write the status
 * could point anywhere.
 */
export function runtimeEndpoint(provider: Provider): string {
  const { name = '', namespace = '' } = provider.metadata ?? {};
  const port = provider.spec?.runtime?.service?.port || DEFAULT_GRPC_PORT;
  return `${runtimeObjectName(namespace, name)}.${namespace}.svc.cluster.local:${port}`;
}

export function renderProviderRuntime(provider: Provider, policy: RuntimePolicy = DEFAULT_RUNTIME_POLICY): RuntimeRenderResult {
  const p = structuredClone(provider);
  const { name, namespace, uid } = p.metadata ?? {};
  if (!name || !namespace || !uid) throw new TypeError('renderProviderRuntime: the Provider needs metadata.name, metadata.namespace and metadata.uid');

  const serviceName = runtimeObjectName(namespace, name);
  const port = p.spec?.runtime?.service?.port || DEFAULT_GRPC_PORT;
  const host = `${serviceName}.${namespace}.svc.cluster.local`;
  const decided = decideTls(p, host);
  // Certificates are issued for the server name, so say when it is not the upstream one.
  const full = unshortenedRuntimeName(namespace, name);
  const note = serviceName === full ? '' : ` (name shortened from ${full}: not a valid Service name)`;
  const result = { tls: { decision: decided.decision, message: decided.message + note }, endpoint: `${host}:${port}`, serviceName, violations: [] };

  const problem = configurationProblem(p, port);
  if (problem) return { ...result, objects: [], refused: problem };
  if (decided.decision === 'TLSBlockMissing' || decided.decision === 'SecretRefMissing') {
    return { ...result, objects: [], refused: { reason: 'TLSNotConfigured', message: decided.message } };
  }
  const violations = checkRuntime(p.spec!.runtime, policy);
  if (violations.length) return { ...result, objects: [], violations, refused: { reason: violationReason(violations), message: violationMessage(violations) } };

  const chart = new ProviderRuntimeChart(new App(), 'provider-runtime', {
    provider: p,
    namespace,
    objectName: serviceName,
    port,
    tlsSecretName: decided.secretName,
  });
  const objects = chart.toJson();
  const env = providerEnv(p, namespace, name, decided.decision === 'ExplicitlyDisabled');
  const deployment = objects.find((o) => o.kind === 'Deployment');
  applyRuntimeSpec(deployment, p.spec!.runtime, env);
  // Not reachable from any spec checkRuntime accepts; here so that a rendering change cannot weaken the pod unnoticed.
  const weaker = restrictedPodProblems(deployment.spec.template.spec).map((v) => ({ field: `Deployment ${serviceName}: spec.template.spec.${v.field}`, message: v.message, reason: 'PodSecurityViolation' as const }));
  if (weaker.length) return { ...result, objects: [], violations: weaker, refused: { reason: 'PodSecurityViolation', message: violationMessage(weaker) } };
  return { ...result, objects };
}
