import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { COMMON_LABELS, CONFIG_FILE, CONFIG_MOUNT, NAMES, RECONCILER_SELECTOR } from './names';
import { dropEmptyDefaults } from './patches';

/** Log verbosity of the reconciler (`--log-level`). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
/** Log encoding of the reconciler (`--log-format`). */
export type LogFormat = 'json' | 'text';

/** UID and GID the reconciler runs as: the distroless `nonroot` user. */
export const RECONCILER_UID = 65532;

export interface ReconcilerDeploymentProps {
  readonly namespace: string;
  readonly image: string;
  readonly imagePullPolicy: kplus.ImagePullPolicy;
  readonly replicas: number;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly resources: kplus.ContainerResources;
  readonly metricsPort: number;
  readonly healthPort: number;
  readonly extraArgs: readonly string[];
  readonly serviceAccount: kplus.ServiceAccount;
  /** The operator's ReconcilerConfiguration (YAML), kept in a ConfigMap in the install namespace. */
  readonly config: string;
}

/**
 * The configuration the install ships: deny everything. The operator edits
 * the ConfigMap (or sets InstallChart's `config`) to allow in-process
 * providers, image roots and address ranges; see docs/security.md.
 */
export const DEFAULT_RECONCILER_CONFIG = `apiVersion: config.virtrigaud.io/v1alpha1
kind: ReconcilerConfiguration
# Deny by default: no in-process provider, no local image path, no URL source,
# no hook target but the VM itself. See docs/security.md for every field.
inProcessProviders: []
`;

/** The command line of the reconciler container (after the image's entrypoint, `virtrigaud`). */
export function reconcilerArgs(p: Pick<ReconcilerDeploymentProps, 'metricsPort' | 'healthPort' | 'logLevel' | 'logFormat' | 'extraArgs'>): string[] {
  return [
    'run',
    '--leader-elect',
    `--config=${CONFIG_FILE}`,
    `--metrics-bind-address=:${p.metricsPort}`,
    `--health-probe-bind-address=:${p.healthPort}`,
    `--log-level=${p.logLevel}`,
    `--log-format=${p.logFormat}`,
    ...p.extraArgs,
  ];
}

/**
 * The reconciler: a Deployment of `virtrigaud run` with leader election,
 * hardened to the Pod Security "restricted" profile, and a Service for its
 * metrics.
 */
export class ReconcilerDeployment extends Construct {
  readonly deployment: kplus.Deployment;
  readonly container: kplus.Container;
  readonly metricsService: kplus.Service;
  readonly config: kplus.ConfigMap;

  constructor(scope: Construct, id: string, props: ReconcilerDeploymentProps) {
    super(scope, id);
    const labels = { ...COMMON_LABELS, ...RECONCILER_SELECTOR };

    this.deployment = new kplus.Deployment(this, 'Deployment', {
      metadata: { name: NAMES.deployment, namespace: props.namespace, labels },
      replicas: props.replicas,
      // cdk8s-plus would select on a generated `cdk8s.io/metadata.addr` label; select on stable,
      // human-readable labels instead (the Service below uses the same ones).
      select: false,
      podMetadata: { labels },
      serviceAccount: props.serviceAccount,
      // The reconciler talks to the API server with its ServiceAccount token (cdk8s-plus defaults to no token).
      automountServiceAccountToken: true,
      securityContext: { ensureNonRoot: true, user: RECONCILER_UID, group: RECONCILER_UID },
      terminationGracePeriod: Duration.seconds(10),
      containers: [],
    });
    this.deployment.select(kplus.LabelSelector.of({ labels: { ...RECONCILER_SELECTOR } }));
    // cdk8s-plus always labels the pod template with its construct address (for its own selectors, unused
    // here) and has no option to leave it out; drop it so the pods carry only our labels.
    ApiObject.of(this.deployment).addJsonPatch(JsonPatch.remove('/spec/template/metadata/labels/cdk8s.io~1metadata.addr'));
    dropEmptyDefaults(this.deployment, '/spec/minReadySeconds', '/spec/template/spec/hostNetwork');

    const tmp = kplus.Volume.fromEmptyDir(this, 'Tmp', 'tmp', { sizeLimit: Size.mebibytes(64) });
    this.container = this.deployment.addContainer({
      name: NAMES.container,
      image: props.image,
      imagePullPolicy: props.imagePullPolicy,
      args: reconcilerArgs(props),
      ports: [
        { name: 'metrics', number: props.metricsPort, protocol: kplus.Protocol.TCP },
        { name: 'health', number: props.healthPort, protocol: kplus.Protocol.TCP },
      ],
      envVariables: {
        // Leader election keeps its Lease in the pod's own namespace; the pod name is the leader's identity.
        POD_NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
        POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
      },
      liveness: kplus.Probe.fromHttpGet('/healthz', {
        port: props.healthPort,
        initialDelaySeconds: Duration.seconds(15),
        periodSeconds: Duration.seconds(20),
      }),
      readiness: kplus.Probe.fromHttpGet('/readyz', {
        port: props.healthPort,
        initialDelaySeconds: Duration.seconds(5),
        periodSeconds: Duration.seconds(10),
      }),
      resources: props.resources,
      securityContext: {
        ensureNonRoot: true,
        user: RECONCILER_UID,
        group: RECONCILER_UID,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        privileged: false,
        capabilities: { drop: [kplus.Capability.ALL] },
        seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
      },
    });
    // The root filesystem is read-only; /tmp is the one writable place (scratch files, Node's os.tmpdir()).
    this.container.mount('/tmp', tmp);
    // The operator's configuration, from the install namespace only: nothing a tenant can write.
    this.config = new kplus.ConfigMap(this, 'Config', {
      metadata: { name: NAMES.configMap, namespace: props.namespace, labels },
      data: { 'config.yaml': props.config },
    });
    dropEmptyDefaults(this.config, '/immutable');
    // The ConfigMap before the Deployment that mounts it.
    this.deployment.node.addDependency(this.config);
    this.container.mount(CONFIG_MOUNT, kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.config, { name: 'config' }), { readOnly: true });

    this.metricsService = new kplus.Service(this, 'MetricsService', {
      metadata: { name: NAMES.metricsService, namespace: props.namespace, labels },
      type: kplus.ServiceType.CLUSTER_IP,
      selector: kplus.Pods.select(this, 'Pods', { labels: { ...RECONCILER_SELECTOR } }),
      ports: [{ name: 'metrics', port: props.metricsPort, targetPort: props.metricsPort, protocol: kplus.Protocol.TCP }],
    });
    dropEmptyDefaults(this.metricsService, '/spec/externalIPs');
  }
}
