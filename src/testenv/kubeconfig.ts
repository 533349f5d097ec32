/**
 * Self-contained kubeconfig files (all credentials embedded as data) for the
 * test control plane, so they work from any directory and with kubectl.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { writeFile } from 'node:fs/promises';
import YAML from 'yaml';

/** Credentials of one identity: a client certificate or a bearer token. */
export type Credentials = { readonly cert: string; readonly key: string } | { readonly token: string };

export interface KubeconfigSpec {
  /** API server URL, e.g. `https://127.0.0.1:41234`. */
  readonly server: string;
  /** PEM of the CA that signed the serving certificate. */
  readonly caCert: string;
  /** Name for the user entry (and the context). */
  readonly userName: string;
  readonly credentials: Credentials;
  /** Default namespace of the context. */
  readonly namespace?: string;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Renders a kubeconfig YAML document. */
export function renderKubeconfig(spec: KubeconfigSpec): string {
  const contextName = `virtrigaud-testenv-${spec.userName}`;
  const user =
    'token' in spec.credentials
      ? { token: spec.credentials.token }
      : { 'client-certificate-data': b64(spec.credentials.cert), 'client-key-data': b64(spec.credentials.key) };
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'virtrigaud-testenv', cluster: { server: spec.server, 'certificate-authority-data': b64(spec.caCert) } }],
    users: [{ name: spec.userName, user }],
    contexts: [
      {
        name: contextName,
        context: { cluster: 'virtrigaud-testenv', user: spec.userName, ...(spec.namespace ? { namespace: spec.namespace } : {}) },
      },
    ],
    'current-context': contextName,
    preferences: {},
  });
}

/** Parses kubeconfig YAML into a client-node {@link KubeConfig}. */
export function loadKubeConfig(yaml: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(yaml);
  return kc;
}

/** Writes the kubeconfig (mode 0600, it holds credentials) and loads it. */
export async function writeKubeconfig(path: string, spec: KubeconfigSpec): Promise<KubeConfig> {
  const yaml = renderKubeconfig(spec);
  await writeFile(path, yaml, { mode: 0o600 });
  return loadKubeConfig(yaml);
}
