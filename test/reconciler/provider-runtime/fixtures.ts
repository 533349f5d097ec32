import type { Provider } from '../../../src/generated/provider';

type Spec = NonNullable<Provider['spec']>;
type Runtime = Spec['runtime'];

/** A valid vSphere Provider with mTLS; `spec`/`runtime` overrides are merged one level deep. */
export function provider(opts: { name?: string; namespace?: string; uid?: string; spec?: Partial<Spec>; runtime?: Partial<Runtime> } = {}): Provider {
  const spec: Spec = {
    type: 'vsphere',
    endpoint: 'https://vcenter.example.com/sdk',
    credentialSecretRef: { name: 'vsphere-creds' },
    ...opts.spec,
    runtime: {
      image: 'ghcr.io/projectbeskar/virtrigaud/provider-vsphere:v0.3.7',
      service: { tls: { enabled: true, secretRef: { name: 'vsphere-tls' } } },
      ...opts.spec?.runtime,
      ...opts.runtime,
    },
  };
  return {
    apiVersion: 'infra.virtrigaud.io/v1beta1',
    kind: 'Provider',
    metadata: { name: opts.name ?? 'vcenter', namespace: opts.namespace ?? 'tenant-a', uid: opts.uid ?? '3f1c2a9e-0000-4000-8000-000000000001' },
    spec,
  };
}

export const byKind = (objects: Record<string, any>[], kind: string): Record<string, any> => {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
};

export const containerOf = (objects: Record<string, any>[]) => byKind(objects, 'Deployment').spec.template.spec.containers[0];
export const envNames = (objects: Record<string, any>[]) => containerOf(objects).env.map((e: any) => e.name);
