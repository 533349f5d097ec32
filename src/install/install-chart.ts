import { Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ALL_KINDS } from '../api/v1beta1';
import { KindDefinition } from '../schema';
import { CrdChart } from '../synth/crd-chart';
import { COMMON_LABELS, DEFAULT_NAMESPACE, IMAGE_REPOSITORY, NAMES, PACKAGE_VERSION } from './names';
import { ReconcilerRbac } from './rbac';
import { DEFAULT_RECONCILER_CONFIG, LogFormat, LogLevel, ReconcilerDeployment } from './reconciler';

/** The default image: the package version's release. */
export const DEFAULT_IMAGE = `${IMAGE_REPOSITORY}:${PACKAGE_VERSION}`;

/** The reconciler's default requests and limits. */
export const DEFAULT_RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(500) },
  memory: { request: Size.mebibytes(128), limit: Size.mebibytes(512) },
};

/**
 * Properties for `InstallChart`.
 */
export interface InstallChartProps {
  /**
   * Namespace of the reconciler (Deployment, ServiceAccount, leader-election
   * Role, metrics Service). The chart creates it.
   *
   * @default 'virtrigaud-system'
   */
  readonly namespace?: string;

  /**
   * Whether the chart creates the Namespace object. Set to false when the
   * namespace is managed elsewhere.
   *
   * @default true
   */
  readonly createNamespace?: boolean;

  /**
   * Container image of the reconciler.
   *
   * @default 'ghcr.io/virtrigaud/virtrigaud:<package.json version>'
   */
  readonly image?: string;

  /**
   * Pull policy of the reconciler image.
   *
   * @default kplus.ImagePullPolicy.IF_NOT_PRESENT
   */
  readonly imagePullPolicy?: kplus.ImagePullPolicy;

  /**
   * Number of reconciler replicas. One is the leader (leader election through
   * a Lease); the others wait on standby and take over within seconds.
   *
   * @default 2
   */
  readonly replicas?: number;

  /**
   * Log verbosity (`--log-level`).
   *
   * @default 'info'
   */
  readonly logLevel?: LogLevel;

  /**
   * Log encoding (`--log-format`).
   *
   * @default 'json'
   */
  readonly logFormat?: LogFormat;

  /**
   * CPU and memory requests and limits of the reconciler container.
   *
   * @default - requests 100m CPU and 128Mi memory, limits 500m CPU and 512Mi memory
   */
  readonly resources?: kplus.ContainerResources;

  /**
   * Port of the Prometheus metrics endpoint (`--metrics-bind-address`), also
   * the port of the metrics Service.
   *
   * @default 8080
   */
  readonly metricsPort?: number;

  /**
   * Port of the /healthz and /readyz probes (`--health-probe-bind-address`).
   *
   * @default 8081
   */
  readonly healthPort?: number;

  /**
   * Extra arguments appended to the reconciler's command line.
   *
   * @default []
   */
  readonly extraArgs?: string[];

  /**
   * The reconciler's ReconcilerConfiguration (YAML), stored in the ConfigMap
   * `virtrigaud-reconciler-config` of the install namespace and read with
   * `--config`. It decides which in-process providers exist and what they
   * may touch on the host (docs/security.md).
   *
   * @default - deny everything (DEFAULT_RECONCILER_CONFIG)
   */
  readonly config?: string;

  /**
   * The kinds whose CRDs the chart installs and which the reconciler may
   * manage (RBAC).
   *
   * @default - all ten kinds of infra.virtrigaud.io/v1beta1
   */
  readonly kinds?: readonly KindDefinition[];
}

/**
 * Everything needed to run virtrigaud in a cluster: the CRDs, a Namespace, the
 * reconciler's ServiceAccount with least-privilege RBAC, the reconciler
 * Deployment and its metrics Service.
 *
 * The CRDs are a nested `CrdChart` (so `chart.toJson()` holds the rest and
 * `chart.crds.toJson()` the CRDs); the app synthesizes the CRDs first, and
 * the Namespace before the objects in it, the order `kubectl apply` needs.
 */
export class InstallChart extends Chart {
  /** The CRDs (a nested chart). */
  readonly crds: CrdChart;
  /** The Namespace, unless `createNamespace` is false. */
  readonly namespaceObject?: kplus.Namespace;
  /** The reconciler's ServiceAccount. */
  readonly serviceAccount: kplus.ServiceAccount;
  /** ClusterRole, Role and their bindings. */
  readonly rbac: ReconcilerRbac;
  /** The Deployment and metrics Service. */
  readonly reconciler: ReconcilerDeployment;
  /** The namespace everything namespaced is installed in. */
  readonly installNamespace: string;

  constructor(scope: Construct, id: string, props: InstallChartProps = {}) {
    super(scope, id, { disableResourceNameHashes: true });
    const kinds = props.kinds ?? ALL_KINDS;
    const namespace = props.namespace ?? DEFAULT_NAMESPACE;
    this.installNamespace = namespace;

    this.crds = new CrdChart(this, 'crds', { kinds });

    if (props.createNamespace ?? true) {
      this.namespaceObject = new kplus.Namespace(this, 'Namespace', {
        metadata: {
          name: namespace,
          labels: {
            ...COMMON_LABELS,
            // The reconciler's pod meets the "restricted" Pod Security Standard; hold the namespace to it.
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/warn': 'restricted',
            'pod-security.kubernetes.io/audit': 'restricted',
          },
        },
      });
    }

    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: { name: NAMES.serviceAccount, namespace, labels: { ...COMMON_LABELS } },
      // The token is mounted by the pod spec (automountServiceAccountToken on the Deployment), not by default
      // for every pod that might use this account.
      automountToken: false,
    });

    this.rbac = new ReconcilerRbac(this, 'Rbac', { kinds, namespace, serviceAccount: this.serviceAccount });

    this.reconciler = new ReconcilerDeployment(this, 'Reconciler', {
      namespace,
      image: props.image ?? DEFAULT_IMAGE,
      imagePullPolicy: props.imagePullPolicy ?? kplus.ImagePullPolicy.IF_NOT_PRESENT,
      replicas: props.replicas ?? 2,
      logLevel: props.logLevel ?? 'info',
      logFormat: props.logFormat ?? 'json',
      resources: props.resources ?? DEFAULT_RESOURCES,
      metricsPort: props.metricsPort ?? 8080,
      healthPort: props.healthPort ?? 8081,
      extraArgs: props.extraArgs ?? [],
      serviceAccount: this.serviceAccount,
      config: props.config ?? DEFAULT_RECONCILER_CONFIG,
    });

    // Namespaced objects after their Namespace: cdk8s orders the synthesized objects by these dependencies.
    if (this.namespaceObject) {
      for (const c of [this.serviceAccount, this.rbac, this.reconciler]) c.node.addDependency(this.namespaceObject);
    }
  }

}
