import { VirtualMachine } from './virtual-machine';
import { VMClass } from './vm-class';
import { VMImage } from './vm-image';
import { VMNetworkAttachment } from './vm-network-attachment';
import { Provider } from './provider';
import { VMPlacementPolicy } from './vm-placement-policy';
import { VMSnapshot } from './vm-snapshot';
import { VMClone } from './vm-clone';
import { VMSet } from './vm-set';
import { VMMigration } from './vm-migration';

export * from './common';
export * from './virtual-machine';
export * from './vm-class';
export * from './vm-image';
export * from './vm-network-attachment';
export * from './provider';
export * from './vm-placement-policy';
export * from './vm-snapshot';
export * from './vm-clone';
export * from './vm-set';
export * from './vm-migration';

/** The ten kinds of infra.virtrigaud.io/v1beta1, in the order they are documented and synthesized. */
export const ALL_KINDS = [
  VirtualMachine,
  VMClass,
  VMImage,
  VMNetworkAttachment,
  Provider,
  VMPlacementPolicy,
  VMSnapshot,
  VMClone,
  VMSet,
  VMMigration,
] as const;
