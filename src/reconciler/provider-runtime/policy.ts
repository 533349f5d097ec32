/**
 * What a Provider may ask of the pod the reconciler runs for it.
 *
 * The reconciler creates provider Deployments with its own, cluster-wide
 * permissions, on behalf of whoever can write a Provider. A tenant whose Role
 * allows only virtrigaud.io objects (and Secrets) in its namespace must not
 * get through a Provider a pod it could not create itself. So:
 *
 * - the pod always meets the "restricted" Pod Security Standard, whatever the
 *   spec says; a spec that asks for more (privileged, root, added
 *   capabilities, an unconfined profile, ...) is refused, not silently
 *   corrected, so that the owner sees why (reason `PodSecurityViolation`);
 * - the image must come from a prefix the operator allows (`ImageNotAllowed`);
 * - placement (tolerations, nodeSelector, affinity) is the operator's to
 *   grant (`SchedulingNotAllowed`): a toleration for control-plane taints
 *   would otherwise put a tenant's pod next to etcd;
 * - the variables the reconciler sets cannot be redefined, and env values
 *   come only from the pod's own namespace (`EnvNotAllowed`).
 *
 * Everything here is pure; the Provider reconciler turns a non-empty result
 * into `ProviderRuntimeReady=False` and applies nothing.
 */
import type { Provider } from '../../generated/provider';
import { RESERVED_ENV_NAMES } from './env';

type Runtime = NonNullable<Provider['spec']>['runtime'];
/** core/v1 SecurityContext (container level) as the Provider spec carries it. */
export type ContainerSecurityContext = NonNullable<Runtime['securityContext']>;

/** The hypervisor families of `spec.type`. */
export const PROVIDER_TYPES = ['vsphere', 'libvirt', 'firecracker', 'qemu', 'proxmox'] as const;

/**
 * Repository of the upstream provider image of each type, as the examples and
 * the docs render them (`<repository>:<tag>`).
 */
export const UPSTREAM_PROVIDER_IMAGES: Readonly<Record<(typeof PROVIDER_TYPES)[number], string>> = Object.freeze(
  Object.fromEntries(PROVIDER_TYPES.map((t) => [t, `ghcr.io/projectbeskar/virtrigaud/provider-${t}`])) as Record<(typeof PROVIDER_TYPES)[number], string>,
);

/** The operator's rules for provider runtime pods. */
export interface RuntimePolicy {
  /**
   * Image reference prefixes `spec.runtime.image` may start with. A prefix
   * ending in `/`, `:` or `@` matches anything after it; any other prefix
   * matches a whole repository name: the image must equal it or go on with
   * `:` (tag), `@` (digest) or `/` (a repository below it). So
   * `ghcr.io/acme/provider` allows `ghcr.io/acme/provider:v1` but not
   * `ghcr.io/acme/provider-evil:v1`. An empty list allows no image, so no
   * remote Provider can run.
   *
   * @default the upstream image of every provider type ({@link UPSTREAM_PROVIDER_IMAGES})
   */
  readonly allowedImages: readonly string[];
  /**
   * Whether `spec.runtime.tolerations`, `nodeSelector` and `affinity` are
   * honoured. When false, a Provider that sets any of them (non-empty) is
   * refused, naming the fields.
   *
   * @default false
   */
  readonly allowScheduling: boolean;
}

/** The defaults of {@link RuntimePolicy}. */
export const DEFAULT_RUNTIME_POLICY: RuntimePolicy = Object.freeze({
  allowedImages: Object.freeze(Object.values(UPSTREAM_PROVIDER_IMAGES)),
  allowScheduling: false,
});

/**
 * A complete policy from a partial one (the defaults for what is left out).
 *
 * @throws TypeError on an empty or blank image prefix (it would match nothing
 *   useful and reads like "allow everything")
 */
export function runtimePolicy(overrides: Partial<RuntimePolicy> = {}): RuntimePolicy {
  const allowedImages = [...(overrides.allowedImages ?? DEFAULT_RUNTIME_POLICY.allowedImages)];
  for (const [i, prefix] of allowedImages.entries()) {
    if (typeof prefix !== 'string' || prefix.trim() === '' || prefix !== prefix.trim()) {
      throw new TypeError(`allowedImages[${i}]: must be a non-empty image reference prefix without surrounding spaces`);
    }
  }
  return Object.freeze({ allowedImages: Object.freeze(allowedImages), allowScheduling: overrides.allowScheduling ?? DEFAULT_RUNTIME_POLICY.allowScheduling });
}

/** Why a runtime is refused, most fundamental first (the condition reason is the first that applies). */
export const VIOLATION_REASONS = ['PodSecurityViolation', 'ImageNotAllowed', 'SchedulingNotAllowed', 'EnvNotAllowed'] as const;
export type ViolationReason = (typeof VIOLATION_REASONS)[number];

/** One refused field: `field` is its path in the Provider (or in the rendered pod). */
export interface RuntimeViolation {
  readonly field: string;
  readonly message: string;
  readonly reason: ViolationReason;
}

const PSS = '(restricted Pod Security Standard)';

/** Container security context fields the spec may carry (core/v1, k8s.io/api v0.32). */
const KNOWN_CONTEXT_FIELDS = new Set([
  'allowPrivilegeEscalation', 'appArmorProfile', 'capabilities', 'privileged', 'procMount', 'readOnlyRootFilesystem',
  'runAsGroup', 'runAsNonRoot', 'runAsUser', 'seLinuxOptions', 'seccompProfile', 'windowsOptions',
]);
const PROFILE_TYPES = ['RuntimeDefault', 'Localhost'];
/** SELinux types the baseline standard allows ("" is unset). */
const SELINUX_TYPES = ['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t'];
/** The one capability the restricted standard lets a container add. */
export const ADDABLE_CAPABILITY = 'NET_BIND_SERVICE';
/** Env value sources that can only read the pod's own namespace (or the pod itself). */
export const ALLOWED_VALUE_FROM = ['secretKeyRef', 'configMapKeyRef', 'fieldRef', 'resourceFieldRef'] as const;
/** Env names with this prefix are the reconciler's, present or future. */
export const RESERVED_ENV_PREFIX = 'VIRTRIGAUD_';

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): boolean => (Array.isArray(v) ? v.length > 0 : isObject(v) ? Object.keys(v).length > 0 : v !== undefined && v !== null);

/**
 * The restricted-standard problems of a container security context.
 * `explicit` is for the rendered pod: there the fields the standard requires
 * must be set, while in the spec unset means "the reconciler's value".
 * `pod` is the pod-level context, whose runAsNonRoot, runAsUser and
 * seccompProfile a container inherits.
 */
function contextProblems(sc: Record<string, any> | undefined, path: string, explicit: boolean, pod: Record<string, any> = {}): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  const add = (field: string, message: string) => out.push({ field: `${path}.${field}`, message });
  if (sc !== undefined && !isObject(sc)) return [{ field: path, message: 'must be an object' }];
  const c = sc ?? {};
  for (const k of Object.keys(c)) if (!KNOWN_CONTEXT_FIELDS.has(k)) add(k, 'unknown field: cannot be checked against the restricted Pod Security Standard');

  if (c.privileged === true) add('privileged', `must be false or unset ${PSS}`);
  if (explicit ? c.allowPrivilegeEscalation !== false : c.allowPrivilegeEscalation === true) add('allowPrivilegeEscalation', `must be false ${explicit ? '' : 'or unset '}${PSS}`);
  const nonRoot = c.runAsNonRoot ?? pod.runAsNonRoot;
  if (explicit ? c.runAsNonRoot === false || nonRoot !== true : c.runAsNonRoot === false) add('runAsNonRoot', `must be true ${explicit ? '' : 'or unset '}${PSS}`);
  if ((c.runAsUser ?? pod.runAsUser) === 0) add('runAsUser', `must not be 0 ${PSS}`);

  const caps = c.capabilities;
  if (caps !== undefined && !isObject(caps)) add('capabilities', 'must be an object');
  else {
    for (const [i, cap] of (caps?.add ?? []).entries()) {
      if (cap !== ADDABLE_CAPABILITY) add(`capabilities.add[${i}]`, `${JSON.stringify(cap)} is not allowed: only ${ADDABLE_CAPABILITY} may be added ${PSS}`);
    }
    if (explicit && !(caps?.drop ?? []).includes('ALL')) add('capabilities.drop', `must include ALL ${PSS}`);
  }

  const seccomp = c.seccompProfile ?? pod.seccompProfile;
  if (c.seccompProfile !== undefined || explicit) {
    if (!seccomp || !PROFILE_TYPES.includes(seccomp.type)) {
      add('seccompProfile.type', seccomp ? `Unsupported value: ${JSON.stringify(seccomp.type)}: must be RuntimeDefault or Localhost ${PSS}` : `must be RuntimeDefault or Localhost ${PSS}`);
    } else if (seccomp.type === 'Localhost' && !seccomp.localhostProfile) add('seccompProfile.localhostProfile', 'Required value: must be set when type is Localhost');
  }
  const apparmor = c.appArmorProfile;
  if (apparmor !== undefined) {
    if (!isObject(apparmor) || !PROFILE_TYPES.includes(apparmor.type)) add('appArmorProfile.type', `Unsupported value: ${JSON.stringify(apparmor?.type)}: must be RuntimeDefault or Localhost ${PSS}`);
    else if (apparmor.type === 'Localhost' && !apparmor.localhostProfile) add('appArmorProfile.localhostProfile', 'Required value: must be set when type is Localhost');
  }
  if (c.procMount !== undefined && c.procMount !== 'Default') add('procMount', `must be Default or unset ${PSS}`);
  const se = c.seLinuxOptions;
  if (se !== undefined) {
    if (!SELINUX_TYPES.includes(se?.type ?? '')) add('seLinuxOptions.type', `${JSON.stringify(se.type)} is not allowed: must be one of ${SELINUX_TYPES.filter(Boolean).join(', ')} or unset ${PSS}`);
    if (se?.user) add('seLinuxOptions.user', `must be unset ${PSS}`);
    if (se?.role) add('seLinuxOptions.role', `must be unset ${PSS}`);
  }
  if (c.windowsOptions?.hostProcess === true) add('windowsOptions.hostProcess', `must be false or unset ${PSS}`);
  return out;
}

/** Whether `image` starts with `prefix` in the sense of {@link RuntimePolicy.allowedImages}. */
export function imageMatches(image: string, prefix: string): boolean {
  if (!prefix || !image.startsWith(prefix)) return false;
  if (image.length === prefix.length || /[/:@]$/.test(prefix)) return true;
  return ':@/'.includes(image[prefix.length]);
}

/**
 * What is wrong with a Provider's `spec.runtime` under `policy`: one entry
 * per refused field, `[]` when the runtime may be deployed. Fields are paths
 * in the Provider (`spec.runtime.securityContext.privileged`), messages
 * say what would be accepted.
 */
export function checkRuntime(runtime: Runtime | undefined, policy: RuntimePolicy = DEFAULT_RUNTIME_POLICY): RuntimeViolation[] {
  if (!runtime) return [];
  const out: RuntimeViolation[] = [];
  const base = 'spec.runtime';

  for (const p of contextProblems(runtime.securityContext as Record<string, any> | undefined, `${base}.securityContext`, false)) out.push({ ...p, reason: 'PodSecurityViolation' });

  const image = runtime.image ?? '';
  if (/\.\.|\/\/|\s/.test(image)) {
    out.push({ field: `${base}.image`, message: `${JSON.stringify(image)} is not a valid image reference`, reason: 'ImageNotAllowed' });
  } else if (!policy.allowedImages.some((prefix) => imageMatches(image, prefix))) {
    const allowed = policy.allowedImages.length ? `it must start with one of: ${policy.allowedImages.join(', ')}` : 'the runtime policy allows no image';
    out.push({ field: `${base}.image`, message: `${JSON.stringify(image)} is not allowed: ${allowed}`, reason: 'ImageNotAllowed' });
  }

  if (!policy.allowScheduling) {
    for (const f of ['tolerations', 'nodeSelector', 'affinity'] as const) {
      if (nonEmpty(runtime[f])) out.push({ field: `${base}.${f}`, message: 'must be unset: the runtime policy does not let Providers choose their nodes (allowScheduling is false)', reason: 'SchedulingNotAllowed' });
    }
  }

  for (const [i, e] of (runtime.env ?? []).entries()) {
    const at = `${base}.env[${i}]`;
    const name = String(e?.name ?? '');
    if (RESERVED_ENV_NAMES.includes(name) || name.startsWith(RESERVED_ENV_PREFIX)) {
      const hint = name === 'LOG_LEVEL' ? ' (use spec.runtime.logLevel)' : name === 'LOG_FORMAT' ? ' (use spec.runtime.logFormat)' : '';
      out.push({ field: `${at}.name`, message: `${name} is set by the reconciler and cannot be overridden${hint}`, reason: 'EnvNotAllowed' });
    }
    if (e?.valueFrom !== undefined) {
      if (!isObject(e.valueFrom)) out.push({ field: `${at}.valueFrom`, message: 'must be an object', reason: 'EnvNotAllowed' });
      else {
        for (const k of Object.keys(e.valueFrom)) {
          if (!(ALLOWED_VALUE_FROM as readonly string[]).includes(k)) {
            out.push({ field: `${at}.valueFrom.${k}`, message: `not allowed: only ${ALLOWED_VALUE_FROM.join(', ')} may be used`, reason: 'EnvNotAllowed' });
          }
        }
      }
    }
  }
  return out;
}

/** The condition reason for a set of violations: the most fundamental one present. */
export function violationReason(violations: readonly RuntimeViolation[]): ViolationReason {
  return VIOLATION_REASONS.find((r) => violations.some((v) => v.reason === r)) ?? 'PodSecurityViolation';
}

/** `field: message; field: message` — the condition message of a refusal. */
export function violationMessage(violations: readonly RuntimeViolation[]): string {
  return violations.map((v) => `${v.field}: ${v.message}`).join('; ');
}

/**
 * The container security context of the provider pod: the spec's (or the
 * default) with what the restricted standard requires set explicitly:
 * runAsNonRoot true, allowPrivilegeEscalation false, capabilities drop ALL
 * (add at most NET_BIND_SERVICE), seccompProfile RuntimeDefault unless the
 * spec chose Localhost. Only for a context {@link checkRuntime} accepted.
 */
export function restrictedSecurityContext(sc: ContainerSecurityContext): ContainerSecurityContext {
  const out = structuredClone(sc) as Record<string, any>;
  out.runAsNonRoot = true;
  out.allowPrivilegeEscalation = false;
  const add = (sc.capabilities?.add ?? []).includes(ADDABLE_CAPABILITY) ? [ADDABLE_CAPABILITY] : undefined;
  out.capabilities = { ...(add ? { add } : {}), drop: ['ALL'] };
  if (!out.seccompProfile) out.seccompProfile = { type: 'RuntimeDefault' };
  if (out.privileged === false) delete out.privileged;
  return out as ContainerSecurityContext;
}

/** Pod-level security context fields the restricted standard judges (the others do not matter to it). */
const POD_CONTEXT_FIELDS = new Set(['appArmorProfile', 'runAsNonRoot', 'runAsUser', 'seLinuxOptions', 'seccompProfile', 'windowsOptions']);

/** Volume sources the restricted standard allows. */
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);

/**
 * The restricted Pod Security Standard, plus no service account token,
 * checked on a rendered pod spec (the Deployment's template): what the
 * PodSecurity admission plugin would refuse. Fields are paths in the pod
 * spec. The reconciler refuses to apply a template with any problem, so a
 * future rendering change cannot quietly produce a weaker pod.
 */
export function restrictedPodProblems(podSpec: Record<string, any>): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  const pod = isObject(podSpec.securityContext) ? podSpec.securityContext : {};
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC'] as const) if (podSpec[f] === true) out.push({ field: f, message: `must be false or unset ${PSS}` });
  if (podSpec.automountServiceAccountToken !== false) out.push({ field: 'automountServiceAccountToken', message: 'must be false: the provider does not talk to the API server' });
  for (const [i, v] of (podSpec.volumes ?? []).entries()) {
    const kinds = Object.keys(v).filter((k) => k !== 'name');
    for (const k of kinds) if (!RESTRICTED_VOLUMES.has(k)) out.push({ field: `volumes[${i}].${k}`, message: `volume type not allowed ${PSS}` });
  }
  if (nonEmpty(pod.sysctls)) out.push({ field: 'securityContext.sysctls', message: 'must be unset' });
  // The pod-level fields a container inherits are judged like a spec's container context (unset is fine there).
  const inherited = Object.fromEntries(Object.entries(pod).filter(([k]) => POD_CONTEXT_FIELDS.has(k)));
  out.push(...contextProblems(inherited, 'securityContext', false));
  for (const list of ['initContainers', 'containers', 'ephemeralContainers'] as const) {
    for (const [i, c] of (podSpec[list] ?? []).entries()) {
      const path = `${list}[${i}]`;
      for (const [j, port] of (c.ports ?? []).entries()) if (port.hostPort) out.push({ field: `${path}.ports[${j}].hostPort`, message: `must be unset ${PSS}` });
      out.push(...contextProblems(c.securityContext, `${path}.securityContext`, true, pod));
    }
  }
  return out;
}
