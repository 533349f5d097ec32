/** The host policy in-process drivers enforce, from the operator's configuration. */
import type { ReconcilerConfig } from './types';

export function hostPolicyFrom(config: ReconcilerConfig) {
  const i = config.images;
  return {
    imageRoots: [...i.roots],
    tempDir: i.tempDir,
    maxImageBytes: i.maxBytes,
    downloadTimeoutMs: i.downloadTimeoutMs,
    allowedUrlCidrs: [...i.allowedUrlCidrs],
    allowFileUrls: i.allowFileUrls,
    hookAllowedCidrs: [...config.hooks.httpGetAllowedCidrs],
  };
}
