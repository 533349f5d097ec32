import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The package's version from its package.json, found by walking up from this
 * file (src/install/ in a checkout, lib/src/install/ when compiled; importing
 * the JSON instead would make tsc copy package.json into lib/).
 */
function packageVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'virtrigaud' && pkg.version) return pkg.version;
    }
    if (path.dirname(dir) === dir) throw new Error(`no virtrigaud package.json above ${__dirname}`);
  }
}

/** The package version, used as the default image tag and as the Helm chart's version. */
export const PACKAGE_VERSION: string = packageVersion();

/** Image repository of the reconciler. */
export const IMAGE_REPOSITORY = 'ghcr.io/virtrigaud/virtrigaud';

/** Default namespace of the install. */
export const DEFAULT_NAMESPACE = 'virtrigaud-system';

/**
 * Names of the objects the install creates. Fixed, so that `kubectl apply` of a
 * newer install.yaml updates the same objects, and so that RBAC bindings,
 * the Deployment and docs can refer to them.
 */
export const NAMES = {
  serviceAccount: 'virtrigaud-reconciler',
  clusterRole: 'virtrigaud-reconciler',
  clusterRoleBinding: 'virtrigaud-reconciler',
  leaderElectionRole: 'virtrigaud-leader-election',
  leaderElectionRoleBinding: 'virtrigaud-leader-election',
  deployment: 'virtrigaud-reconciler',
  container: 'reconciler',
  metricsService: 'virtrigaud-reconciler-metrics',
  configMap: 'virtrigaud-reconciler-config',
} as const;

/** Where the reconciler reads its configuration (the ConfigMap's `config.yaml`). */
export const CONFIG_MOUNT = '/etc/virtrigaud';
export const CONFIG_FILE = `${CONFIG_MOUNT}/config.yaml`;

/** Labels on every object of the install (CRDs excepted: they come from CrdChart as they are). */
export const COMMON_LABELS: Readonly<Record<string, string>> = {
  'app.kubernetes.io/name': 'virtrigaud',
  'app.kubernetes.io/part-of': 'virtrigaud',
};

/** Labels selecting the reconciler's pods (the Deployment selector and the metrics Service). */
export const RECONCILER_SELECTOR: Readonly<Record<string, string>> = {
  'app.kubernetes.io/name': 'virtrigaud',
  'app.kubernetes.io/component': 'reconciler',
};
