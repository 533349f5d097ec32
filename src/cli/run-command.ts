/**
 * `virtrigaud run`: the operator. Flags follow controller-runtime's names
 * (--leader-elect, --metrics-bind-address, --health-probe-bind-address), so
 * the install's Deployment and people's habits carry over.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { durationMs } from '../reconciler/duration';
import { ConfigError, DEFAULT_CONFIG, loadConfigFile, type ReconcilerConfig } from '../reconciler/config';
import { Operator } from '../reconciler/operator';
import { createLogger, LeaderElectionLostError, type LogLevel } from '../reconciler/runtime';
import { SecretRedactor } from '../reconciler/secrets';

export const RUN_USAGE = `Usage: virtrigaud run [flags]

Runs the reconciler against the cluster of the current kubeconfig (or in-cluster).

Flags:
  --kubeconfig PATH                    kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)
  --config FILE                        the operator's ReconcilerConfiguration: in-process providers, image roots,
                                       download and hook limits, provider pod policy (default: deny all; see docs/security.md)
  --enable-test-providers              serve the in-memory test driver (tests and demos only)
  --namespace NS                       watch one namespace only (default: all)
  --leader-elect                       elect a leader among replicas with a Lease
  --leader-election-namespace NS       namespace of the Lease (default: $POD_NAMESPACE or virtrigaud-system)
  --leader-election-id NAME            name of the Lease (default: virtrigaud-leader)
  --leader-elect-lease-duration D      how long others wait for an unrenewed Lease (default 15s)
  --leader-elect-renew-deadline D      the leader stops when it has not renewed for this long; < lease duration (default 10s)
  --leader-elect-retry-period D        between attempts to acquire or renew the Lease (default 2s)
  --metrics-bind-address ADDR          Prometheus /metrics (default :8080; 0 disables)
  --health-probe-bind-address ADDR     /healthz and /readyz (default :8081)
  --log-level LEVEL                    debug, info, warn or error (default info)
  --log-format FORMAT                  text or json (default text)
  --provider-address NS/NAME=HOST:PORT dial this address for a remote Provider instead of its Service (repeatable)
  --vm-workers N                       VirtualMachines reconciled in parallel (default 10)
  --per-provider-workers N             of those, VirtualMachines of one Provider at most (default 4)
  --resync-period DURATION             re-check of converged VMs, e.g. 60s (default 60s)
  --task-poll-interval DURATION        poll of outstanding provider tasks (default 2s)
  --kube-api-qps N, --kube-api-burst N client-side API rate limit (default 50, 100)`;

interface RunFlags {
  kubeconfig?: string;
  config?: string;
  enableTestProviders: boolean;
  namespace?: string;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  logLevel: LogLevel;
  logFormat: 'text' | 'json';
  providerAddresses: Map<string, string>;
  vmWorkers: number;
  perProviderWorkers: number;
  resyncMs: number;
  pollMs: number;
  qps: number;
  burst: number;
}

export class UsageError extends Error {}

export function parseRunFlags(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): RunFlags {
  const f: RunFlags = {
    enableTestProviders: false,
    leaderElect: false,
    leaderElectionNamespace: env.POD_NAMESPACE || 'virtrigaud-system',
    leaderElectionId: 'virtrigaud-leader',
    metricsBindAddress: ':8080',
    healthProbeBindAddress: ':8081',
    logLevel: 'info',
    logFormat: 'text',
    providerAddresses: new Map(),
    vmWorkers: 10,
    perProviderWorkers: 4,
    resyncMs: 60_000,
    pollMs: 2_000,
    qps: 50,
    burst: 100,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`flag ${name} needs a value`);
      return v;
    };
    const int = (min: number) => {
      const raw = value();
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min) throw new UsageError(`flag ${name}: "${raw}" is not an integer >= ${min}`);
      return n;
    };
    switch (name) {
      case '--kubeconfig': f.kubeconfig = value(); break;
      case '--config': f.config = value(); break;
      case '--enable-test-providers': f.enableTestProviders = eq > 0 ? arg.slice(eq + 1) !== 'false' : true; break;
      case '--namespace': f.namespace = value(); break;
      case '--leader-elect': f.leaderElect = eq > 0 ? arg.slice(eq + 1) !== 'false' : true; break;
      case '--leader-election-namespace': f.leaderElectionNamespace = value(); break;
      case '--leader-election-id': f.leaderElectionId = value(); break;
      case '--leader-elect-lease-duration': f.leaseDurationMs = duration(name, value()); break;
      case '--leader-elect-renew-deadline': f.renewDeadlineMs = duration(name, value()); break;
      case '--leader-elect-retry-period': f.retryPeriodMs = duration(name, value()); break;
      case '--metrics-bind-address': f.metricsBindAddress = value(); break;
      case '--health-probe-bind-address': f.healthProbeBindAddress = value(); break;
      case '--log-level': {
        const v = value();
        if (!['debug', 'info', 'warn', 'error'].includes(v)) throw new UsageError(`flag --log-level: "${v}" is not one of debug, info, warn, error`);
        f.logLevel = v as LogLevel;
        break;
      }
      case '--log-format': {
        const v = value();
        if (v !== 'text' && v !== 'json') throw new UsageError(`flag --log-format: "${v}" is not text or json`);
        f.logFormat = v;
        break;
      }
      case '--provider-address': {
        const v = value();
        const m = /^([a-z0-9-]+\/[a-z0-9.-]+)=(.+:\d+)$/.exec(v);
        if (!m) throw new UsageError(`flag --provider-address: "${v}" is not NAMESPACE/NAME=HOST:PORT`);
        f.providerAddresses.set(m[1]!, m[2]!);
        break;
      }
      case '--vm-workers': f.vmWorkers = int(1); break;
      case '--per-provider-workers': f.perProviderWorkers = int(1); break;
      case '--resync-period':
        f.resyncMs = duration(name, value());
        break;
      case '--task-poll-interval':
        f.pollMs = duration(name, value());
        break;
      case '--kube-api-qps': f.qps = int(1); break;
      case '--kube-api-burst': f.burst = int(1); break;
      default:
        throw new UsageError(`unknown flag ${JSON.stringify(name)}`);
    }
  }
  return f;
}

function duration(flag: string, v: string): number {
  const ms = durationMs(v, NaN);
  if (!(ms > 0)) throw new UsageError(`flag ${flag}: "${v}" is not a duration like 500ms, 30s or 5m`);
  return ms;
}

export async function runOperator(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${RUN_USAGE}\n`);
    return 0;
  }
  let flags: RunFlags;
  try {
    flags = parseRunFlags(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n\n${RUN_USAGE}\n`);
    return 2;
  }
  const redactor = new SecretRedactor();
  const logger = createLogger({ level: flags.logLevel, format: flags.logFormat, redact: () => redactor.secrets() });
  let config: ReconcilerConfig = DEFAULT_CONFIG;
  try {
    if (flags.config) config = loadConfigFile(flags.config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    return 2;
  }
  if (flags.enableTestProviders) config = { ...config, testProviders: true };
  const kc = new KubeConfig();
  try {
    if (flags.kubeconfig) kc.loadFromFile(flags.kubeconfig);
    else kc.loadFromDefault();
    if (!kc.getCurrentCluster()) throw new Error('no cluster in the kubeconfig and not running in a cluster');
  } catch (err) {
    logger.error('cannot load the kubeconfig', { error: (err as Error).message });
    return 1;
  }
  const operator = new Operator({
    kubeConfig: kc,
    config,
    logger,
    redactor,
    namespace: flags.namespace,
    // The reconciler's own namespace ($POD_NAMESPACE, else virtrigaud-system, or the flag): the address Leases live there.
    systemNamespace: flags.leaderElectionNamespace,
    ...(flags.leaderElect ? { leaderElection: { namespace: flags.leaderElectionNamespace, name: flags.leaderElectionId, identity: process.env.POD_NAME || undefined, leaseDurationMs: flags.leaseDurationMs, renewDeadlineMs: flags.renewDeadlineMs, retryPeriodMs: flags.retryPeriodMs } } : {}),
    metricsBindAddress: flags.metricsBindAddress,
    healthProbeBindAddress: flags.healthProbeBindAddress,
    providerAddresses: flags.providerAddresses,
    vmWorkers: flags.vmWorkers,
    perProviderConcurrency: flags.perProviderWorkers,
    vmTiming: { resyncMs: flags.resyncMs, pollMs: flags.pollMs },
    kubeApiQps: flags.qps,
    kubeApiBurst: flags.burst,
  });
  const stop = new AbortController();
  const onSignal = (sig: string) => {
    logger.info('signal received; shutting down', { signal: sig });
    stop.abort();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  logger.info('starting', {
    server: kc.getCurrentCluster()?.server,
    namespace: flags.namespace ?? '(all)',
    leaderElect: flags.leaderElect,
    inProcessProviders: config.inProcessProviders.map((i) => `${i.name} (${i.driver})`).join(', ') || '(none)',
    testProviders: config.testProviders,
  });
  try {
    await operator.start(stop.signal);
    return 0;
  } catch (err) {
    if (err instanceof LeaderElectionLostError) logger.error('leader election lost');
    else logger.error('operator failed', { error: (err as Error).message });
    return 1;
  }
}
