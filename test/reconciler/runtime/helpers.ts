/** Shared bits of the runtime tests. */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { CoreResources, KubeClient, type ResourceType } from '../../../src/reconciler/runtime';
import { eventually as poll } from '../../support/eventually';

export const ROOT = resolve(__dirname, '..', '..', '..');
export const CRDS = join(ROOT, 'dist', 'crds.yaml');

export const VMClasses: ResourceType = { group: 'infra.virtrigaud.io', version: 'v1beta1', plural: 'vmclasses', kind: 'VMClass', namespaced: true };
export const ConfigMaps = CoreResources.configMaps;

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export async function createNamespace(client: KubeClient, prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await client.create(CoreResources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

export function vmClass(namespace: string, name: string, cpu = 2): any {
  return { apiVersion: 'infra.virtrigaud.io/v1beta1', kind: 'VMClass', metadata: { name, namespace }, spec: { cpu, memory: '4Gi' } };
}

export function configMap(namespace: string, name: string, data: Record<string, string> = {}): any {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

/** Polls until `fn` returns a truthy value; rejects after `timeoutMs`. */
export const eventually = <T>(what: string, fn: () => T | Promise<T>, timeoutMs = 15_000, intervalMs = 50): Promise<T> => poll(what, fn, timeoutMs, intervalMs);

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
