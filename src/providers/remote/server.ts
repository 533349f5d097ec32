/**
 * serveProvider: exposes any TypeScript Provider as `provider.v1.Provider`
 * (plus `grpc.health.v1.Health`), so tests can reach an in-process provider
 * through the real wire and our providers can run as provider pods.
 */
import * as grpc from '@grpc/grpc-js';
import { isProviderError, type CallOptions, type Provider } from '../provider';
import {
  capabilitiesToWire, createFromWire, describeToWire, diskInfoToWire, exportFromWire, importFromWire, powerOpFromWire,
  taskToWire, vmInfoToWire, type Wire,
} from './codec';
import { codeOf } from './errors';
import { parseDesired } from './payload';
import { loadProtos, RPC_NAMES, type RpcName } from './proto';

export type ServerTls =
  | { readonly mode?: 'plaintext' }
  | { readonly mode?: 'mtls'; readonly caPem: string; readonly certPem: string; readonly keyPem: string; readonly requireClientCert: boolean };

export interface ServeOptions {
  /** host:port to listen on; port 0 picks a free one (e.g. `127.0.0.1:0`). */
  readonly address: string;
  readonly tls: ServerTls;
  /** Sees every request as decoded from the wire, before the provider does (tests assert on payloads). */
  readonly onRequest?: (rpc: RpcName, request: Wire) => void;
  /** Replaces the handling of some RPCs with raw wire-level responses (tests of malformed answers). */
  readonly rawHandlers?: Partial<Record<RpcName, (request: Wire) => Wire | Promise<Wire>>>;
}

export interface ServedProvider {
  readonly port: number;
  close(): Promise<void>;
}

type Handler = (p: Provider, r: Wire, o: CallOptions) => Promise<Wire>;

const task = async (t: Promise<{ id: string } | undefined>) => ({ task: taskToWire(await t) });

/** Wire request -> provider call -> wire response, per RPC. */
const HANDLERS: Record<RpcName, Handler> = {
  Validate: async (p, _r, o) => p.validate(o),
  Create: async (p, r, o) => {
    const out = await p.create(createFromWire(r), o);
    return { id: out.id, task: taskToWire(out.task) };
  },
  Delete: (p, r, o) => task(p.delete(r.id, o)),
  Power: (p, r, o) => task(p.power(r.id, powerOpFromWire(r.op), r.graceful_timeout_seconds, o)),
  Reconfigure: (p, r, o) => task(p.reconfigure(r.id, parseDesired(r.desired_json), o)),
  HardwareUpgrade: (p, r, o) => task(p.hardwareUpgrade(r.id, r.target_version, o)),
  Describe: async (p, r, o) => describeToWire(await p.describe(r.id, o)),
  TaskStatus: async (p, r, o) => {
    const s = await p.taskStatus({ id: r.task?.id ?? '' }, o);
    return { done: s.done, error: s.error ?? '' };
  },
  SnapshotCreate: async (p, r, o) => {
    const out = await p.snapshotCreate({ vmId: r.vm_id, nameHint: r.name_hint, includeMemory: r.include_memory, description: r.description }, o);
    return { snapshot_id: out.snapshotId, task: taskToWire(out.task) };
  },
  SnapshotDelete: (p, r, o) => task(p.snapshotDelete(r.vm_id, r.snapshot_id, o)),
  SnapshotRevert: (p, r, o) => task(p.snapshotRevert(r.vm_id, r.snapshot_id, o)),
  Clone: async (p, r, o) => {
    const out = await p.clone({
      sourceVmId: r.source_vm_id, targetName: r.target_name, linked: r.linked,
      classJson: r.class_json, placementJson: r.placement_json, customizeJson: r.customize_json,
    }, o);
    return { target_vm_id: out.targetVmId, task: taskToWire(out.task) };
  },
  ImagePrepare: async (p, r, o) => {
    const out = await p.imagePrepare({ imageJson: r.image_json, targetName: r.target_name, storageHint: r.storage_hint }, o);
    return { task: taskToWire(out.task), prepared_image_id: out.preparedImageId, prepared_image_path: out.preparedImagePath };
  },
  GetCapabilities: async (p, _r, o) => capabilitiesToWire(await p.getCapabilities(o)),
  ExportDisk: async (p, r, o) => {
    const out = await p.exportDisk(exportFromWire(r), o);
    return { export_id: out.exportId, task: taskToWire(out.task), estimated_size_bytes: out.estimatedSizeBytes, checksum: out.checksum };
  },
  ImportDisk: async (p, r, o) => {
    const out = await p.importDisk(importFromWire(r), o);
    return { disk_id: out.diskId, path: out.path, task: taskToWire(out.task), actual_size_bytes: out.actualSizeBytes, checksum: out.checksum };
  },
  GetDiskInfo: async (p, r, o) => diskInfoToWire(await p.getDiskInfo(r.vm_id, r.disk_id, r.snapshot_id, o)),
  ListVMs: async (p, _r, o) => ({ vms: (await p.listVMs(o)).map(vmInfoToWire) }),
};

/** A provider failure as a gRPC status: categories map back to the codes the client maps from. */
function toStatus(e: unknown): Partial<grpc.StatusObject> {
  if (isProviderError(e)) return { code: codeOf(e.category), details: e.message };
  // A gRPC status thrown as is (raw handlers, or a provider speaking gRPC itself) passes through.
  const st = e as Partial<grpc.StatusObject> | undefined;
  if (typeof st?.code === 'number' && typeof st.details === 'string') return { code: st.code, details: st.details };
  return { code: grpc.status.INTERNAL, details: e instanceof Error ? e.message : String(e) };
}

function unaryHandler(provider: Provider, rpc: RpcName, opts: ServeOptions): grpc.handleUnaryCall<Wire, Wire> {
  return (call, callback) => {
    const ac = new AbortController();
    call.on('cancelled', () => ac.abort());
    const deadline = call.getDeadline();
    const ms = deadline instanceof Date ? deadline.getTime() - Date.now() : Number.isFinite(deadline) ? Number(deadline) - Date.now() : undefined;
    const o: CallOptions = { signal: ac.signal, ...(ms !== undefined && ms > 0 ? { timeoutMs: ms } : {}) };
    void (async () => {
      try {
        opts.onRequest?.(rpc, call.request);
        const raw = opts.rawHandlers?.[rpc];
        callback(null, raw ? await raw(call.request) : await HANDLERS[rpc](provider, call.request, o));
      } catch (e) {
        callback(toStatus(e));
      }
    })();
  };
}

function serverCredentials(tls: ServerTls): grpc.ServerCredentials {
  if (!('caPem' in tls)) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(
    Buffer.from(tls.caPem),
    [{ private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem) }],
    tls.requireClientCert,
  );
}

export async function serveProvider(provider: Provider, opts: ServeOptions): Promise<ServedProvider> {
  const { providerService, healthService } = loadProtos();
  const server = new grpc.Server();
  server.addService(
    providerService.service,
    Object.fromEntries(RPC_NAMES.map((rpc) => [rpc, unaryHandler(provider, rpc, opts)])) as grpc.UntypedServiceImplementation,
  );
  const known = new Set(['', 'provider.v1.Provider']);
  server.addService(healthService.service, {
    Check: ((call, callback) => {
      if (known.has(call.request.service)) callback(null, { status: 'SERVING' });
      else callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${call.request.service}` });
    }) as grpc.handleUnaryCall<Wire, Wire>,
    // Serving never changes while the server runs: report it once and hold the stream open.
    Watch: ((call) => {
      call.write({ status: known.has(call.request.service) ? 'SERVING' : 'SERVICE_UNKNOWN' });
    }) as grpc.handleServerStreamingCall<Wire, Wire>,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(opts.address, serverCredentials(opts.tls), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        // Graceful first; streams such as health Watch never end on their own.
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
