/**
 * The JSON payloads carried in string fields (§15.5), written the way the
 * Go manager writes them: struct field order, every key present, nil as
 * `null` (empty slices included), and Go's HTML-safe escaping, so a Go
 * provider receives byte-for-byte what the Go manager would send.
 */
import {
  ProviderError, type ClassPayload, type CreateRequest, type DiskPayload, type ImagePayload, type NetworkPayload,
  type PlacementPayload, type VMPayload,
} from '../provider';

/** JSON.stringify plus encoding/json's escaping of <, >, & and U+2028/2029. */
export function goJson(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const nil = <T>(v: T | undefined | null): T | null => (v === undefined ? null : v);
const slice = <T>(a: readonly T[] | null | undefined): T[] | null => (a && a.length ? [...a] : null);

export function classShape(c: ClassPayload): ClassPayload {
  return {
    CPU: c.CPU,
    MemoryMiB: c.MemoryMiB,
    Firmware: c.Firmware ?? '',
    DiskDefaults: c.DiskDefaults ? { Type: c.DiskDefaults.Type ?? '', SizeGiB: c.DiskDefaults.SizeGiB ?? 0 } : null,
    GuestToolsPolicy: c.GuestToolsPolicy ?? '',
    ExtraConfig: nil(c.ExtraConfig),
    PerformanceProfile: nil(c.PerformanceProfile),
    SecurityProfile: nil(c.SecurityProfile),
    ResourceLimits: nil(c.ResourceLimits),
  };
}

export function imageShape(i: ImagePayload): ImagePayload {
  return {
    TemplateName: i.TemplateName ?? '', Path: i.Path ?? '', URL: i.URL ?? '',
    Format: i.Format ?? '', Checksum: i.Checksum ?? '', ChecksumType: i.ChecksumType ?? '',
    ...(i.FullClone !== undefined ? { FullClone: i.FullClone } : {}),
    ...(i.Storage ? { Storage: i.Storage } : {}),
  };
}

export function networkShape(n: NetworkPayload): NetworkPayload {
  return {
    Name: n.Name ?? '', Portgroup: n.Portgroup ?? '', NetworkName: n.NetworkName ?? '', Bridge: n.Bridge ?? '',
    VLAN: n.VLAN ?? 0, Model: n.Model ?? '', MacAddress: n.MacAddress ?? '', IPPolicy: n.IPPolicy ?? '',
    StaticIP: n.StaticIP ?? '', Prefix: n.Prefix ?? 0, Gateway: n.Gateway ?? '', DNS: n.DNS ?? '',
    PCISlotNumber: nil(n.PCISlotNumber),
    ...(n.IngressLimit ? { IngressLimit: n.IngressLimit } : {}),
    ...(n.EgressLimit ? { EgressLimit: n.EgressLimit } : {}),
    ...(n.Firewall ? { Firewall: true } : {}),
    ...(n.RateLimit ? { RateLimit: n.RateLimit } : {}),
    ...(n.MTU ? { MTU: n.MTU } : {}),
  };
}

export function diskShape(d: DiskPayload): DiskPayload {
  return { SizeGiB: d.SizeGiB, Type: d.Type ?? '', Name: d.Name ?? '' };
}

export function placementShape(p: PlacementPayload): PlacementPayload {
  return {
    Datastore: p.Datastore ?? '', StoragePod: p.StoragePod ?? '', Cluster: p.Cluster ?? '', Folder: p.Folder ?? '', Host: p.Host ?? '',
    ...(p.ResourcePool ? { ResourcePool: p.ResourcePool } : {}),
  };
}

/** The string fields of a CreateRequest. */
export function createJson(req: CreateRequest) {
  return {
    class_json: goJson(classShape(req.class)),
    image_json: goJson(imageShape(req.image)),
    networks_json: goJson(slice(req.networks.map(networkShape))),
    disks_json: goJson(slice(req.disks.map(diskShape))),
    // Omitted entirely (empty string) when the VM has no placement.
    placement_json: req.placement ? goJson(placementShape(req.placement)) : '',
  };
}

export function desiredJson(v: VMPayload): string {
  return goJson({
    Name: v.Name,
    Class: classShape(v.Class),
    Image: imageShape(v.Image),
    Networks: slice(v.Networks?.map(networkShape)),
    Disks: slice(v.Disks?.map(diskShape)),
    UserData: v.UserData ? { CloudInitData: v.UserData.CloudInitData, Type: 'cloud-init' } : null,
    MetaData: v.MetaData ? { MetaDataYAML: v.MetaData.MetaDataYAML } : null,
    Placement: v.Placement ? placementShape(v.Placement) : null,
    Tags: slice(v.Tags),
  });
}

/** Server side: parses a JSON string field; malformed JSON is the caller's fault (InvalidSpec). */
export function parseField<T>(rpc: string, field: string, text: string, empty: T): T {
  if (!text) return empty;
  try {
    const v = JSON.parse(text) as T | null;
    return v === null ? empty : v;
  } catch (e) {
    throw new ProviderError('InvalidSpec', `${rpc}: ${field} is not valid JSON: ${(e as Error).message}`, rpc);
  }
}

/** Server side: a desired_json payload, with Go's nulls turned back into empty lists. */
export function parseDesired(text: string): VMPayload {
  const v = parseField<Partial<VMPayload> | null>('Reconfigure', 'desired_json', text, null);
  if (!v || typeof v !== 'object' || !v.Class) {
    throw new ProviderError('InvalidSpec', 'Reconfigure: desired_json lacks Class', 'Reconfigure');
  }
  return {
    Name: v.Name ?? '',
    Class: v.Class,
    Image: v.Image ?? imageShape({} as ImagePayload),
    Networks: v.Networks ?? [],
    Disks: v.Disks ?? [],
    UserData: v.UserData ?? null,
    MetaData: v.MetaData ?? null,
    Placement: v.Placement ?? null,
    Tags: v.Tags ?? [],
  };
}

/**
 * Client side: `provider_raw_json` as an object. Like the manager, a value
 * that is not a JSON object yields `{parseError: <message>}` instead of failing.
 */
export function parseProviderRaw(text: string): Record<string, unknown> {
  if (!text) return {};
  try {
    const v: unknown = JSON.parse(text);
    if (v === null) return {}; // Go leaves the map nil: no error.
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    return { parseError: `provider_raw_json is not a JSON object: ${text.slice(0, 100)}` };
  } catch (e) {
    return { parseError: (e as Error).message };
  }
}
