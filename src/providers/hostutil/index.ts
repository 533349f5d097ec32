/**
 * Host helpers shared by the providers that drive hypervisor tools on this
 * machine (libvirt, QEMU): command runner, qemu-img, NoCloud seed ISO,
 * image download and checksum verification.
 */
export { CommandError, run, type RunOptions, type RunResult } from './run';
export { qemuImg, type QemuImgInfo } from './qemu-img';
export { buildSeedIso, type SeedData } from './seed-iso';
export { checksumAlgo, fileChecksum, verifyChecksum, type ChecksumAlgo } from './checksum';
export { download, type DownloadOptions } from './download';
