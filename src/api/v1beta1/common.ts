import { s } from '../../schema';

/** API group of every kind. */
export const GROUP = 'infra.virtrigaud.io';
/** The one served and stored version. */
export const VERSION = 'v1beta1';
/** `kubectl get virtrigaud` lists every kind. */
export const CATEGORY = 'virtrigaud';

// Patterns (inventory §2.3), kept exactly as VirtRigaud publishes them.
export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const OCTET = '(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)';
export const IPV4 = `^(${OCTET}\\.){3}${OCTET}$`;
export const IPV4_CIDR = `^(${OCTET}\\.){3}${OCTET}/([0-9]|[1-2][0-9]|3[0-2])$`;
export const MAC = '^([0-9A-Fa-f]{2}[:-]){5}([0-9A-Fa-f]{2})$';
export const PROVIDER_IMAGE = '^[a-zA-Z0-9._/-]+(:[a-zA-Z0-9._-]+)?(@[a-zA-Z0-9]+:[a-fA-F0-9]{64})?$';
export const PROVIDER_ENDPOINT =
  '^((https?://[a-zA-Z0-9.-]+(:[0-9]+)?(/.*)?|(tcp|grpc)://[a-zA-Z0-9.-]+:[0-9]+(/.*)?)|qemu(\\+ssh|\\+tcp|\\+tls)?://([a-zA-Z0-9@.-]+(:[0-9]+)?)?(/.*))$';
export const CRON =
  '^(@(annually|yearly|monthly|weekly|daily|hourly|reboot))|(@every (\\d+(ns|us|µs|ms|s|m|h))+)|((((\\d+,)+\\d+|(\\d+(\\/|-)\\d+)|\\d+|\\*) ?){5,7})$';

/** Name of an object of our kinds or of a Secret/ConfigMap. */
const refName = (description: string) => s.string({ description, maxLength: 253, pattern: DNS_LABEL });
const refNamespace = () =>
  s.string({ description: "Namespace of the referenced object; empty means the referring object's namespace.", maxLength: 63, pattern: DNS_LABEL });

/** A reference by name, optionally in another namespace. */
export const objectRef = (description: string) =>
  s.object({
    description,
    required: ['name'],
    properties: { name: refName(`Name of the referenced object. ${description}`), namespace: refNamespace() },
  });

/** A reference by name to an object in the same namespace. */
export const localObjectRef = (description: string) =>
  s.object({
    description,
    required: ['name'],
    properties: { name: refName(`Name of the referenced object. ${description}`) },
  });

/** meta/v1 Condition (inventory §2.4). */
export const condition = s.object({
  description: 'One aspect of the current state (metav1.Condition).',
  required: ['lastTransitionTime', 'message', 'reason', 'status', 'type'],
  properties: {
    lastTransitionTime: s.dateTime({ description: 'When the condition last changed from one status to another.' }),
    message: s.string({ description: 'Human-readable details of the last transition (may be empty).', maxLength: 32768 }),
    observedGeneration: s.int64({ description: 'metadata.generation the condition was computed from.', minimum: 0 }),
    reason: s.string({
      description: 'CamelCase, machine-readable reason for the last transition.',
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    }),
    status: s.enumOf(['True', 'False', 'Unknown'], { description: 'Status of the condition.' }),
    type: s.string({
      description: 'Condition type in CamelCase or domain/CamelCase, e.g. Ready.',
      maxLength: 316,
      pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    }),
  },
});

/** `status.conditions`: one entry per type, merged by type under server-side apply. */
export const conditions = () =>
  s.array(condition, {
    description: 'Standard conditions (type/status/reason/message), one per type.',
    maxItems: 32,
    listType: 'map',
    listMapKeys: ['type'],
  });
