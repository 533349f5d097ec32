/**
 * Loads provider.v1 and grpc.health.v1 with @grpc/proto-loader from the
 * .proto files beside this module: the one source of the wire contract
 * (`npm run build` copies them into lib/ next to the compiled module).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';

/** The directory holding provider.proto and health.proto. */
export const PROTO_DIR = __dirname;

/** proto-loader options: wire field names as-is, int64 as numbers, enums by name, defaults filled in. */
export const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

export interface LoadedProtos {
  readonly providerService: grpc.ServiceClientConstructor;
  readonly healthService: grpc.ServiceClientConstructor;
}

let cached: LoadedProtos | undefined;

export function loadProtos(): LoadedProtos {
  if (cached) return cached;
  const def = protoLoader.loadSync([join(PROTO_DIR, 'provider.proto'), join(PROTO_DIR, 'health.proto')], { ...LOADER_OPTIONS, includeDirs: [PROTO_DIR] });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    provider: { v1: { Provider: grpc.ServiceClientConstructor } };
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  cached = { providerService: pkg.provider.v1.Provider, healthService: pkg.grpc.health.v1.Health };
  return cached;
}

/** Manager-side deadlines per RPC (§15.2); HardwareUpgrade has none there, 5 min like Reconfigure. */
export const RPC_TIMEOUTS_MS = {
  Validate: 30_000,
  Create: 300_000,
  Delete: 120_000,
  Power: 120_000,
  Reconfigure: 300_000,
  HardwareUpgrade: 300_000,
  Describe: 30_000,
  TaskStatus: 10_000,
  SnapshotCreate: 300_000,
  SnapshotDelete: 120_000,
  SnapshotRevert: 300_000,
  Clone: 300_000,
  ImagePrepare: 300_000,
  GetCapabilities: 30_000,
  ExportDisk: 1_800_000,
  ImportDisk: 1_800_000,
  GetDiskInfo: 120_000,
  ListVMs: 120_000,
} as const;

export type RpcName = keyof typeof RPC_TIMEOUTS_MS;
export const RPC_NAMES = Object.keys(RPC_TIMEOUTS_MS) as RpcName[];
