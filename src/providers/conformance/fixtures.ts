/**
 * Request payloads for provider tests, shaped exactly like the manager's
 * (§15.5): every key present, nulls where the Go structs hold nil.
 */
import { randomUUID } from 'node:crypto';
import type { ClassPayload, CreateRequest, ImagePayload, VMPayload } from '../provider';

export function classPayload(cpu = 2, memoryMiB = 2048): ClassPayload {
  return {
    CPU: cpu,
    MemoryMiB: memoryMiB,
    Firmware: 'BIOS',
    DiskDefaults: { Type: 'thin', SizeGiB: 20 },
    GuestToolsPolicy: 'install',
    ExtraConfig: null,
    PerformanceProfile: null,
    SecurityProfile: null,
    ResourceLimits: null,
  };
}

export function imagePayload(): ImagePayload {
  return { TemplateName: 'ubuntu-22.04', Path: '', URL: '', Format: 'template', Checksum: '', ChecksumType: 'sha256' };
}

export function createRequest(name: string, over: Partial<CreateRequest> = {}): CreateRequest {
  return {
    name,
    class: classPayload(),
    image: imagePayload(),
    networks: [{
      Name: 'eth0', Portgroup: '', NetworkName: 'lab-net', Bridge: '', VLAN: 0, Model: 'virtio', MacAddress: '',
      IPPolicy: '', StaticIP: '', Prefix: 0, Gateway: '', DNS: '', PCISlotNumber: null,
    }],
    disks: [{ SizeGiB: 10, Type: 'thin', Name: 'data' }],
    tags: ['conformance'],
    ...over,
  };
}

/** A fresh VM uid, as the API server issues them (a UUID). */
export function fixtureUid(): string {
  return randomUUID();
}

/** The reconfigure payload (`desired_json`) for a create request, resized. */
export function desiredPayload(req: CreateRequest, cpu: number, memoryMiB: number): VMPayload {
  return {
    Name: req.name,
    Class: { ...req.class, CPU: cpu, MemoryMiB: memoryMiB },
    Image: req.image,
    Networks: [...req.networks],
    Disks: [...req.disks],
    UserData: req.userData ? { CloudInitData: req.userData, Type: 'cloud-init' } : null,
    MetaData: req.metaData ? { MetaDataYAML: req.metaData } : null,
    Placement: req.placement ?? null,
    Tags: [...req.tags],
  };
}
