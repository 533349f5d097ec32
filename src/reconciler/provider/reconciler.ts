/**
 * The Provider reconcile function: deploy the provider runtime (unless the
 * Provider runs in process), check connectivity with the provider's
 * `Validate` at `spec.healthCheck.interval`, read its capabilities, and
 * report all of it as conditions and status. Health flips only after
 * `failureThreshold` / `successThreshold` consecutive results.
 */
import { createHash } from 'node:crypto';
import type { Provider as ProviderObject, ProviderStatus } from '../../generated/provider';
import type { Capabilities } from '../../providers/provider';
import { InProcessRefused } from '../config/in-process';
import type { InProcessInstance } from '../config/types';
import { inProcessImplementation, providerKey, ProviderUnavailable, type ProviderConnections } from '../provider-connections';
import { DEFAULT_RUNTIME_POLICY, PROVIDER_RUNTIME_FIELD_MANAGER, renderProviderRuntime, runtimeStatusFrom, type RuntimePolicy, type RuntimeRenderResult } from '../provider-runtime';
import { Kinds } from '../kinds';
import { CoreResources, rfc3339, StatusDraft, writeStatus, type EventRecorder, type KubeClient, type Logger, type Result } from '../runtime';
import { durationMs } from '../duration';

/** Annotation on rendered runtime objects: hash of what was applied, so an unchanged runtime is never re-applied. */
export const RUNTIME_HASH_ANNOTATION = 'virtrigaud.io/runtime-hash';

export interface ProviderReconcilerContext {
  readonly client: KubeClient;
  readonly providers: { get(key: string): ProviderObject | undefined };
  /** Number of VMs whose providerRef names this Provider (status.connectedVMs). */
  readonly connectedVMs: (key: string) => number;
  readonly connections: ProviderConnections;
  readonly events: EventRecorder;
  readonly log: Logger;
  /** Re-check period while the runtime is not Running. @default 30 s (PR-6) */
  readonly pendingRetryMs?: number;
  /** What a Provider may ask of its runtime pod. @default DEFAULT_RUNTIME_POLICY */
  readonly runtimePolicy?: RuntimePolicy;
}

interface Health {
  healthy: boolean;
  failures: number;
  successes: number;
  lastMessage: string;
}

export class ProviderReconciler {
  private readonly health = new Map<string, Health>();

  constructor(private readonly ctx: ProviderReconcilerContext) {}

  async reconcile(key: string, signal: AbortSignal): Promise<Result | void> {
    const cached = this.ctx.providers.get(key);
    if (!cached || cached.metadata?.deletionTimestamp) {
      // No finalizer (PR-9): the runtime objects are owned by the Provider and garbage-collected with it.
      this.health.delete(key);
      await this.ctx.connections.drop(key);
      return;
    }
    const p = structuredClone(cached);
    const draft = new StatusDraft<ProviderStatus>(p);
    const status = draft.status;
    // Warns on a True -> False flip only; the message is redacted by the recorder (and by write() in the condition).
    const cond = (type: string, ok: boolean, reason: string, message: string) => {
      if (draft.getCondition(type)?.status === 'True' && !ok) this.ctx.events.event(p, 'Warning', reason, message);
      draft.condition(type, ok, reason, message);
    };
    const implementation = inProcessImplementation(p);
    let running: boolean;
    let requeueMs = durationMs(p.spec?.healthCheck?.interval, 30_000);

    if (implementation) {
      let instance: InProcessInstance;
      try {
        instance = this.ctx.connections.admitInProcess(p);
      } catch (err) {
        // Refused by the operator's configuration: nothing runs, no Secret is read, and it says why.
        const reason = err instanceof InProcessRefused || err instanceof ProviderUnavailable ? err.reason : 'InProcessNotAllowed';
        const message = (err as Error).message;
        const before = draft.getCondition('ProviderRuntimeReady');
        if (before?.reason !== reason || before.message !== message) this.ctx.events.event(p, 'Warning', reason, message);
        status.runtime = { phase: 'Failed', message: `${reason}: ${message}` };
        cond('ProviderRuntimeReady', false, reason, message);
        cond('ProviderAvailable', false, 'RuntimeRefused', message);
        cond('Ready', false, reason, message);
        status.healthy = false;
        status.observedGeneration = p.metadata?.generation;
        await this.write(p, draft);
        return { requeueAfterMs: 60_000 };
      }
      running = true;
      status.runtime = { phase: 'Running', message: `in process (instance ${instance.name}, driver ${instance.driver}); no provider Deployment` };
      cond('ProviderRuntimeReady', true, 'InProcess', `served in the reconciler's process by the operator's instance "${instance.name}" (driver ${instance.driver})`);
    } else {
      const rendered = renderProviderRuntime(p, this.ctx.runtimePolicy ?? DEFAULT_RUNTIME_POLICY);
      cond('TLSConfigured', rendered.tls.decision === 'Enabled', rendered.tls.decision, rendered.tls.message);
      if (rendered.refused) {
        // A policy refusal is a Warning each time it is new (cond() warns only on a True -> False flip).
        const before = draft.getCondition('ProviderRuntimeReady');
        const repeated = before?.status === 'False' && before.reason === rendered.refused.reason && before.message === rendered.refused.message;
        if (rendered.violations.length && !repeated && before?.status !== 'True') this.ctx.events.event(p, 'Warning', rendered.refused.reason, rendered.refused.message);
        status.runtime = { mode: 'Remote', phase: 'Failed', message: `${rendered.refused.reason}: ${rendered.refused.message}` };
        cond('ProviderRuntimeReady', false, rendered.refused.reason, rendered.refused.message);
        cond('ProviderAvailable', false, 'RuntimeRefused', rendered.refused.message);
        cond('Ready', false, rendered.refused.reason, rendered.refused.message);
        status.healthy = false;
        status.observedGeneration = p.metadata?.generation;
        await this.write(p, draft);
        return { requeueAfterMs: 60_000 };
      }
      const deployment = await this.applyRuntime(p, rendered);
      const rt = runtimeStatusFrom(deployment, rendered);
      status.runtime = { mode: 'Remote', endpoint: rendered.endpoint, serviceRef: { name: rendered.serviceName }, phase: rt.phase, message: rt.message, readyReplicas: rt.readyReplicas, availableReplicas: rt.availableReplicas };
      running = rt.phase === 'Running';
      cond('ProviderRuntimeReady', running, running ? 'DeploymentReady' : 'DeploymentNotReady', rt.message);
      if (!running) requeueMs = this.ctx.pendingRetryMs ?? 30_000;
    }

    if (running && p.spec?.healthCheck?.enabled !== false) await this.checkHealth(p, status, cond, signal);
    else if (!running) {
      status.healthy = false;
      cond('ProviderAvailable', false, 'RuntimeNotReady', 'the provider runtime is not running');
    }
    status.connectedVMs = this.ctx.connectedVMs(key);
    status.observedGeneration = p.metadata?.generation;
    // Ready sums the others up: the runtime runs and the provider answers.
    const available = draft.getCondition('ProviderAvailable');
    if (running && status.healthy) cond('Ready', true, 'ProviderReady', available?.message ?? 'the provider is available');
    else cond('Ready', false, running ? 'ProviderUnavailable' : 'RuntimeNotReady', available?.message ?? status.runtime?.message ?? 'the provider runtime is not running');
    await this.write(p, draft);
    return { requeueAfterMs: requeueMs };
  }

  private async checkHealth(p: ProviderObject, status: ProviderStatus, cond: (t: string, ok: boolean, r: string, m: string) => void, signal: AbortSignal): Promise<void> {
    const key = providerKey(p);
    const hc = p.spec?.healthCheck;
    const h = this.health.get(key) ?? { healthy: status.healthy ?? false, failures: 0, successes: 0, lastMessage: '' };
    this.health.set(key, h);
    let ok = false;
    let message: string;
    try {
      const provider = await this.ctx.connections.refresh(p);
      const res = await provider.validate({ signal, timeoutMs: durationMs(hc?.timeout, 10_000) });
      ok = res.ok;
      message = res.ok ? 'the provider answered Validate with ok' : `Validate: ${res.message || 'not ok'}`;
      if (ok && (h.healthy || h.successes + 1 >= (hc?.successThreshold ?? 1))) {
        try {
          status.reportedCapabilities = capabilitiesStatus(await provider.getCapabilities({ signal, timeoutMs: 30_000 }));
          cond('CapabilitiesReported', true, 'CapabilitiesFetched', 'GetCapabilities answered');
        } catch (err) {
          // Non-fatal (PR-7): keep what was reported before.
          cond('CapabilitiesReported', false, 'CapabilitiesUnavailable', (err as Error).message);
        }
      }
    } catch (err) {
      message = (err as Error).message;
    }
    if (ok) {
      h.successes++;
      h.failures = 0;
      if (!h.healthy && h.successes >= (hc?.successThreshold ?? 1)) h.healthy = true;
    } else {
      h.failures++;
      h.successes = 0;
      if (h.healthy && h.failures >= (hc?.failureThreshold ?? 3)) h.healthy = false;
      this.ctx.log.info('provider health check failed', { provider: key, failures: h.failures, error: message });
    }
    if (status.healthy !== h.healthy || status.lastHealthCheck === undefined) status.lastHealthCheck = rfc3339();
    status.healthy = h.healthy;
    h.lastMessage = message;
    if (h.healthy) cond('ProviderAvailable', true, p.metadata?.annotations && inProcessImplementation(p) ? 'InProcessAvailable' : 'RemoteAvailable', ok ? message : `${message} (${h.failures} consecutive failure(s), threshold ${hc?.failureThreshold ?? 3})`);
    else cond('ProviderAvailable', false, 'ValidationFailed', message);
  }

  /** Server-side applies the runtime objects when they differ from what was last applied. */
  private async applyRuntime(p: ProviderObject, rendered: RuntimeRenderResult): Promise<any | undefined> {
    const ns = p.metadata!.namespace!;
    const hash = createHash('sha256').update(JSON.stringify(rendered.objects)).digest('hex').slice(0, 16);
    const deployment = await this.ctx.client.get(CoreResources.deployments, ns, rendered.serviceName);
    if (deployment?.metadata?.annotations?.[RUNTIME_HASH_ANNOTATION] === hash) return deployment;
    let applied: any;
    for (const obj of rendered.objects) {
      const body = { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [RUNTIME_HASH_ANNOTATION]: hash } } };
      const rt = obj.kind === 'Deployment' ? CoreResources.deployments : obj.kind === 'Service' ? CoreResources.services : CoreResources.serviceAccounts;
      const res = await this.ctx.client.patch(rt, ns, obj.metadata.name, body, { type: 'apply', fieldManager: PROVIDER_RUNTIME_FIELD_MANAGER, force: true });
      if (obj.kind === 'Deployment') applied = res;
    }
    this.ctx.events.event(p, 'Normal', deployment ? 'RuntimeUpdated' : 'RuntimeCreated', `applied ServiceAccount, Service and Deployment ${rendered.serviceName}`);
    return applied;
  }

  /** A Validate or connection error may quote the Provider's credentials: condition messages are redacted with its own scope. */
  private async write(p: ProviderObject, draft: StatusDraft<ProviderStatus>): Promise<void> {
    await writeStatus(this.ctx.client, Kinds.Provider, p, draft, { redact: (m) => this.ctx.events.redact(p, m) });
  }
}

function capabilitiesStatus(c: Capabilities): NonNullable<ProviderStatus['reportedCapabilities']> {
  return {
    supportsReconfigureOnline: c.supportsReconfigureOnline,
    supportsDiskExpansionOnline: c.supportsDiskExpansionOnline,
    supportsSnapshots: c.supportsSnapshots,
    supportsMemorySnapshots: c.supportsMemorySnapshots,
    supportsLinkedClones: c.supportsLinkedClones,
    supportsImageImport: c.supportsImageImport,
    supportedDiskTypes: [...c.supportedDiskTypes],
    supportedNetworkTypes: [...c.supportedNetworkTypes],
    supportsDiskExport: c.supportsDiskExport,
    supportsDiskImport: c.supportsDiskImport,
    supportedExportFormats: [...c.supportedExportFormats],
    supportedImportFormats: [...c.supportedImportFormats],
    supportsExportCompression: c.supportsExportCompression,
    supportedExportBackends: [...c.supportedExportBackends],
    supportedImportBackends: [...c.supportedImportBackends],
    supportedTransferModes: [...c.supportedTransferModes],
  };
}
