import { s } from '../../schema';

/**
 * Upstream Kubernetes types embedded in our schemas (k8s.io/api v0.32 shapes),
 * each a function of the description it gets at the place it is used.
 */

/** core/v1 Probe. */
export const probe = (description: string) =>
  s.object({
    description,
    properties: {
      exec: s.object({
        description: 'Probe by running a command in the container.',
        properties: {
          command: s.array(s.string({ description: 'Argv to run.' }), { description: 'Argv to run.' }),
        },
      }),
      failureThreshold: s.int32({ description: 'Consecutive failures before the probe fails.' }),
      grpc: s.object({
        description: 'gRPC health-check probe.',
        required: ['port'],
        properties: {
          port: s.int32({ description: 'Port of the gRPC health service.' }),
          service: s.string({ description: 'Service name sent in the health request.', default: "" }),
        },
      }),
      httpGet: s.object({
        description: 'HTTP GET probe.',
        required: ['port'],
        properties: {
          host: s.string({ description: 'Host header/target; empty = pod IP.' }),
          httpHeaders: s.array(s.object({
            description: 'Extra request headers.',
            required: ['name', 'value'],
            properties: {
              name: s.string({ description: 'Header name.' }),
              value: s.string({ description: 'Header value.' }),
            },
          }), { description: 'Extra request headers.' }),
          path: s.string({ description: 'Request path.' }),
          port: s.intOrString({ description: 'Port number or named port.' }),
          scheme: s.string({ description: 'HTTP or HTTPS.' }),
        },
      }),
      initialDelaySeconds: s.int32({ description: 'Delay before first probe.' }),
      periodSeconds: s.int32({ description: 'Probe interval.' }),
      successThreshold: s.int32({ description: 'Consecutive successes before success.' }),
      tcpSocket: s.object({
        description: 'TCP connect probe.',
        required: ['port'],
        properties: {
          host: s.string({ description: 'Target host; empty = pod IP.' }),
          port: s.intOrString({ description: 'Port number or named port.' }),
        },
      }),
      terminationGracePeriodSeconds: s.int64({ description: 'Grace period used when the probe kills the pod.' }),
      timeoutSeconds: s.int32({ description: 'Per-probe timeout.' }),
    },
  });

/** core/v1 SecurityContext (container level). */
export const securityContext = (description: string) =>
  s.object({
    description,
    properties: {
      allowPrivilegeEscalation: s.boolean({ description: 'Allow gaining more privileges than the parent.' }),
      appArmorProfile: s.object({
        description: 'AppArmor profile.',
        required: ['type'],
        properties: {
          localhostProfile: s.string({ description: 'Profile name when type is Localhost.' }),
          type: s.string({ description: 'Profile kind.' }),
        },
      }),
      capabilities: s.object({
        description: 'Linux capabilities.',
        properties: {
          add: s.array(s.string({ description: 'Capabilities to add.' }), { description: 'Capabilities to add.' }),
          drop: s.array(s.string({ description: 'Capabilities to drop.' }), { description: 'Capabilities to drop.' }),
        },
      }),
      privileged: s.boolean({ description: 'Run privileged.' }),
      procMount: s.string({ description: '/proc mount type.' }),
      readOnlyRootFilesystem: s.boolean({ description: 'Read-only root filesystem.' }),
      runAsGroup: s.int64({ description: 'Primary GID.' }),
      runAsNonRoot: s.boolean({ description: 'Refuse to run as UID 0.' }),
      runAsUser: s.int64({ description: 'UID.' }),
      seLinuxOptions: s.object({
        description: 'SELinux labels.',
        properties: {
          level: s.string({ description: 'SELinux level.' }),
          role: s.string({ description: 'SELinux role.' }),
          type: s.string({ description: 'SELinux type.' }),
          user: s.string({ description: 'SELinux user.' }),
        },
      }),
      seccompProfile: s.object({
        description: 'Seccomp profile.',
        required: ['type'],
        properties: {
          localhostProfile: s.string({ description: 'Profile file when type is Localhost.' }),
          type: s.string({ description: 'Profile kind.' }),
        },
      }),
      windowsOptions: s.object({
        description: 'Windows-specific options.',
        properties: {
          gmsaCredentialSpec: s.string({ description: 'GMSA spec content.' }),
          gmsaCredentialSpecName: s.string({ description: 'GMSA spec name.' }),
          hostProcess: s.boolean({ description: 'Run as Windows host process.' }),
          runAsUserName: s.string({ description: 'Windows user name.' }),
        },
      }),
    },
  });

/** core/v1 ResourceRequirements. */
export const resourceRequirements = (description: string) =>
  s.object({
    description,
    properties: {
      claims: s.array(s.object({
        description: 'Dynamic resource claims used by the container.',
        required: ['name'],
        properties: {
          name: s.string({ description: 'Claim name (list key)' }),
          request: s.string({ description: 'Specific request inside the claim.' }),
        },
      }), { description: 'Dynamic resource claims used by the container.' }),
      limits: s.map(s.quantity({ description: 'Maximum resources by name (cpu, memory, ...)' }), { description: 'Maximum resources by name (cpu, memory, ...)' }),
      requests: s.map(s.quantity({ description: 'Requested resources by name.' }), { description: 'Requested resources by name.' }),
    },
  });

/** core/v1 EnvVar. */
export const envVar = (description: string) =>
  s.object({
    description,
    required: ['name'],
    properties: {
      name: s.string({ description: 'Variable name.' }),
      value: s.string({ description: 'Literal value.' }),
      valueFrom: s.object({
        description: 'Value source.',
        properties: {
          configMapKeyRef: s.object({
            description: 'From a ConfigMap key.',
            required: ['key'],
            properties: {
              key: s.string({ description: 'Key.' }),
              name: s.string({ description: 'ConfigMap name.', default: "" }),
              optional: s.boolean({ description: 'Tolerate absence.' }),
            },
          }),
          fieldRef: s.object({
            description: 'From a pod field.',
            required: ['fieldPath'],
            properties: {
              apiVersion: s.string({ description: 'Schema version of fieldPath.' }),
              fieldPath: s.string({ description: 'Pod field path.' }),
            },
          }),
          resourceFieldRef: s.object({
            description: 'From a container resource.',
            required: ['resource'],
            properties: {
              containerName: s.string({ description: 'Container name.' }),
              divisor: s.quantity({ description: 'Output unit.' }),
              resource: s.string({ description: 'Resource name.' }),
            },
          }),
          secretKeyRef: s.object({
            description: 'From a Secret key.',
            required: ['key'],
            properties: {
              key: s.string({ description: 'Key.' }),
              name: s.string({ description: 'Secret name.', default: "" }),
              optional: s.boolean({ description: 'Tolerate absence.' }),
            },
          }),
        },
      }),
    },
  });

/** core/v1 Toleration. */
export const toleration = (description: string) =>
  s.object({
    description,
    properties: {
      effect: s.string({ description: 'Taint effect matched (NoSchedule, PreferNoSchedule, NoExecute; empty = all)' }),
      key: s.string({ description: 'Taint key.' }),
      operator: s.string({ description: 'Exists or Equal (empty = Equal)' }),
      tolerationSeconds: s.int64({ description: 'Tolerance time for NoExecute.' }),
      value: s.string({ description: 'Taint value.' }),
    },
  });

/** meta/v1 LabelSelector. */
export const labelSelector = (description: string) =>
  s.object({
    description,
    mapType: 'atomic',
    properties: {
      matchExpressions: s.array(s.object({
        description: 'Set-based requirements (ANDed)',
        required: ['key', 'operator'],
        properties: {
          key: s.string({ description: 'Label key.' }),
          operator: s.string({ description: 'In, NotIn, Exists, DoesNotExist.' }),
          values: s.array(s.string({ description: 'Values for In/NotIn.' }), { description: 'Values for In/NotIn.' }),
        },
      }), { description: 'Set-based requirements (ANDed)' }),
      matchLabels: s.map(s.string({ description: 'Exact label matches (ANDed)' }), { description: 'Exact label matches (ANDed)' }),
    },
  });

/** core/v1 PersistentVolumeClaimSpec. */
export const persistentVolumeClaimSpec = (description: string) =>
  s.object({
    description,
    properties: {
      accessModes: s.array(s.string({ description: 'Requested access modes.' }), { description: 'Requested access modes.' }),
      dataSource: s.object({
        description: 'Pre-populate from an object.',
        required: ['kind', 'name'],
        properties: {
          apiGroup: s.string({ description: 'API group of the source.' }),
          kind: s.string({ description: 'Kind of the source.' }),
          name: s.string({ description: 'Name of the source.' }),
        },
      }),
      dataSourceRef: s.object({
        description: 'Pre-populate from an object (cross-namespace capable)',
        required: ['kind', 'name'],
        properties: {
          apiGroup: s.string({ description: 'API group.' }),
          kind: s.string({ description: 'Kind.' }),
          name: s.string({ description: 'Name.' }),
          namespace: s.string({ description: 'Namespace.' }),
        },
      }),
      resources: s.object({
        description: 'Requested storage.',
        properties: {
          limits: s.map(s.quantity({ description: 'Maximum storage.' }), { description: 'Maximum storage.' }),
          requests: s.map(s.quantity({ description: 'Requested storage size.' }), { description: 'Requested storage size.' }),
        },
      }),
      selector: labelSelector('PV label selector.'),
      storageClassName: s.string({ description: 'StorageClass.' }),
      volumeAttributesClassName: s.string({ description: 'VolumeAttributesClass.' }),
      volumeMode: s.string({ description: 'Filesystem or Block.' }),
      volumeName: s.string({ description: 'Bind to this PV.' }),
    },
  });

const selectorRequirement = (description: string) =>
  s.object({
    description,
    required: ['key', 'operator'],
    properties: {
      key: s.string({ description: 'Label or field key the requirement applies to.' }),
      operator: s.string({ description: 'In, NotIn, Exists, DoesNotExist, Gt or Lt.' }),
      values: s.array(s.string({ description: 'A value.' }), { description: 'Values for In/NotIn (one for Gt/Lt).', listType: 'atomic' }),
    },
  });

const nodeSelectorTerm = (description: string) =>
  s.object({
    description,
    mapType: 'atomic',
    properties: {
      matchExpressions: s.array(selectorRequirement('A requirement on node labels.'), { description: 'Requirements on node labels.', listType: 'atomic' }),
      matchFields: s.array(selectorRequirement('A requirement on node fields.'), { description: 'Requirements on node fields.', listType: 'atomic' }),
    },
  });

const podAffinityTerm = (description: string) =>
  s.object({
    description,
    required: ['topologyKey'],
    properties: {
      labelSelector: labelSelector('Peer pods this term selects.'),
      matchLabelKeys: s.array(s.string({ description: 'A label key.' }), { description: 'Label keys copied from the incoming pod into the selector.', listType: 'atomic' }),
      mismatchLabelKeys: s.array(s.string({ description: 'A label key.' }), { description: 'Label keys whose values must differ from the incoming pod.', listType: 'atomic' }),
      namespaceSelector: labelSelector('Namespaces this term applies to, by label.'),
      namespaces: s.array(s.string({ description: 'A namespace name.' }), { description: 'Namespaces this term applies to, by name.', listType: 'atomic' }),
      topologyKey: s.string({ description: 'Node label key whose value defines the topology domain.' }),
    },
  });

const weightedPodAffinityTerm = (description: string) =>
  s.object({
    description,
    required: ['podAffinityTerm', 'weight'],
    properties: {
      podAffinityTerm: podAffinityTerm('The term.'),
      weight: s.int32({ description: 'Weight 1-100 added to a node that matches.' }),
    },
  });

const podAffinity = (description: string) =>
  s.object({
    description,
    properties: {
      preferredDuringSchedulingIgnoredDuringExecution: s.array(weightedPodAffinityTerm('A weighted term.'), { description: 'Weighted preferences.', listType: 'atomic' }),
      requiredDuringSchedulingIgnoredDuringExecution: s.array(podAffinityTerm('A hard term.'), { description: 'Hard requirements.', listType: 'atomic' }),
    },
  });

/** core/v1 Affinity. */
export const affinity = (description: string) =>
  s.object({
    description,
    properties: {
      nodeAffinity: s.object({
        description: 'Node affinity rules.',
        properties: {
          preferredDuringSchedulingIgnoredDuringExecution: s.array(
            s.object({
              description: 'A weighted node preference.',
              required: ['preference', 'weight'],
              properties: {
                preference: nodeSelectorTerm('The preferred term.'),
                weight: s.int32({ description: 'Weight 1-100.' }),
              },
            }),
            { description: 'Weighted node preferences.', listType: 'atomic' },
          ),
          requiredDuringSchedulingIgnoredDuringExecution: s.object({
            description: 'Hard node requirement.',
            mapType: 'atomic',
            required: ['nodeSelectorTerms'],
            properties: {
              nodeSelectorTerms: s.array(nodeSelectorTerm('A term; terms are ORed.'), { description: 'Terms ORed together.', listType: 'atomic' }),
            },
          }),
        },
      }),
      podAffinity: podAffinity('Pod affinity rules.'),
      podAntiAffinity: podAffinity('Pod anti-affinity rules.'),
    },
  });
