/**
 * Compile-time proof that the DSL's inferred types and the types generated
 * with json-schema-to-typescript describe the same objects (checked by tsc in
 * test/typecheck.test.ts; nothing here runs).
 */
import type * as gen from '../../src/generated';
import * as api from '../../src/api/v1beta1';

type VirtualMachineSpec = typeof api.VirtualMachine.specType;
type VirtualMachineStatus = typeof api.VirtualMachine.statusType;
export const virtualMachineChecks = [
  (x: VirtualMachineSpec): gen.VirtualMachineSpec => x,
  (x: gen.VirtualMachineSpec): VirtualMachineSpec => x,
  (x: VirtualMachineStatus): gen.VirtualMachineStatus => x,
  (x: gen.VirtualMachineStatus): VirtualMachineStatus => x,
];
type VMClassSpec = typeof api.VMClass.specType;
type VMClassStatus = typeof api.VMClass.statusType;
export const vMClassChecks = [
  (x: VMClassSpec): gen.VMClassSpec => x,
  (x: gen.VMClassSpec): VMClassSpec => x,
  (x: VMClassStatus): gen.VMClassStatus => x,
  (x: gen.VMClassStatus): VMClassStatus => x,
];
type VMImageSpec = typeof api.VMImage.specType;
type VMImageStatus = typeof api.VMImage.statusType;
export const vMImageChecks = [
  (x: VMImageSpec): gen.VMImageSpec => x,
  (x: gen.VMImageSpec): VMImageSpec => x,
  (x: VMImageStatus): gen.VMImageStatus => x,
  (x: gen.VMImageStatus): VMImageStatus => x,
];
type VMNetworkAttachmentSpec = typeof api.VMNetworkAttachment.specType;
type VMNetworkAttachmentStatus = typeof api.VMNetworkAttachment.statusType;
export const vMNetworkAttachmentChecks = [
  (x: VMNetworkAttachmentSpec): gen.VMNetworkAttachmentSpec => x,
  (x: gen.VMNetworkAttachmentSpec): VMNetworkAttachmentSpec => x,
  (x: VMNetworkAttachmentStatus): gen.VMNetworkAttachmentStatus => x,
  (x: gen.VMNetworkAttachmentStatus): VMNetworkAttachmentStatus => x,
];
type ProviderSpec = typeof api.Provider.specType;
type ProviderStatus = typeof api.Provider.statusType;
export const providerChecks = [
  (x: ProviderSpec): gen.ProviderSpec => x,
  (x: gen.ProviderSpec): ProviderSpec => x,
  (x: ProviderStatus): gen.ProviderStatus => x,
  (x: gen.ProviderStatus): ProviderStatus => x,
];
type VMPlacementPolicySpec = typeof api.VMPlacementPolicy.specType;
type VMPlacementPolicyStatus = typeof api.VMPlacementPolicy.statusType;
export const vMPlacementPolicyChecks = [
  (x: VMPlacementPolicySpec): gen.VMPlacementPolicySpec => x,
  (x: gen.VMPlacementPolicySpec): VMPlacementPolicySpec => x,
  (x: VMPlacementPolicyStatus): gen.VMPlacementPolicyStatus => x,
  (x: gen.VMPlacementPolicyStatus): VMPlacementPolicyStatus => x,
];
type VMSnapshotSpec = typeof api.VMSnapshot.specType;
type VMSnapshotStatus = typeof api.VMSnapshot.statusType;
export const vMSnapshotChecks = [
  (x: VMSnapshotSpec): gen.VMSnapshotSpec => x,
  (x: gen.VMSnapshotSpec): VMSnapshotSpec => x,
  (x: VMSnapshotStatus): gen.VMSnapshotStatus => x,
  (x: gen.VMSnapshotStatus): VMSnapshotStatus => x,
];
type VMCloneSpec = typeof api.VMClone.specType;
type VMCloneStatus = typeof api.VMClone.statusType;
export const vMCloneChecks = [
  (x: VMCloneSpec): gen.VMCloneSpec => x,
  (x: gen.VMCloneSpec): VMCloneSpec => x,
  (x: VMCloneStatus): gen.VMCloneStatus => x,
  (x: gen.VMCloneStatus): VMCloneStatus => x,
];
type VMSetSpec = typeof api.VMSet.specType;
type VMSetStatus = typeof api.VMSet.statusType;
export const vMSetChecks = [
  (x: VMSetSpec): gen.VMSetSpec => x,
  (x: gen.VMSetSpec): VMSetSpec => x,
  (x: VMSetStatus): gen.VMSetStatus => x,
  (x: gen.VMSetStatus): VMSetStatus => x,
];
type VMMigrationSpec = typeof api.VMMigration.specType;
type VMMigrationStatus = typeof api.VMMigration.statusType;
export const vMMigrationChecks = [
  (x: VMMigrationSpec): gen.VMMigrationSpec => x,
  (x: gen.VMMigrationSpec): VMMigrationSpec => x,
  (x: VMMigrationStatus): gen.VMMigrationStatus => x,
  (x: gen.VMMigrationStatus): VMMigrationStatus => x,
];
