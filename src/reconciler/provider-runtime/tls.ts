import type { Provider } from '../../generated/provider';

/** The TLSConfigured condition's reason (§7.4, §14.2 PR-2). */
export type TlsDecisionReason = 'Enabled' | 'ExplicitlyDisabled' | 'TLSBlockMissing' | 'SecretRefMissing';

export interface TlsDecision {
  readonly decision: TlsDecisionReason;
  readonly message: string;
  /** Name of the Secret to mount at /etc/virtrigaud/tls (decision Enabled only). */
  readonly secretName?: string;
}

/**
 * The manager<->provider TLS decision of PR-2. It must be explicit: a missing
 * `tls` block or mTLS without a Secret is refused rather than silently run in
 * plaintext. `serverName` is the name the manager verifies (§15.6).
 */
export function decideTls(provider: Provider, serverName: string): TlsDecision {
  const tls = provider.spec?.runtime?.service?.tls;
  if (!tls) {
    return {
      decision: 'TLSBlockMissing',
      message: 'spec.runtime.service.tls is not set: choose mTLS (enabled: true with a secretRef) or plaintext (enabled: false); the runtime is not deployed until then',
    };
  }
  // `enabled` defaults to true (CRD default), so only an explicit false opts out.
  if (tls.enabled === false) {
    return {
      decision: 'ExplicitlyDisabled',
      message: 'TLS explicitly disabled (spec.runtime.service.tls.enabled=false): manager<->provider gRPC is plaintext and unauthenticated',
    };
  }
  const secretName = tls.secretRef?.name;
  if (!secretName) {
    return {
      decision: 'SecretRefMissing',
      message: 'spec.runtime.service.tls.enabled is true but spec.runtime.service.tls.secretRef.name is empty; the runtime is not deployed',
    };
  }
  return {
    decision: 'Enabled',
    message: `mTLS with Secret ${secretName} (tls.crt, tls.key, ca.crt), server name ${serverName}${tls.insecureSkipVerify ? '; server certificate NOT verified (insecureSkipVerify)' : ''}`,
    secretName,
  };
}
