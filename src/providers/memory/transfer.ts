/**
 * Image preparation and disk export/import of the in-memory provider, as
 * functions over the state: nothing is copied, but ids, sizes and
 * checksums are consistent (an import of an exported URL verifies against
 * the export's checksum).
 */
import {
  ProviderError, type DiskInfo, type ExportDiskRequest, type ImagePrepareRequest, type ImportDiskRequest,
} from '../provider';
import { diskBytes, sha256Hex } from './model';
import { MemoryStore, type MemoryState, type VMRecord } from './store';

export const DISK_FORMATS = ['qcow2', 'raw', 'vmdk'];
export const BACKENDS = ['pvc', 'nfs', 's3'];

const invalid = (op: string, msg: string) => new ProviderError('InvalidSpec', `${op}: ${msg}`, op);

export function needVm(s: MemoryState, id: string, op: string): VMRecord {
  const vm = s.vms[id];
  if (!vm) throw new ProviderError('NotFound', `${op}: VM ${JSON.stringify(id)} not found`, op);
  return vm;
}

export function prepareImage(s: MemoryState, req: ImagePrepareRequest): { id: string; path: string } {
  const op = 'ImagePrepare';
  if (!req.targetName) throw invalid(op, 'target name is required');
  let spec: { prepare?: { onMissing?: string } };
  try {
    spec = JSON.parse(req.imageJson || '{}');
  } catch (e) {
    throw invalid(op, `image_json is not JSON: ${(e as Error).message}`);
  }
  // Preparing an image twice returns the first result, like providers that find the target existing.
  const found = s.images[req.targetName];
  // onMissing Fail or Wait: nothing is imported; the image must have been put there (providedImage) by someone else.
  const onMissing = spec?.prepare?.onMissing ?? 'Import';
  if (!found && onMissing !== 'Import') throw new ProviderError('NotFound', `${op}: image ${JSON.stringify(req.targetName)} is not on this provider (spec.prepare.onMissing ${onMissing}: not importing it)`, op);
  const img = found ?? { id: `img-${req.targetName}`, path: `/memory/images/${req.targetName}.qcow2` };
  s.images[req.targetName] = img;
  return img;
}

/** An image put on the provider by an outside preparer (what onMissing Wait waits for). */
export function provideImage(s: MemoryState, targetName: string): void {
  s.images[targetName] ??= { id: `img-${targetName}`, path: `/memory/images/${targetName}.qcow2` };
}

function checkTransfer(op: string, format: string, backendType: string, url: string): void {
  if (!url) throw invalid(op, 'a staging URL is required');
  if (format && !DISK_FORMATS.includes(format)) throw invalid(op, `format ${JSON.stringify(format)} not supported (${DISK_FORMATS.join(', ')})`);
  if (backendType && !BACKENDS.includes(backendType)) throw invalid(op, `backend ${JSON.stringify(backendType)} not supported`);
  if (backendType === 'nfs' && !url.startsWith('nfs://')) throw invalid(op, 'the nfs backend needs an nfs:// URL');
}

export function exportDisk(s: MemoryState, req: ExportDiskRequest): { exportId: string; sizeBytes: number; checksum: string } {
  const op = 'ExportDisk';
  const vm = needVm(s, req.vmId, op);
  const d = req.diskId ? vm.disks.find((x) => x.id === req.diskId) : vm.disks[0];
  if (!d) throw new ProviderError('NotFound', `${op}: disk ${JSON.stringify(req.diskId)} of VM ${vm.id} not found`, op);
  if (req.snapshotId && !vm.snapshots.some((x) => x.id === req.snapshotId)) {
    throw new ProviderError('NotFound', `${op}: snapshot ${JSON.stringify(req.snapshotId)} not found`, op);
  }
  checkTransfer(op, req.format, req.backendType, req.url);
  const rec = {
    exportId: `exp-${vm.id}-${MemoryStore.next(s)}`,
    sizeBytes: diskBytes(d),
    checksum: sha256Hex(`${d.id}@${req.snapshotId}:${d.sizeGiB}`),
  };
  s.exports[req.url] = rec;
  return rec;
}

export function importDisk(s: MemoryState, req: ImportDiskRequest): { diskId: string; path: string; sizeBytes: number; checksum: string } {
  const op = 'ImportDisk';
  if (!req.targetName) throw invalid(op, 'target name is required');
  checkTransfer(op, req.format, req.backendType, req.url);
  const staged = s.exports[req.url];
  if (!staged) throw new ProviderError('NotFound', `${op}: nothing staged at ${req.url}`, op);
  if (req.verifyChecksum && req.expectedChecksum && req.expectedChecksum !== staged.checksum) {
    throw invalid(op, `checksum mismatch: expected ${req.expectedChecksum}, staged ${staged.checksum}`);
  }
  const rec = {
    id: `imp-${req.targetName}`,
    path: `/memory/imports/${req.targetName}.${req.format || 'qcow2'}`,
    format: req.format || 'qcow2',
    sizeBytes: staged.sizeBytes,
    checksum: staged.checksum,
  };
  s.imports[rec.id] = rec;
  return { diskId: rec.id, path: rec.path, sizeBytes: rec.sizeBytes, checksum: rec.checksum };
}

export function diskInfo(s: MemoryState, vmId: string, diskId: string, snapshotId: string): DiskInfo {
  const op = 'GetDiskInfo';
  const vm = needVm(s, vmId, op);
  const d = diskId ? vm.disks.find((x) => x.id === diskId) : vm.disks[0];
  if (!d) throw new ProviderError('NotFound', `${op}: disk ${JSON.stringify(diskId)} of VM ${vm.id} not found`, op);
  if (snapshotId && !vm.snapshots.some((x) => x.id === snapshotId)) {
    throw new ProviderError('NotFound', `${op}: snapshot ${JSON.stringify(snapshotId)} not found`, op);
  }
  return {
    diskId: d.id,
    format: d.format,
    virtualSizeBytes: diskBytes(d),
    // Thin provisioning: a deterministic quarter of the capacity is allocated.
    actualSizeBytes: Math.floor(diskBytes(d) / 4),
    path: d.path,
    isBootable: d === vm.disks[0],
    snapshots: vm.snapshots.map((x) => x.id),
    backingFile: d.backingFile,
    metadata: { name: d.name, type: d.type },
  };
}
