/**
 * Host helpers shared by the providers that drive hypervisor tools on this
 * machine (libvirt, QEMU): command runner, qemu-img, NoCloud seed ISO,
 * checksum verification, the KVM/TCG accelerator probe, and the
 * operator's host policy with the checks every image goes through
 * (confined paths, standalone images, guarded downloads).
 */
export { CommandError, run, type RunOptions, type RunResult } from './run';
export { ownedPid } from './proc';
export { detectAccel, PVM_REASON, type Accel, type AccelDetection, type AccelProbePaths } from './accel';
export { qemuImg, type QemuImgInfo } from './qemu-img';
export { buildSeedIso, type SeedData } from './seed-iso';
export { hasStaticAddress, networkConfig, stableMac } from './network-config';
export { checksumAlgo, fileChecksum, verifyChecksum, type ChecksumAlgo } from './checksum';
export { download, fetchImage, MAX_REDIRECTS, type DownloadOptions } from './download';
export {
  checkImageSize, confinePath, confineRemotePath, DEFAULT_HOST_POLICY, ensureTempDir, hostPolicy, openLocalImage, type HostPolicy,
} from './policy';
export {
  checkQcow2, IMAGE_FORMATS, parseQcow2Header, QCOW2_HEADER_BYTES, qemuFormatOf, refuseQcow2References, type CheckImageOptions, type Qcow2Header,
} from './image-check';
export {
  addressRefusal, ALWAYS_REFUSED_CIDRS, parseCidr, parseCidrs, pinnedGet, resolveChecked, type CheckedAddress, type Cidr,
} from './net';
