/** The host policy in-process drivers enforce, from the operator's configuration. */
import { hostPolicy, type HostPolicy } from '../../providers/hostutil/policy';
import type { ReconcilerConfig } from './types';

export function hostPolicyFrom(config: ReconcilerConfig): HostPolicy {
  const i = config.images;
  return hostPolicy({
    imageRoots: [...i.roots],
    tempDir: i.tempDir,
    maxImageBytes: i.maxBytes,
    downloadTimeoutMs: i.downloadTimeoutMs,
    allowedUrlCidrs: [...i.allowedUrlCidrs],
    allowFileUrls: i.allowFileUrls,
    hookAllowedCidrs: [...config.hooks.httpGetAllowedCidrs],
  });
}
