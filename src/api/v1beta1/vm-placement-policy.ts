import { s, defineKind, cel } from '../../schema';
import { GROUP, VERSION, CATEGORY, DNS_LABEL, IPV4, IPV4_CIDR, MAC, PROVIDER_IMAGE, PROVIDER_ENDPOINT, CRON, objectRef, localObjectRef, conditions } from './common';
import * as k8s from './k8s';

const applicationAffinity = (description: string) => s.object({
  description,
  required: ['enabled'],
  properties: {
    applicationLabel: s.string({ description: 'Label key identifying the application.', default: "app" }),
    enabled: s.boolean({ description: 'Rule active.' }),
    scope: s.enumOf(['strict', 'preferred'], { description: 'Strict or preferred.' }),
  },
});

const item = (description: string) => s.object({
  description,
  required: ['key', 'operator'],
  properties: {
    key: s.string({ description: 'Label key.', maxLength: 253 }),
    operator: s.enumOf(['In', 'NotIn', 'Exists', 'DoesNotExist'], { description: 'Set operator.' }),
    values: s.array(s.string({ description: 'Values for In / NotIn.' }), { description: 'Values for In / NotIn.', maxItems: 50 }),
  },
});

const itemX = (description: string) => s.object({
  description,
  properties: {
    effect: s.enumOf(['NoSchedule', 'PreferNoSchedule', 'NoExecute'], { description: 'Taint effect matched; empty = all.' }),
    key: s.string({ description: 'Taint key; empty with Exists matches all.', maxLength: 253 }),
    operator: s.enumOf(['Exists', 'Equal'], { description: 'Exists or Equal.', default: "Equal" }),
    tolerationSeconds: s.int64({ description: 'How long a NoExecute taint is tolerated.', minimum: 0 }),
    value: s.string({ description: 'Taint value for Equal.', maxLength: 253 }),
  },
});

const vmAffinityTerm = (description: string) => s.object({
  description,
  required: ['topologyKey'],
  properties: {
    labelSelector: k8s.labelSelector('Label selector for peer VMs (metav1.LabelSelector, see K8S-LS)'),
    matchExpressions: s.array(s.object({
      description: 'Additional label requirements on peer VMs.',
      required: ['key', 'operator'],
      properties: {
        key: s.string({ description: 'Label key.', maxLength: 253 }),
        operator: s.enumOf(['In', 'NotIn', 'Exists', 'DoesNotExist'], { description: 'Set operator.' }),
        values: s.array(s.string({ description: 'Values for In / NotIn.' }), { description: 'Values for In / NotIn.', maxItems: 50 }),
      },
    }), { description: 'Additional label requirements on peer VMs.', maxItems: 20 }),
    namespaceSelector: k8s.labelSelector('Namespace label selector.'),
    namespaces: s.array(s.string({ description: 'Namespaces to search for peer VMs.' }), { description: 'Namespaces to search for peer VMs.', maxItems: 20 }),
    topologyKey: s.string({ description: 'Topology domain key the rule applies across.', maxLength: 253 }),
  },
});

const itemXX = (description: string) => s.object({
  description,
  required: ['vmAffinityTerm', 'weight'],
  properties: {
    vmAffinityTerm: s.object({
      description: 'The VMAffinityTerm.',
      required: ['topologyKey'],
      properties: {
        labelSelector: k8s.labelSelector('Label selector for peer VMs (metav1.LabelSelector, see K8S-LS)'),
        matchExpressions: s.array(s.object({
          description: 'Additional label requirements on peer VMs.',
          required: ['key', 'operator'],
          properties: {
            key: s.string({ description: 'Label key.', maxLength: 253 }),
            operator: s.enumOf(['In', 'NotIn', 'Exists', 'DoesNotExist'], { description: 'Set operator.' }),
            values: s.array(s.string({ description: 'Values for In / NotIn.' }), { description: 'Values for In / NotIn.', maxItems: 50 }),
          },
        }), { description: 'Additional label requirements on peer VMs.', maxItems: 20 }),
        namespaceSelector: k8s.labelSelector('Namespace label selector.'),
        namespaces: s.array(s.string({ description: 'Namespaces to search for peer VMs.' }), { description: 'Namespaces to search for peer VMs.', maxItems: 20 }),
        topologyKey: s.string({ description: 'Topology domain key the rule applies across.', maxLength: 253 }),
      },
    }),
    weight: s.int32({ description: 'Preference weight.', minimum: 1, maximum: 100 }),
  },
});

export const vmPlacementPolicySpec = s.object({
  description: 'Placement rules for VMs (whole kind is: no controller and never read)',
  properties: {
    affinity: s.object({
      description: 'Co-location rules.',
      properties: {
        applicationAffinity: applicationAffinity('Keep the same application together.'),
        clusterAffinity: s.object({
          description: 'Prefer specific clusters.',
          required: ['enabled'],
          properties: {
            enabled: s.boolean({ description: 'Rule active.' }),
            preferredClusters: s.array(s.string({ description: 'Preferred clusters.' }), { description: 'Preferred clusters.', maxItems: 20 }),
            scope: s.enumOf(['strict', 'preferred'], { description: 'Strict or preferred.' }),
          },
        }),
        datastoreAffinity: s.object({
          description: 'Prefer specific datastores.',
          required: ['enabled'],
          properties: {
            enabled: s.boolean({ description: 'Rule active.' }),
            preferredDatastores: s.array(s.string({ description: 'Preferred datastores.' }), { description: 'Preferred datastores.', maxItems: 50 }),
            scope: s.enumOf(['strict', 'preferred'], { description: 'Strict or preferred.' }),
          },
        }),
        hostAffinity: s.object({
          description: 'Prefer specific hosts.',
          required: ['enabled'],
          properties: {
            enabled: s.boolean({ description: 'Rule active.' }),
            preferredHosts: s.array(s.string({ description: 'Preferred hosts.' }), { description: 'Preferred hosts.', maxItems: 50 }),
            scope: s.enumOf(['strict', 'preferred'], { description: 'Strict or preferred.' }),
          },
        }),
        vmAffinity: s.object({
          description: 'VM-to-VM affinity terms.',
          properties: {
            preferredDuringScheduling: s.array(s.object({
              description: 'Soft (weighted) affinity terms.',
              required: ['vmAffinityTerm', 'weight'],
              properties: {
                vmAffinityTerm: s.object({
                  description: 'The VMAffinityTerm.',
                  required: ['topologyKey'],
                  properties: {
                    labelSelector: k8s.labelSelector('Label selector for peer VMs (metav1.LabelSelector, see K8S-LS)'),
                    matchExpressions: s.array(item('Additional label requirements on peer VMs.'), { description: 'Additional label requirements on peer VMs.', maxItems: 20 }),
                    namespaceSelector: k8s.labelSelector('Namespace label selector.'),
                    namespaces: s.array(s.string({ description: 'Namespaces to search for peer VMs.' }), { description: 'Namespaces to search for peer VMs.', maxItems: 20 }),
                    topologyKey: s.string({ description: 'Topology domain key the rule applies across.', maxLength: 253 }),
                  },
                }),
                weight: s.int32({ description: 'Preference weight.', minimum: 1, maximum: 100 }),
              },
            }), { description: 'Soft (weighted) affinity terms.', maxItems: 20 }),
            requiredDuringScheduling: s.array(s.object({
              description: 'Hard affinity terms.',
              required: ['topologyKey'],
              properties: {
                labelSelector: k8s.labelSelector('Label selector for peer VMs (metav1.LabelSelector, see K8S-LS)'),
                matchExpressions: s.array(item('Additional label requirements on peer VMs.'), { description: 'Additional label requirements on peer VMs.', maxItems: 20 }),
                namespaceSelector: k8s.labelSelector('Namespace label selector.'),
                namespaces: s.array(s.string({ description: 'Namespaces to search for peer VMs.' }), { description: 'Namespaces to search for peer VMs.', maxItems: 20 }),
                topologyKey: s.string({ description: 'Topology domain key the rule applies across.', maxLength: 253 }),
              },
            }), { description: 'Hard affinity terms.', maxItems: 20 }),
          },
        }),
        zoneAffinity: s.object({
          description: 'Prefer specific zones.',
          required: ['enabled'],
          properties: {
            enabled: s.boolean({ description: 'Rule active.' }),
            preferredZones: s.array(s.string({ description: 'Preferred zones.' }), { description: 'Preferred zones.', maxItems: 10 }),
            scope: s.enumOf(['strict', 'preferred'], { description: 'Strict or preferred.' }),
          },
        }),
      },
    }),
    antiAffinity: s.object({
      description: 'Spread rules.',
      properties: {
        applicationAntiAffinity: applicationAffinity('Keep different applications apart.'),
        clusterAntiAffinity: s.object({
          description: 'Spread across clusters.',
          required: ['enabled'],
          properties: {
            enabled: s.boolean({ description: 'Rule active.' }),
            maxVMsPerCluster: s.int32({ description: 'VM cap per cluster.', minimum: 1, maximum: 10000 }),
            scope: s.enumOf(['strict', 'preferred'], { description: 'Strict or preferred.' }),
          },
        }),
        datastoreAntiAffinity: s.object({
          description: 'Spread across datastores.',
          required: ['enabled'],
          properties: {
            enabled: s.boolean({ description: 'Rule active.' }),
            maxVMsPerDatastore: s.int32({ description: 'VM cap per datastore.', minimum: 1, maximum: 10000 }),
            scope: s.enumOf(['strict', 'preferred'], { description: 'Strict or preferred.' }),
          },
        }),
        hostAntiAffinity: s.object({
          description: 'Spread across hosts.',
          required: ['enabled'],
          properties: {
            enabled: s.boolean({ description: 'Rule active.' }),
            maxVMsPerHost: s.int32({ description: 'VM cap per host.', minimum: 1, maximum: 1000 }),
            scope: s.enumOf(['strict', 'preferred'], { description: 'Strict or preferred.' }),
          },
        }),
        vmAntiAffinity: s.object({
          description: 'VM-to-VM anti-affinity terms.',
          properties: {
            preferredDuringScheduling: s.array(s.object({
              description: 'Soft (weighted) anti-affinity terms.',
              required: ['vmAffinityTerm', 'weight'],
              properties: {
                vmAffinityTerm: s.object({
                  description: 'The VMAffinityTerm.',
                  required: ['topologyKey'],
                  properties: {
                    labelSelector: k8s.labelSelector('Label selector for peer VMs (metav1.LabelSelector, see K8S-LS)'),
                    matchExpressions: s.array(item('Additional label requirements on peer VMs.'), { description: 'Additional label requirements on peer VMs.', maxItems: 20 }),
                    namespaceSelector: k8s.labelSelector('Namespace label selector.'),
                    namespaces: s.array(s.string({ description: 'Namespaces to search for peer VMs.' }), { description: 'Namespaces to search for peer VMs.', maxItems: 20 }),
                    topologyKey: s.string({ description: 'Topology domain key the rule applies across.', maxLength: 253 }),
                  },
                }),
                weight: s.int32({ description: 'Preference weight.', minimum: 1, maximum: 100 }),
              },
            }), { description: 'Soft (weighted) anti-affinity terms.', maxItems: 20 }),
            requiredDuringScheduling: s.array(s.object({
              description: 'Hard anti-affinity terms.',
              required: ['topologyKey'],
              properties: {
                labelSelector: k8s.labelSelector('Label selector for peer VMs (metav1.LabelSelector, see K8S-LS)'),
                matchExpressions: s.array(item('Additional label requirements on peer VMs.'), { description: 'Additional label requirements on peer VMs.', maxItems: 20 }),
                namespaceSelector: k8s.labelSelector('Namespace label selector.'),
                namespaces: s.array(s.string({ description: 'Namespaces to search for peer VMs.' }), { description: 'Namespaces to search for peer VMs.', maxItems: 20 }),
                topologyKey: s.string({ description: 'Topology domain key the rule applies across.', maxLength: 253 }),
              },
            }), { description: 'Hard anti-affinity terms.', maxItems: 20 }),
          },
        }),
        zoneAntiAffinity: s.object({
          description: 'Spread across zones.',
          required: ['enabled'],
          properties: {
            enabled: s.boolean({ description: 'Rule active.' }),
            maxVMsPerZone: s.int32({ description: 'VM cap per zone.', minimum: 1, maximum: 10000 }),
            scope: s.enumOf(['strict', 'preferred'], { description: 'Strict or preferred.' }),
          },
        }),
      },
    }),
    hard: s.object({
      description: 'Hard placement constraints (same shape for hard and soft)',
      properties: {
        clusters: s.array(s.string({ description: 'Clusters the VM must land in.' }), { description: 'Clusters the VM must land in.', maxItems: 50 }),
        datastores: s.array(s.string({ description: 'Datastores the VM must use.' }), { description: 'Datastores the VM must use.', maxItems: 100 }),
        excludedClusters: s.array(s.string({ description: 'Clusters to avoid.' }), { description: 'Clusters to avoid.', maxItems: 50 }),
        excludedDatastores: s.array(s.string({ description: 'Datastores to avoid.' }), { description: 'Datastores to avoid.', maxItems: 100 }),
        excludedHosts: s.array(s.string({ description: 'Hosts to avoid.' }), { description: 'Hosts to avoid.', maxItems: 200 }),
        folders: s.array(s.string({ description: 'Folders the VM must be placed in.' }), { description: 'Folders the VM must be placed in.', maxItems: 50 }),
        hosts: s.array(s.string({ description: 'Hosts the VM must run on.' }), { description: 'Hosts the VM must run on.', maxItems: 200 }),
        networks: s.array(s.string({ description: 'Networks the VM must use.' }), { description: 'Networks the VM must use.', maxItems: 50 }),
        nodeSelector: s.map(s.string({ description: 'Node label selector (libvirt hosts)' }), { description: 'Node label selector (libvirt hosts)', maxProperties: 20 }),
        regions: s.array(s.string({ description: 'Regions the VM must use.' }), { description: 'Regions the VM must use.', maxItems: 20 }),
        resourcePools: s.array(s.string({ description: 'Resource pools the VM must use.' }), { description: 'Resource pools the VM must use.', maxItems: 100 }),
        tolerations: s.array(itemX('Taints tolerated by the VM.'), { description: 'Taints tolerated by the VM.', maxItems: 20 }),
        zones: s.array(s.string({ description: 'Availability zones the VM must use.' }), { description: 'Availability zones the VM must use.', maxItems: 20 }),
      },
    }),
    priority: s.int32({ description: 'Policy priority.', minimum: 0, maximum: 1000 }),
    resourceConstraints: s.object({
      description: 'Host capacity requirements.',
      properties: {
        maxCPUUtilization: s.int32({ description: 'Maximum host CPU utilisation, percent.', minimum: 0, maximum: 100 }),
        maxDiskUtilization: s.int32({ description: 'Maximum host disk utilisation, percent.', minimum: 0, maximum: 100 }),
        maxMemoryUtilization: s.int32({ description: 'Maximum host memory utilisation, percent.', minimum: 0, maximum: 100 }),
        minCPUPerHost: s.int32({ description: 'Minimum free CPUs per host.', minimum: 1 }),
        minDiskSpacePerHost: s.quantity({ description: 'Minimum free disk per host.' }),
        minMemoryPerHost: s.quantity({ description: 'Minimum free memory per host.' }),
        preferredFeatures: s.array(s.string({ description: 'Hardware features hosts should have.' }), { description: 'Hardware features hosts should have.', maxItems: 20 }),
        requiredFeatures: s.array(s.string({ description: 'Hardware features hosts must have.' }), { description: 'Hardware features hosts must have.', maxItems: 20 }),
      },
    }),
    securityConstraints: s.object({
      description: 'Host security requirements.',
      properties: {
        allowedSecurityGroups: s.array(s.string({ description: 'Permitted security groups.' }), { description: 'Permitted security groups.', maxItems: 20 }),
        deniedSecurityGroups: s.array(s.string({ description: 'Forbidden security groups.' }), { description: 'Forbidden security groups.', maxItems: 20 }),
        isolationLevel: s.enumOf(['none', 'basic', 'strict', 'maximum'], { description: 'Required isolation level.' }),
        requireEncryptedStorage: s.boolean({ description: 'Host storage must be encrypted.' }),
        requireNUMATopology: s.boolean({ description: 'Host must expose NUMA.' }),
        requireSecureBoot: s.boolean({ description: 'Host must support Secure Boot.' }),
        requireTPM: s.boolean({ description: 'Host must provide TPM.' }),
        trustLevel: s.enumOf(['untrusted', 'basic', 'trusted', 'highly-trusted'], { description: 'Required host trust level.' }),
      },
    }),
    soft: s.object({
      description: 'Soft placement constraints (same shape for hard and soft)',
      properties: {
        clusters: s.array(s.string({ description: 'Clusters the VM should preferably land in.' }), { description: 'Clusters the VM should preferably land in.', maxItems: 50 }),
        datastores: s.array(s.string({ description: 'Datastores the VM should preferably use.' }), { description: 'Datastores the VM should preferably use.', maxItems: 100 }),
        excludedClusters: s.array(s.string({ description: 'Clusters to avoid.' }), { description: 'Clusters to avoid.', maxItems: 50 }),
        excludedDatastores: s.array(s.string({ description: 'Datastores to avoid.' }), { description: 'Datastores to avoid.', maxItems: 100 }),
        excludedHosts: s.array(s.string({ description: 'Hosts to avoid.' }), { description: 'Hosts to avoid.', maxItems: 200 }),
        folders: s.array(s.string({ description: 'Folders the VM should preferably be placed in.' }), { description: 'Folders the VM should preferably be placed in.', maxItems: 50 }),
        hosts: s.array(s.string({ description: 'Hosts the VM should preferably run on.' }), { description: 'Hosts the VM should preferably run on.', maxItems: 200 }),
        networks: s.array(s.string({ description: 'Networks the VM should preferably use.' }), { description: 'Networks the VM should preferably use.', maxItems: 50 }),
        nodeSelector: s.map(s.string({ description: 'Node label selector (libvirt hosts)' }), { description: 'Node label selector (libvirt hosts)', maxProperties: 20 }),
        regions: s.array(s.string({ description: 'Regions the VM should preferably use.' }), { description: 'Regions the VM should preferably use.', maxItems: 20 }),
        resourcePools: s.array(s.string({ description: 'Resource pools the VM should preferably use.' }), { description: 'Resource pools the VM should preferably use.', maxItems: 100 }),
        tolerations: s.array(itemX('Taints tolerated by the VM.'), { description: 'Taints tolerated by the VM.', maxItems: 20 }),
        zones: s.array(s.string({ description: 'Availability zones the VM should preferably use.' }), { description: 'Availability zones the VM should preferably use.', maxItems: 20 }),
      },
    }),
    weight: s.int32({ description: 'Policy weight.', minimum: 1, maximum: 100 }),
  },
});

export const vmPlacementPolicyStatus = s.object({
  description: 'Observed state.',
  properties: {
    conditions: conditions(),
    conflictingPolicies: s.array(s.object({
      description: 'Policies in conflict with this one.',
      required: ['conflictType', 'policyName'],
      properties: {
        conflictType: s.enumOf(['hard', 'soft', 'resource', 'security', 'affinity'], { description: 'Kind of conflict.' }),
        description: s.string({ description: 'Detail.' }),
        policyName: s.string({ description: 'Conflicting policy.' }),
        resolutionSuggestion: s.string({ description: 'Suggested fix.' }),
        severity: s.enumOf(['low', 'medium', 'high', 'critical'], { description: 'Severity.' }),
      },
    }), { description: 'Policies in conflict with this one.', maxItems: 50 }),
    observedGeneration: s.int64({ description: 'Metadata.generation last processed.' }),
    placementStats: s.object({
      description: 'Placement statistics.',
      properties: {
        averagePlacementTime: s.duration({ description: 'Mean placement duration.' }),
        constraintViolations: s.int32({ description: 'Constraint violations.' }),
        failedPlacements: s.int32({ description: 'Failed placements.' }),
        lastPlacementTime: s.dateTime({ description: 'Last placement time.' }),
        placementDistribution: s.map(s.int32({ description: 'VM count per host/cluster.' }), { description: 'VM count per host/cluster.' }),
        successfulPlacements: s.int32({ description: 'Successful placements.' }),
        totalPlacements: s.int32({ description: 'Total placements.' }),
      },
    }),
    usedByVMs: s.array(localObjectRef('VMs using the policy.'), { description: 'VMs using the policy.', maxItems: 1000 }),
    validationResults: s.map(s.object({
      description: 'Result for one provider.',
      required: ['valid'],
      properties: {
        errors: s.array(s.string({ description: 'Errors.' }), { description: 'Errors.', maxItems: 20 }),
        lastValidated: s.dateTime({ description: 'Validation time.' }),
        message: s.string({ description: 'Detail.' }),
        supportedFeatures: s.array(s.string({ description: 'Features the provider honours.' }), { description: 'Features the provider honours.', maxItems: 50 }),
        unsupportedFeatures: s.array(s.string({ description: 'Features the provider ignores.' }), { description: 'Features the provider ignores.', maxItems: 50 }),
        valid: s.boolean({ description: 'Policy valid for the provider.' }),
        warnings: s.array(s.string({ description: 'Warnings.' }), { description: 'Warnings.', maxItems: 20 }),
      },
    }), { description: 'Per-provider validation, keyed by provider name.' }),
  },
});

/** Placement rules for VirtualMachines: hard and soft constraints, affinity and anti-affinity. */
export const VMPlacementPolicy = defineKind({
  group: GROUP,
  version: VERSION,
  kind: 'VMPlacementPolicy',
  scope: 'Namespaced',
  shortNames: ['vmpp'],
  categories: [CATEGORY],
  description: 'Placement rules for VirtualMachines: hard and soft constraints, affinity and anti-affinity.',
  spec: vmPlacementPolicySpec,
  status: vmPlacementPolicyStatus,
  printerColumns: [
    { name: 'Used By', type: 'string', jsonPath: '.status.usedByVMs[*].name', priority: 1 },
    { name: 'Priority', type: 'integer', jsonPath: '.spec.priority' },
    { name: 'Successful', type: 'integer', jsonPath: '.status.placementStats.successfulPlacements' },
    { name: 'Failed', type: 'integer', jsonPath: '.status.placementStats.failedPlacements' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
});
