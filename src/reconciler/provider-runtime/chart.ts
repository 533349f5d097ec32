import { ApiObject, Chart, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { Provider } from '../../generated/provider';
import type { EnvVar } from './env';
import { restrictedSecurityContext } from './policy';
import { CONTAINER_NAME, CREDENTIALS_PATH, HEALTH_PORT, LIBVIRT_RUNTIME_PATH, TLS_PATH, VOLUMES, runtimeLabels, selectorLabels } from './names';

type Runtime = NonNullable<Provider['spec']>['runtime'];

/** UID of the default security context: the distroless `nonroot` user. */
export const PROVIDER_UID = 65532;

/** Container resources when `spec.runtime.resources` is not set (PR-4). */
export const DEFAULT_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.units(1) },
  memory: { request: Size.mebibytes(128), limit: Size.mebibytes(512) },
};

/**
 * Container security context when `spec.runtime.securityContext` is not set
 * (PR-4), as JSON. It meets the restricted Pod Security Standard on its own;
 * a spec's context goes through {@link restrictedSecurityContext} instead.
 */
export const DEFAULT_SECURITY_CONTEXT = {
  runAsNonRoot: true,
  runAsUser: PROVIDER_UID,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

export interface ProviderRuntimeChartProps {
  readonly provider: Provider;
  readonly namespace: string;
  /** Name of the Deployment, Service and ServiceAccount. */
  readonly objectName: string;
  readonly port: number;
  /** Secret mounted at /etc/virtrigaud/tls; none on the plaintext path. */
  readonly tlsSecretName?: string;
}

/**
 * ServiceAccount, Service and Deployment of one Provider's runtime (§14.2
 * PR-5), in that order. What cdk8s-plus adds on its own is removed with JSON
 * patches; the spec's pass-through core/v1 structures are added afterwards by
 * {@link applyRuntimeSpec}.
 */
export class ProviderRuntimeChart extends Chart {
  readonly serviceAccount: kplus.ServiceAccount;
  readonly service: kplus.Service;
  readonly deployment: kplus.Deployment;

  constructor(scope: Construct, id: string, props: ProviderRuntimeChartProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const { provider, namespace, objectName: name, port } = props;
    const spec = provider.spec!;
    const runtime: Runtime = spec.runtime;
    const labels = runtimeLabels(provider.metadata!.name!, spec.type);
    const selector = selectorLabels(provider.metadata!.name!);
    const metadata = { name, namespace, labels };

    // The provider talks to its hypervisor only, never to the API server: no token anywhere.
    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata, automountToken: false });

    this.service = new kplus.Service(this, 'Service', {
      metadata,
      type: kplus.ServiceType.CLUSTER_IP,
      selector: kplus.Pods.select(this, 'Pods', { labels: selector }),
      ports: [
        { name: 'grpc', port, targetPort: port, protocol: kplus.Protocol.TCP },
        { name: 'metrics', port: HEALTH_PORT, targetPort: HEALTH_PORT, protocol: kplus.Protocol.TCP },
      ],
    });

    this.deployment = new kplus.Deployment(this, 'Deployment', {
      metadata,
      replicas: runtime.replicas || 1,
      select: false,
      podMetadata: { labels },
      serviceAccount: this.serviceAccount,
      automountServiceAccountToken: false,
      terminationGracePeriod: Duration.seconds(30),
      containers: [],
    });
    this.deployment.select(kplus.LabelSelector.of({ labels: selector }));

    const container = this.deployment.addContainer({
      name: CONTAINER_NAME,
      image: runtime.image,
      imagePullPolicy: (runtime.imagePullPolicy || 'IfNotPresent') as kplus.ImagePullPolicy,
      args: [`--port=${port}`, `--health-port=${HEALTH_PORT}`],
      ports: [
        { name: 'grpc', number: port, protocol: kplus.Protocol.TCP },
        { name: 'metrics', number: HEALTH_PORT, protocol: kplus.Protocol.TCP },
      ],
      // spec.runtime.livenessProbe/readinessProbe are inert upstream: the probes are fixed.
      liveness: kplus.Probe.fromHttpGet('/healthz', { port: HEALTH_PORT, initialDelaySeconds: Duration.seconds(15), periodSeconds: Duration.seconds(20) }),
      readiness: kplus.Probe.fromHttpGet('/healthz', { port: HEALTH_PORT, initialDelaySeconds: Duration.seconds(5), periodSeconds: Duration.seconds(10) }),
      // Lets endpoints drop the pod before the gRPC server stops.
      lifecycle: { preStop: kplus.Handler.fromCommand(['sleep', '15']) },
      resources: DEFAULT_RESOURCES,
    });

    const credentials = kplus.Secret.fromSecretName(this, 'Credentials', spec.credentialSecretRef.name);
    container.mount(CREDENTIALS_PATH, kplus.Volume.fromSecret(this, 'CredentialsVolume', credentials, { name: VOLUMES.credentials }), { readOnly: true });
    if (props.tlsSecretName) {
      const tls = kplus.Secret.fromSecretName(this, 'Tls', props.tlsSecretName);
      container.mount(TLS_PATH, kplus.Volume.fromSecret(this, 'TlsVolume', tls, { name: VOLUMES.tls }), { readOnly: true });
    }
    container.mount('/tmp', kplus.Volume.fromEmptyDir(this, 'Tmp', VOLUMES.tmp));
    if (spec.type === 'libvirt') {
      // libvirt client sockets and state: small and in memory.
      const vol = kplus.Volume.fromEmptyDir(this, 'Libvirt', VOLUMES.libvirt, { medium: kplus.EmptyDirMedium.MEMORY, sizeLimit: Size.mebibytes(4) });
      container.mount(LIBVIRT_RUNTIME_PATH, vol);
    }

    this.patchDeployment(ApiObject.of(this.deployment));
    // cdk8s-plus writes `externalIPs: []`; the API server drops it (omitempty).
    ApiObject.of(this.service).addJsonPatch(JsonPatch.remove('/spec/externalIPs'));

    const owner = {
      apiVersion: provider.apiVersion,
      kind: provider.kind,
      name: provider.metadata!.name!,
      uid: provider.metadata!.uid!,
      controller: true,
      blockOwnerDeletion: true,
    };
    for (const c of [this.serviceAccount, this.service, this.deployment]) ApiObject.of(c).metadata.addOwnerReference(owner);
  }

  /** Leaves out what cdk8s-plus adds on its own. */
  private patchDeployment(obj: ApiObject): void {
    // Patches apply before cdk8s-plus converts its property names to Kubernetes JSON, hence `setHostnameAsFqdn`.
    obj.addJsonPatch(
      // cdk8s-plus' construct-address label (for its own selectors, unused here) and API defaults it
      // spells out; leaving them out keeps our field ownership to what we mean.
      JsonPatch.remove('/spec/template/metadata/labels/cdk8s.io~1metadata.addr'),
      JsonPatch.remove('/spec/minReadySeconds'),
      JsonPatch.remove('/spec/progressDeadlineSeconds'),
      JsonPatch.remove('/spec/strategy'),
      JsonPatch.remove('/spec/template/spec/dnsPolicy'),
      JsonPatch.remove('/spec/template/spec/hostNetwork'),
      JsonPatch.remove('/spec/template/spec/restartPolicy'),
      JsonPatch.remove('/spec/template/spec/setHostnameAsFqdn'),
      // The container context carries everything the restricted standard asks for; a pod-level
      // context from cdk8s-plus would only be a second place to read (upstream sets none).
      JsonPatch.remove('/spec/template/spec/securityContext'),
    );
  }
}

/**
 * Copies the core/v1 structures of the Provider spec into the synthesized
 * Deployment JSON: env, the container security context (the default, or the
 * spec's with the restricted standard's requirements set), resources when set
 * (wholesale), node selector, tolerations and affinity. The spec must have
 * passed {@link checkRuntime} under the policy in force.
 *
 * Done on the final JSON rather than with cdk8s JSON patches because those
 * apply before cdk8s-plus' conversion to Kubernetes JSON, which knows only
 * Kubernetes 1.28 fields and would silently drop newer ones the CRD accepts
 * (e.g. securityContext.appArmorProfile, podAffinityTerm.matchLabelKeys).
 */
export function applyRuntimeSpec(deployment: Record<string, any>, runtime: Runtime, env: readonly EnvVar[]): void {
  const podSpec = deployment.spec.template.spec;
  const container = podSpec.containers[0];
  container.env = structuredClone(env);
  container.securityContext = runtime.securityContext ? restrictedSecurityContext(runtime.securityContext) : structuredClone(DEFAULT_SECURITY_CONTEXT);
  if (runtime.resources) container.resources = structuredClone(runtime.resources);
  if (runtime.nodeSelector) podSpec.nodeSelector = structuredClone(runtime.nodeSelector);
  if (runtime.tolerations) podSpec.tolerations = structuredClone(runtime.tolerations);
  if (runtime.affinity) podSpec.affinity = structuredClone(runtime.affinity);
  // Same key order as cdk8s' own output (sorted), so the JSON reads the same either way.
  podSpec.containers[0] = sortKeys(container);
  deployment.spec.template.spec = sortKeys(podSpec);
}

function sortKeys(o: Record<string, any>): Record<string, any> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
