/**
 * The operator `virtrigaud run` starts: one API client, the informers, the
 * VirtualMachine, VMSnapshot, VMSet, VMImage, VMClone, VMNetworkAttachment and Provider controllers, the provider
 * connections, and a manager for leader election, probes and metrics.
 * Tests and benchmarks build it in process with the same options.
 */
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import { registerLibvirtProvider } from '../providers/libvirt';
import { registerMemoryProvider } from '../providers/memory';
import { registerFirecrackerProvider } from '../providers/firecracker';
import { registerQemuProvider } from '../providers/qemu';
import { registerProxmoxProvider } from '../providers/proxmox';
import { registerVsphereProvider } from '../providers/vsphere';
import type { HostPolicy } from '../providers/hostutil/policy';
import { ProviderRegistry } from '../providers/registry';
import { allInformers, createInformers, type OperatorInformers } from './informers';
import { ProviderConnections } from './provider-connections';
import { DEFAULT_CONFIG, hostPolicyFrom, type ReconcilerConfig } from './config';
import { createProviderController } from './provider/controller';
import { runtimePolicy } from './provider-runtime/policy';
import { EventRecorder, KubeClient, Manager, Metrics, type Logger } from './runtime';
import { scopedRedaction, SecretReader, SecretRedactor } from './secrets';
import { createSnapshotController } from './snapshot/controller';
import { createVmController } from './vm/controller';
import { IpAllocator } from './ipam/allocator';
import { createVmNetworkController } from './vmnetwork/controller';
import { createVmImageController } from './vmimage/controller';
import { createVmSetController } from './vmset/controller';
import { createVmCloneController } from './vmclone/controller';
import type { VmCloneTiming } from './vmclone/reconciler';
import type { VmTiming } from './vm/context';
import type { VmImageTiming } from './vmimage/reconciler';

export const COMPONENT = 'virtrigaud';

export interface OperatorOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  /** Redactor whose secrets the logger hides (share it with createLogger). */
  readonly redactor?: SecretRedactor;
  /** Watch one namespace only. @default all namespaces */
  readonly namespace?: string;
  /** The reconciler's own namespace (address Leases when the configuration names none). @default virtrigaud-system */
  readonly systemNamespace?: string;
  readonly leaderElection?: { readonly namespace: string; readonly name?: string; readonly identity?: string; readonly leaseDurationMs?: number; readonly renewDeadlineMs?: number; readonly retryPeriodMs?: number };
  /** @default ":8081" */
  readonly healthProbeBindAddress?: string;
  /** @default ":8080"; "0" disables */
  readonly metricsBindAddress?: string;
  /**
   * The operator's configuration (`--config`): in-process instances, image and hook limits, provider pod
   * policy. @default {@link DEFAULT_CONFIG}, which denies every in-process provider and host access
   */
  readonly config?: ReconcilerConfig;
  /** In-process drivers. @default libvirt, qemu, vsphere (and memory when `config.testProviders`) */
  readonly registry?: ProviderRegistry;
  /** `namespace/name` → `host:port` for remote providers (instead of the in-cluster Service). */
  readonly providerAddresses?: ReadonlyMap<string, string>;
  readonly vmTiming?: Partial<VmTiming>;
  /** Polls and backoff of the VMImage prepare flow (tests shorten them). */
  readonly vmImageTiming?: Partial<VmImageTiming>;
  /** Polls of the VMClone controller (tests shorten them). */
  readonly vmCloneTiming?: Partial<VmCloneTiming>;
  /** @default 10 */
  readonly vmWorkers?: number;
  /** VirtualMachines of one Provider reconciled at once at most (of vmWorkers). @default 4 */
  readonly perProviderConcurrency?: number;
  /** Client-side limit of API requests. @default qps 50, burst 100 */
  readonly kubeApiQps?: number;
  readonly kubeApiBurst?: number;
}

/** The drivers `virtrigaud run` can serve in process; the in-memory test double only when asked for. */
export function defaultRegistry(opts: { testProviders?: boolean } = {}): ProviderRegistry {
  const registry = new ProviderRegistry();
  for (const register of [registerLibvirtProvider, registerQemuProvider, registerFirecrackerProvider, registerVsphereProvider, registerProxmoxProvider]) register(registry);
  if (opts.testProviders) registerMemoryProvider(registry);
  return registry;
}

export class Operator {
  readonly client: KubeClient;
  /** The client Events are sent with (its own rate limit). */
  readonly eventsClient: KubeClient;
  readonly informers: OperatorInformers;
  readonly manager: Manager;
  readonly metrics = new Metrics();
  readonly connections: ProviderConnections;
  readonly events: EventRecorder;
  /** The operator's host limits, from `config`: what in-process drivers and hooks may touch. */
  readonly hostPolicy: HostPolicy;

  constructor(readonly opts: OperatorOptions) {
    const log = opts.logger;
    this.client = new KubeClient(opts.kubeConfig, { qps: opts.kubeApiQps ?? 50, burst: opts.kubeApiBurst ?? 100, userAgent: `${COMPONENT}/run`, metrics: this.metrics });
    const secrets = new SecretReader(this.client, opts.redactor ?? new SecretRedactor());
    const config = opts.config ?? DEFAULT_CONFIG;
    this.hostPolicy = hostPolicyFrom(config);
    this.connections = new ProviderConnections({
      registry: opts.registry ?? defaultRegistry({ testProviders: config.testProviders }),
      config,
      hostPolicy: this.hostPolicy,
      secrets,
      addressOverrides: opts.providerAddresses,
    });
    // Events get a client of their own, as client-go's broadcaster does: a burst of Events (two per VM
    // when a fleet is applied) must neither starve reconciles nor be dropped behind them.
    this.eventsClient = new KubeClient(opts.kubeConfig, { qps: opts.kubeApiQps ?? 50, burst: opts.kubeApiBurst ?? 100, userAgent: `${COMPONENT}/events`, metrics: this.metrics });
    this.informers = createInformers(this.client, { namespace: opts.namespace, logger: log });
    // Every Event and condition message is redacted with the scope of the Provider its object uses.
    this.events = new EventRecorder(this.eventsClient, COMPONENT, { logger: log, redact: scopedRedaction(secrets.redactor, this.informers) });
    const le = opts.leaderElection;
    this.manager = new Manager({
      client: this.client,
      logger: log,
      metrics: this.metrics,
      fencedClients: [this.eventsClient],
      healthProbeBindAddress: opts.healthProbeBindAddress,
      metricsBindAddress: opts.metricsBindAddress,
      ...(le
        ? {
            leaderElection: {
              namespace: le.namespace,
              name: le.name ?? 'virtrigaud-leader',
              identity: le.identity ?? `${hostname()}_${process.pid}`,
              leaseDurationMs: le.leaseDurationMs,
              renewDeadlineMs: le.renewDeadlineMs,
              retryPeriodMs: le.retryPeriodMs,
            },
          }
        : {}),
    });
    const common = { client: this.client, informers: this.informers, connections: this.connections, events: this.events, logger: log, metrics: this.metrics };
    const provider = createProviderController({ ...common, namespace: opts.namespace, runtimePolicy: runtimePolicy(config.providerRuntime) });
    for (const informer of [...allInformers(this.informers), provider.deployments]) this.manager.addInformer(informer);
    const ipam = new IpAllocator(this.client, config.ipam.leaseNamespace ?? opts.systemNamespace ?? 'virtrigaud-system', config.ipam.pools);
    this.manager.add(createVmController({ ...common, secrets, timing: opts.vmTiming, workers: opts.vmWorkers, perProviderConcurrency: opts.perProviderConcurrency, hookPolicy: this.hostPolicy, ipam }));
    this.manager.add(createSnapshotController({ ...common, pollMs: opts.vmTiming?.pollMs }));
    this.manager.add(createVmSetController(common));
    this.manager.add(createVmImageController({ ...common, timing: opts.vmImageTiming }));
    this.manager.add(createVmCloneController({ ...common, timing: opts.vmCloneTiming }));
    this.manager.add(createVmNetworkController({ ...common, ipam }));
    this.manager.add(provider.controller);
    // Flush queued events and close provider connections after the controllers stopped.
    this.manager.add({
      start: (signal) =>
        new Promise<void>((resolve) => {
          const done = () => void Promise.allSettled([this.events.flush(), this.connections.closeAll()]).then(() => resolve());
          if (signal.aborted) done();
          else signal.addEventListener('abort', done, { once: true });
        }),
    });
  }

  /** Runs until `signal` aborts (graceful shutdown) or leadership is lost (rejects). */
  start(signal: AbortSignal): Promise<void> {
    return this.manager.start(signal);
  }
}
