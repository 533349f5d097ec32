/** The virtrigaud install: CRDs, RBAC and the reconciler as a cdk8s chart, dist/install.yaml and a Helm chart. */
export { InstallChart, DEFAULT_IMAGE, DEFAULT_RESOURCES, type InstallChartProps } from './install-chart';
export { ReconcilerRbac, clusterRules, leaderElectionRules, type RbacRule, type ReconcilerRbacProps } from './rbac';
export { ReconcilerDeployment, reconcilerArgs, DEFAULT_RECONCILER_CONFIG, RECONCILER_UID, type LogFormat, type LogLevel, type ReconcilerDeploymentProps } from './reconciler';
export { COMMON_LABELS, CONFIG_FILE, DEFAULT_NAMESPACE, IMAGE_REPOSITORY, NAMES, PACKAGE_VERSION, RECONCILER_SELECTOR } from './names';
export { renderHelmChart, HELM_CHART_DIR } from './helm';
export { renderInstallFiles, installManifests, INSTALL_YAML } from './render';
