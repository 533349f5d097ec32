/**
 * Test control plane (etcd + kube-apiserver) for virtrigaud's tests; see
 * docs/control-plane.md.
 */
export {
  ADMIN_GROUPS,
  ADMIN_USER,
  DEFAULT_CRDS_PATH,
  attachControlPlane,
  defaultCrdPaths,
  startControlPlane,
  type ControlPlane,
  type ControlPlaneOptions,
  type ControlPlaneState,
  type KubectlOptions,
  type KubectlResult,
  type ServiceAccountKubeconfigOptions,
  type UserIdentity,
  type UserKubeconfig,
} from './control-plane';
export { CrdInstallError, readCrdFiles, installCrds, type CrdDocument, type CrdFailure, type InstallCrdsOptions, type RawCrd, type RawCrdVersion } from './crds';
export { REPO_ROOT, findKubeBinaries, kubeBinsCacheDir, pinnedVersions, MissingKubeBinariesError, type KubeBinaries, type PinnedVersions } from './binaries';
export { useControlPlane, STATE_ENV, type UseControlPlaneOptions, type TeardownHost } from './shared';
export { rawRequest, type RawRequest, type RawResponse } from './raw-request';
