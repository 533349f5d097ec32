/**
 * What every controller of the operator is built from (src/reconciler/operator.ts
 * passes the same set to each): one API client, the shared caches, the
 * provider connections, the Event recorder (which also redacts condition
 * messages with the scope of the object's Provider), a logger and metrics.
 */
import type { OperatorInformers } from './informers';
import type { ProviderConnections } from './provider-connections';
import type { EventRecorder, KubeClient, Logger, Metrics } from './runtime';

export interface ControllerDeps {
  readonly client: KubeClient;
  readonly informers: OperatorInformers;
  readonly connections: ProviderConnections;
  readonly events: EventRecorder;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}
