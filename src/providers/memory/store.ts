/**
 * State of the in-memory provider: plain JSON, so that it can live in a
 * file and survive the process (crash-restart tests SIGKILL a reconciler
 * that uses this provider and start another one on the same file).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface SnapshotRecord {
  id: string;
  name: string;
  description: string;
  includeMemory: boolean;
  cpu: number;
  memoryMiB: number;
  powerState: 'On' | 'Off';
}

export interface DiskRecord {
  id: string;
  name: string;
  sizeGiB: number;
  type: string;
  format: string;
  path: string;
  backingFile: string;
}

export interface VMRecord {
  id: string;
  name: string;
  /** The VirtualMachine's metadata.uid given at create (or through a clone's customize_json); absent without one. */
  uid?: string;
  cpu: number;
  memoryMiB: number;
  powerState: 'On' | 'Off';
  bootCount: number;
  hardwareVersion: number;
  image: string;
  tags: string[];
  /** `ip`: the static address the create request gave the NIC (what its guest would configure). */
  networks: { name: string; mac: string; ip?: string }[];
  /** How the create request's user data was to be read (`ignition` or `cloud-init`); absent: none given. */
  userDataFormat?: string;
  disks: DiskRecord[];
  snapshots: SnapshotRecord[];
  clonedFrom?: string;
  cloneType?: 'linked' | 'full';
  /** Commands run by guestExec, oldest first. */
  execLog: string[][];
}

export interface TaskRecord {
  id: string;
  op: string;
  startedAt: number;
  polls: number;
  afterPolls?: number;
  afterMs?: number;
  /** Set when the task is to end in failure. */
  error?: string;
}

export interface ImportedDisk {
  id: string;
  path: string;
  format: string;
  sizeBytes: number;
  checksum: string;
}

export interface MemoryState {
  version: 1;
  counter: number;
  vms: Record<string, VMRecord>;
  tasks: Record<string, TaskRecord>;
  images: Record<string, { id: string; path: string }>;
  /** Staged exports by destination URL: imports of that URL find the checksum. */
  exports: Record<string, { exportId: string; checksum: string; sizeBytes: number }>;
  imports: Record<string, ImportedDisk>;
}

export function emptyState(): MemoryState {
  return { version: 1, counter: 0, vms: {}, tasks: {}, images: {}, exports: {}, imports: {} };
}

/**
 * Holds the state, in memory or in a JSON file. With a file, every read
 * reloads it and every mutation rewrites it atomically (write + rename), so
 * several instances, in one process or several, see one set of VMs.
 * Share one store object between providers of one process with `store`.
 */
export class MemoryStore {
  private state: MemoryState;

  constructor(readonly file?: string) {
    this.state = file ? load(file) : emptyState();
  }

  /** A snapshot to read from (reloaded from the file when there is one). */
  read(): MemoryState {
    if (this.file) this.state = load(this.file);
    return this.state;
  }

  /** Applies `fn` to the current state and persists it; returns fn's result. */
  mutate<T>(fn: (s: MemoryState) => T): T {
    const s = this.read();
    const out = fn(s);
    if (this.file) save(this.file, s);
    return out;
  }

  /** Next value of the id counter (persisted with the state). */
  static next(s: MemoryState): number {
    s.counter += 1;
    return s.counter;
  }
}

function load(file: string): MemoryState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
    throw e;
  }
  const parsed = JSON.parse(text) as MemoryState;
  if (parsed?.version !== 1) throw new Error(`memory provider state file ${file}: unsupported version`);
  return { ...emptyState(), ...parsed };
}

let tmpSeq = 0;
function save(file: string, s: MemoryState): void {
  mkdirSync(dirname(file), { recursive: true });
  // Unique temp name per writer; rename is atomic, so readers never see a torn file.
  const tmp = `${file}.tmp-${process.pid}-${++tmpSeq}`;
  writeFileSync(tmp, JSON.stringify(s));
  renameSync(tmp, file);
}
