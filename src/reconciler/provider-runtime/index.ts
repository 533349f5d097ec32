/** The provider runtime: what the Provider reconciler deploys for each Provider (§14.2 PR-1..PR-6). */
export { renderProviderRuntime, type RuntimeRenderResult, type RefusalReason } from './render';
export { runtimeStatusFrom, type RuntimeStatus } from './status';
export { decideTls, type TlsDecision, type TlsDecisionReason } from './tls';
export { providerEnv, RESERVED_ENV_NAMES, type EnvVar } from './env';
export {
  ALLOWED_VALUE_FROM,
  checkRuntime,
  DEFAULT_RUNTIME_POLICY,
  imageMatches,
  restrictedPodProblems,
  restrictedSecurityContext,
  runtimePolicy,
  UPSTREAM_PROVIDER_IMAGES,
  type RuntimePolicy,
  type RuntimeViolation,
  type ViolationReason,
} from './policy';
export {
  PROVIDER_RUNTIME_FIELD_MANAGER,
  CREDENTIALS_PATH,
  DEFAULT_GRPC_PORT,
  HEALTH_PORT,
  LIBVIRT_RUNTIME_PATH,
  TLS_PATH,
  labelValue,
  runtimeLabels,
  runtimeObjectName,
  selectorLabels,
} from './names';
export { DEFAULT_RESOURCES, DEFAULT_SECURITY_CONTEXT, PROVIDER_UID } from './chart';
