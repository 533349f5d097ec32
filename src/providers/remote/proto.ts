/**
 * Loads provider.v1 and grpc.health.v1 with @grpc/proto-loader from the
 * embedded proto text (written to a temp dir once, as proto-loader reads
 * files), so the same code works from src/ under tsx and from lib/.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEALTH_PROTO, PROVIDER_PROTO } from './proto-source';

/** proto-loader options: wire field names as-is, int64 as numbers, enums by name, defaults filled in. */
export const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

export interface LoadedProtos {
  readonly providerService: grpc.ServiceClientConstructor;
  readonly healthService: grpc.ServiceClientConstructor;
}

let cached: LoadedProtos | undefined;

export function loadProtos(): LoadedProtos {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'virtrigaud-proto-'));
  try {
    writeFileSync(join(dir, 'provider.proto'), PROVIDER_PROTO);
    writeFileSync(join(dir, 'health.proto'), HEALTH_PROTO);
    const def = protoLoader.loadSync([join(dir, 'provider.proto'), join(dir, 'health.proto')], { ...LOADER_OPTIONS, includeDirs: [dir] });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      provider: { v1: { Provider: grpc.ServiceClientConstructor } };
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    };
    cached = { providerService: pkg.provider.v1.Provider, healthService: pkg.grpc.health.v1.Health };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
