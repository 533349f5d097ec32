import type { IVirtRigaudResource } from './resource';

/** A Provider in this app or referenced with `Provider.fromName`. */
export interface IProvider extends IVirtRigaudResource { readonly kind: 'Provider' }
/** A VMClass in this app or referenced with `VMClass.fromName`. */
export interface IVMClass extends IVirtRigaudResource { readonly kind: 'VMClass' }
/** A VMImage in this app or referenced with `VMImage.fromName`. */
export interface IVMImage extends IVirtRigaudResource { readonly kind: 'VMImage' }
/** A VMNetworkAttachment in this app or referenced with `VMNetworkAttachment.fromName`. */
export interface IVMNetworkAttachment extends IVirtRigaudResource { readonly kind: 'VMNetworkAttachment' }
/** A VMPlacementPolicy in this app or referenced with `VMPlacementPolicy.fromName`. */
export interface IVMPlacementPolicy extends IVirtRigaudResource { readonly kind: 'VMPlacementPolicy' }
/** A VirtualMachine in this app or referenced with `VirtualMachine.fromName`. */
export interface IVirtualMachine extends IVirtRigaudResource { readonly kind: 'VirtualMachine' }
