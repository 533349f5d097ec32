import { cel, s } from '../../schema';

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
  '^((https?://[a-zA-Z0-9.-]+(:[0-9]+)?(/.*)?|(tcp|grpc)://[a-zA-Z0-9.-]+:[0-9]+(/.*)?)|qemu(\\+ssh|\\+tcp|\\+tls)?://([a-zA-Z0-9@.-]+(:[0-9]+)?)?(/.*)|firecracker:///.*)$';
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

/**
 * Consent of a referenced object (Provider, VMClass, VMImage) to be used from
 * other namespaces, in the spirit of Gateway API's allowedRoutes: without it
 * only objects in the same namespace may reference it, so no tenant can use
 * another team's Provider (and its credentials) by naming its namespace.
 */
export const allowedNamespaces = (kind: string) =>
  s.object({
    description: `Namespaces whose objects may reference this ${kind}. Default: only its own namespace. A VirtualMachine in a namespace not allowed here gets Ready=False with reason ReferenceNotPermitted.`,
    properties: {
      from: s.enumOf(['Same', 'All', 'Selector'], {
        description: `Same: only this ${kind}'s namespace (plus \`names\`); All: every namespace; Selector: namespaces whose labels match \`selector\` (plus \`names\`).`,
        default: 'Same',
      }),
      names: s.array(s.string({ description: 'A namespace allowed to reference this object.', maxLength: 63, pattern: DNS_LABEL }), {
        description: 'Further namespaces allowed by name, whatever `from` says.',
        maxItems: 256,
        listType: 'set',
      }),
      selector: s.object({
        description: 'Namespaces allowed by label (with from: Selector), a meta/v1 LabelSelector.',
        mapType: 'atomic',
        properties: {
          matchExpressions: s.array(
            s.object({
              description: 'A set-based requirement (ANDed).',
              required: ['key', 'operator'],
              properties: {
                key: s.string({ description: 'Label key.', maxLength: 317 }),
                operator: s.enumOf(['In', 'NotIn', 'Exists', 'DoesNotExist'], { description: 'In, NotIn, Exists or DoesNotExist.' }),
                values: s.array(s.string({ description: 'A value for In/NotIn.', maxLength: 63 }), { description: 'Values for In/NotIn; empty for Exists/DoesNotExist.', maxItems: 64 }),
              },
            }),
            { description: 'Set-based requirements (ANDed).', maxItems: 16 },
          ),
          matchLabels: s.map(s.string({ description: 'A label value.', maxLength: 63 }), { description: 'Exact label matches (ANDed).', maxProperties: 32 }),
        },
      }),
    },
    rules: [cel.presentWhen('selector', 'from', 'Selector', { message: 'selector is required with from: Selector and used only with it' })],
  });
