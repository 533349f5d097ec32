/**
 * Options, event records and capabilities of the in-memory provider, and
 * the cancellable sleep its latency and `timeout` faults use.
 */
import { NO_CAPABILITIES, ProviderError, type CallOptions, type Capabilities } from '../provider';
import type { MemoryOp } from './faults';
import type { MemoryStore } from './store';
import { BACKENDS, DISK_FORMATS } from './transfer';

export interface MemoryProviderOptions {
  /** Operations return tasks: `true` = done on the 2nd TaskStatus poll. */
  readonly asyncTasks?: boolean | { readonly completeAfterMs?: number; readonly completeAfterPolls?: number };
  /** Added to every call. */
  readonly latencyMs?: number;
  /** Persist the state in this JSON file (shared by every instance using it). */
  readonly stateFile?: string;
  /** Share state with other instances of this process (takes precedence over stateFile). */
  readonly store?: MemoryStore;
  readonly capabilities?: Partial<Capabilities>;
  /** Clone ignores class_json and keeps the source's size, as a provider might that reads another class shape. */
  readonly ignoreCloneClass?: boolean;
  /** Power state of a freshly created VM (default On, like the bundled providers). */
  readonly initialPowerState?: 'On' | 'Off';
  /** When set, validate() reports ok=false unless these contain a `username`. */
  readonly credentials?: Readonly<Record<string, string>>;
  /** How long a `timeout` fault hangs when the call has no deadline. */
  readonly timeoutFaultMs?: number;
  readonly now?: () => number;
}

export interface MemoryEvent {
  readonly seq: number;
  readonly op: MemoryOp;
  /** The VM (or task) the call was about, when there is one. */
  readonly target?: string;
  readonly outcome: 'ok' | 'error';
  readonly error?: string;
}

export const MEMORY_CAPABILITIES: Capabilities = {
  ...NO_CAPABILITIES,
  supportsReconfigureOnline: true,
  supportsDiskExpansionOnline: true,
  supportsSnapshots: true,
  supportsMemorySnapshots: true,
  supportsLinkedClones: true,
  supportsImageImport: true,
  supportedDiskTypes: ['thin', 'thick', 'qcow2', 'raw'],
  supportedNetworkTypes: ['virtio', 'e1000', 'vmxnet3'],
  supportsDiskExport: true,
  supportsDiskImport: true,
  supportedExportFormats: DISK_FORMATS,
  supportedImportFormats: DISK_FORMATS,
  supportsExportCompression: true,
  supportedExportBackends: BACKENDS,
  supportedImportBackends: BACKENDS,
  supportedTransferModes: ['relay', 'direct'],
};

export function checkAbort(op: string, o: CallOptions | undefined): void {
  if (o?.signal?.aborted) throw new ProviderError('Retryable', `${op}: cancelled`, op);
}

export function sleep(ms: number, op: string, o: CallOptions | undefined): Promise<void> {
  checkAbort(op, o);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ProviderError('Retryable', `${op}: cancelled`, op));
    };
    const timer = setTimeout(() => {
      o?.signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    o?.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
