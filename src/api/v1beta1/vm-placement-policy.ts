import { s, defineKind } from '../../schema';
import { GROUP, VERSION, CATEGORY, localObjectRef, conditions } from './common';
import * as k8s from './k8s';

/** `{ [name]: node }` with the key kept in the type, so `Infer` still names the field. */
const named = <K extends string, N>(name: K, node: N) => ({ [name]: node }) as { [P in K]: N };

const SCOPE = ['strict', 'preferred'] as const;
const scope = () => s.enumOf(SCOPE, { description: 'Strict or preferred.' });

const applicationAffinity = (description: string) => s.object({
  description,
  required: ['enabled'],
  properties: {
    applicationLabel: s.string({ description: 'Label key identifying the application.', default: "app" }),
    enabled: s.boolean({ description: 'Rule active.' }),
    scope: scope(),
  },
});

/** A rule preferring some named infrastructure objects (hosts, clusters, ...). */
const preferRule = <K extends string>(description: string, listName: K, what: string, maxItems: number) => s.object({
  description,
  required: ['enabled'],
  properties: {
    enabled: s.boolean({ description: 'Rule active.' }),
    scope: scope(),
    ...named(listName, s.array(s.string({ description: `Preferred ${what}.` }), { description: `Preferred ${what}.`, maxItems })),
  },
});

/** A rule spreading VMs over some kind of infrastructure object, with a cap per object. */
const spreadRule = <K extends string>(description: string, capName: K, what: string, maximum: number) => s.object({
  description,
  required: ['enabled'],
  properties: {
    enabled: s.boolean({ description: 'Rule active.' }),
    scope: scope(),
    ...named(capName, s.int32({ description: `VM cap per ${what}.`, minimum: 1, maximum })),
  },
});

const labelRequirement = (description: string) => s.object({
  description,
  required: ['key', 'operator'],
  properties: {
    key: s.string({ description: 'Label key.', maxLength: 253 }),
    operator: s.enumOf(['In', 'NotIn', 'Exists', 'DoesNotExist'], { description: 'Set operator.' }),
    values: s.array(s.string({ description: 'Values for In / NotIn.' }), { description: 'Values for In / NotIn.', maxItems: 50 }),
  },
});

const toleration = (description: string) => s.object({
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
    matchExpressions: s.array(labelRequirement('Additional label requirements on peer VMs.'), { description: 'Additional label requirements on peer VMs.', maxItems: 20 }),
    namespaceSelector: k8s.labelSelector('Namespace label selector.'),
    namespaces: s.array(s.string({ description: 'Namespaces to search for peer VMs.' }), { description: 'Namespaces to search for peer VMs.', maxItems: 20 }),
    topologyKey: s.string({ description: 'Topology domain key the rule applies across.', maxLength: 253 }),
  },
});

/** VM-to-VM (anti-)affinity: hard and weighted terms; `word` is "affinity" or "anti-affinity". */
const vmAffinityRules = (description: string, word: string) => s.object({
  description,
  properties: {
    preferredDuringScheduling: s.array(s.object({
      description: `Soft (weighted) ${word} terms.`,
      required: ['vmAffinityTerm', 'weight'],
      properties: {
        vmAffinityTerm: vmAffinityTerm('The VMAffinityTerm.'),
        weight: s.int32({ description: 'Preference weight.', minimum: 1, maximum: 100 }),
      },
    }), { description: `Soft (weighted) ${word} terms.`, maxItems: 20 }),
    requiredDuringScheduling: s.array(vmAffinityTerm(`Hard ${word} terms.`), { description: `Hard ${word} terms.`, maxItems: 20 }),
  },
});

/** Hard (`must`) or soft (`should preferably`) placement constraints: the same shape. */
const constraints = (description: string, must: string) => {
  const list = (what: string, maxItems: number) => s.array(s.string({ description: what }), { description: what, maxItems });
  return s.object({
    description,
    properties: {
      clusters: list(`Clusters the VM ${must} land in.`, 50),
      datastores: list(`Datastores the VM ${must} use.`, 100),
      excludedClusters: list('Clusters to avoid.', 50),
      excludedDatastores: list('Datastores to avoid.', 100),
      excludedHosts: list('Hosts to avoid.', 200),
      folders: list(`Folders the VM ${must} be placed in.`, 50),
      hosts: list(`Hosts the VM ${must} run on.`, 200),
      networks: list(`Networks the VM ${must} use.`, 50),
      nodeSelector: s.map(s.string({ description: 'Node label selector (libvirt hosts)' }), { description: 'Node label selector (libvirt hosts)', maxProperties: 20 }),
      regions: list(`Regions the VM ${must} use.`, 20),
      resourcePools: list(`Resource pools the VM ${must} use.`, 100),
      tolerations: s.array(toleration('Taints tolerated by the VM.'), { description: 'Taints tolerated by the VM.', maxItems: 20 }),
      zones: list(`Availability zones the VM ${must} use.`, 20),
    },
  });
};

export const vmPlacementPolicySpec = s.object({
  description: 'Placement rules for VMs (whole kind is: no controller and never read)',
  properties: {
    affinity: s.object({
      description: 'Co-location rules.',
      properties: {
        applicationAffinity: applicationAffinity('Keep the same application together.'),
        clusterAffinity: preferRule('Prefer specific clusters.', 'preferredClusters', 'clusters', 20),
        datastoreAffinity: preferRule('Prefer specific datastores.', 'preferredDatastores', 'datastores', 50),
        hostAffinity: preferRule('Prefer specific hosts.', 'preferredHosts', 'hosts', 50),
        vmAffinity: vmAffinityRules('VM-to-VM affinity terms.', 'affinity'),
        zoneAffinity: preferRule('Prefer specific zones.', 'preferredZones', 'zones', 10),
      },
    }),
    antiAffinity: s.object({
      description: 'Spread rules.',
      properties: {
        applicationAntiAffinity: applicationAffinity('Keep different applications apart.'),
        clusterAntiAffinity: spreadRule('Spread across clusters.', 'maxVMsPerCluster', 'cluster', 10000),
        datastoreAntiAffinity: spreadRule('Spread across datastores.', 'maxVMsPerDatastore', 'datastore', 10000),
        hostAntiAffinity: spreadRule('Spread across hosts.', 'maxVMsPerHost', 'host', 1000),
        vmAntiAffinity: vmAffinityRules('VM-to-VM anti-affinity terms.', 'anti-affinity'),
        zoneAntiAffinity: spreadRule('Spread across zones.', 'maxVMsPerZone', 'zone', 10000),
      },
    }),
    hard: constraints('Hard placement constraints (same shape for hard and soft)', 'must'),
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
    soft: constraints('Soft placement constraints (same shape for hard and soft)', 'should preferably'),
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
