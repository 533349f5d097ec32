import { Chart } from 'cdk8s';
import type { IConstruct } from 'constructs';
import type { VirtRigaudResource, IVirtRigaudResource } from './resource';
import { validateObjects } from '../validate';

/**
 * What synth checks on every L2 construct, reported through cdk8s's
 * validation (all errors at once, each with its construct path):
 * the API server's verdict on the manifest (schema and CEL), every reference
 * resolves, and names are unique per kind and namespace.
 */
export function addSynthChecks(resource: VirtRigaudResource<unknown>): void {
  resource.node.addValidation({ validate: () => checkResource(resource) });
}

function effectiveNamespace(r: IConstruct & { namespace?: string }): string {
  if (r.namespace) return r.namespace;
  try {
    return Chart.of(r).namespace ?? 'default';
  } catch {
    return 'default';
  }
}

function checkResource(r: VirtRigaudResource<unknown>): string[] {
  const errors: string[] = [];
  const manifest = r.apiObject.toJson();
  const who = `${r.kind} ${effectiveNamespace(r)}/${r.name}`;
  for (const result of validateObjects([manifest])) {
    for (const e of result.errors) errors.push(`${who}: ${e.field ? `${e.field}: ` : ''}${e.message}`);
  }
  const root = r.node.root;
  for (const { field, target } of r._references()) {
    if (target.external) continue;
    if (target.node.root !== root) {
      errors.push(`${who}: ${field}: ${target.kind} ${target.name} (${target.node.path}) belongs to another app; declare it here or use ${target.kind}.fromName()`);
    }
  }
  const twins = root.node.findAll().filter((c): c is IConstruct & IVirtRigaudResource => c !== r && isOurs(c) && !(c as IVirtRigaudResource).external
    && (c as IVirtRigaudResource).kind === r.kind && (c as IVirtRigaudResource).name === r.name && effectiveNamespace(c as never) === effectiveNamespace(r));
  for (const twin of twins) errors.push(`${who}: metadata.name: Duplicate value: ${JSON.stringify(r.name)} is also used by ${twin.node.path}`);
  return errors;
}

function isOurs(c: IConstruct): boolean {
  return typeof (c as { _toSpec?: unknown })._toSpec === 'function' && 'apiObject' in c;
}
