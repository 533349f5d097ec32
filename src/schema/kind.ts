import type { SchemaNode, Infer } from './node';
import type { JSONSchemaProps, ValidationRule } from './openapi';
import { toOpenApi, EmitOptions } from './emit';
import { checkSchema } from './check';
import * as s from './builders';

/** A column of `kubectl get`. */
export interface PrinterColumn {
  readonly name: string;
  readonly type: 'integer' | 'number' | 'string' | 'boolean' | 'date';
  /** JSONPath relative to the object, e.g. `.status.phase`; checked against the schema. */
  readonly jsonPath: string;
  readonly description?: string;
  readonly format?: string;
  /** 0 shows in `kubectl get`; higher only with `-o wide`. @default 0 */
  readonly priority?: number;
}

/** The scale subresource (`kubectl scale`), with paths checked against the schema. */
export interface ScaleSubresource {
  readonly specReplicasPath: string;
  readonly statusReplicasPath: string;
  readonly labelSelectorPath?: string;
}

/** Everything that defines one served version of a kind. */
export interface KindProps<Spec extends SchemaNode<any>, Status extends SchemaNode<any> | undefined> {
  /** API group in DNS form, e.g. `infra.virtrigaud.io`. */
  readonly group: string;
  /** Version such as `v1beta1`. */
  readonly version: string;
  /** PascalCase kind, e.g. `VirtualMachine`. */
  readonly kind: string;
  /** @default - lower-case kind made plural (VMClass -> vmclasses, VMPlacementPolicy -> vmplacementpolicies) */
  readonly plural?: string;
  /** @default - lower-case kind */
  readonly singular?: string;
  /** Required: controller-gen and kube-rs disagree on the default, so there is none. */
  readonly scope: 'Namespaced' | 'Cluster';
  readonly shortNames?: readonly string[];
  readonly categories?: readonly string[];
  /** Description of the object as a whole (`kubectl explain <kind>`). */
  readonly description: string;
  readonly spec: Spec;
  /** Declaring a status turns on the status subresource. */
  readonly status?: Status;
  /** @default false */
  readonly specRequired?: boolean;
  readonly printerColumns?: readonly PrinterColumn[];
  /** Needs a status. */
  readonly scale?: ScaleSubresource;
  /** Fields usable in field selectors (Kubernetes 1.30+); JSONPaths checked against the schema. */
  readonly selectableFields?: readonly string[];
  /** Rules on the object root (`self` is the whole object). */
  readonly rules?: readonly ValidationRule[];
  /** @default true */
  readonly served?: boolean;
  /** @default true */
  readonly storage?: boolean;
  /** Marks the version deprecated; the text is the warning clients see. */
  readonly deprecationWarning?: string;
}

/** Thrown at definition time with every problem found, one per line. */
export class SchemaDefinitionError extends Error {
  constructor(readonly kind: string, readonly problems: string[]) {
    super(`${kind} schema is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SchemaDefinitionError';
  }
}

/** A kind defined with the DSL: its names, its schema and the CRD made from it. */
export class KindDefinition<Spec extends SchemaNode<any> = SchemaNode<any>, Status extends SchemaNode<any> | undefined = SchemaNode<any> | undefined> {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly listKind: string;
  readonly apiVersion: string;
  /** `<plural>.<group>`, the CRD's own name. */
  readonly crdName: string;
  /** The whole object as one schema node (apiVersion, kind, metadata, spec, status). */
  readonly root: SchemaNode;

  /** The TypeScript shape of `spec` (compile time only). */
  declare readonly specType: Infer<Spec>;
  /** The TypeScript shape of `status` (compile time only). */
  declare readonly statusType: Status extends SchemaNode<any> ? Infer<Status> : never;

  constructor(readonly props: KindProps<Spec, Status>) {
    this.group = props.group;
    this.version = props.version;
    this.kind = props.kind;
    this.plural = props.plural ?? pluralize(props.kind.toLowerCase());
    this.singular = props.singular ?? props.kind.toLowerCase();
    this.listKind = `${props.kind}List`;
    this.apiVersion = `${props.group}/${props.version}`;
    this.crdName = `${this.plural}.${this.group}`;
    this.root = rootSchema(props);
    const problems = [...checkNames(this), ...checkSchema(this.root, ''), ...checkExtras(this)];
    if (problems.length > 0) throw new SchemaDefinitionError(props.kind, problems.map((p) => p.replace(/^: /, '(root): ').replace(/^\./, '')));
  }

  /** The `openAPIV3Schema` of this version. */
  openApiSchema(opts: EmitOptions = {}): JSONSchemaProps {
    const schema = toOpenApi(this.root, opts);
    // kube-apiserver allows nothing but name/generateName constraints on the root metadata, not even a description.
    schema.properties!.metadata = { type: 'object' };
    return schema;
  }

  /** The CRD version entry (`spec.versions[]`). */
  versionEntry(opts: EmitOptions = {}): Record<string, unknown> {
    const p = this.props;
    const subresources: Record<string, unknown> = {};
    if (p.scale) subresources.scale = { ...p.scale };
    if (p.status) subresources.status = {};
    const entry: Record<string, unknown> = {
      name: p.version,
      served: p.served ?? true,
      storage: p.storage ?? true,
      schema: { openAPIV3Schema: this.openApiSchema(opts) },
    };
    if (p.deprecationWarning) {
      entry.deprecated = true;
      entry.deprecationWarning = p.deprecationWarning;
    }
    if (Object.keys(subresources).length > 0) entry.subresources = subresources;
    if (p.printerColumns?.length) entry.additionalPrinterColumns = p.printerColumns.map((c) => ({ ...c }));
    if (p.selectableFields?.length) entry.selectableFields = p.selectableFields.map((jsonPath) => ({ jsonPath }));
    return entry;
  }

  /** The `spec.names` of the CRD. */
  names(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      kind: this.kind,
      listKind: this.listKind,
      plural: this.plural,
      singular: this.singular,
    };
    if (this.props.shortNames?.length) out.shortNames = [...this.props.shortNames];
    if (this.props.categories?.length) out.categories = [...this.props.categories];
    return out;
  }
}

/** Defines a kind; throws `SchemaDefinitionError` listing everything kube-apiserver would refuse. */
export function defineKind<Spec extends SchemaNode<any>, Status extends SchemaNode<any> | undefined = undefined>(
  props: KindProps<Spec, Status>,
): KindDefinition<Spec, Status> {
  return new KindDefinition(props);
}

/** Builds the CustomResourceDefinition object for all versions of one kind. */
export function customResourceDefinition(versions: readonly KindDefinition[], opts: EmitOptions = {}): Record<string, unknown> {
  if (versions.length === 0) throw new Error('a CRD needs at least one version');
  const first = versions[0];
  const problems: string[] = [];
  for (const v of versions) {
    if (v.group !== first.group || v.kind !== first.kind || v.plural !== first.plural) {
      problems.push(`version ${v.version} is ${v.kind}/${v.group}, expected ${first.kind}/${first.group}`);
    }
    if (v.props.scope !== first.props.scope) problems.push(`version ${v.version} has scope ${v.props.scope}, expected ${first.props.scope}`);
  }
  const storage = versions.filter((v) => v.props.storage ?? true);
  if (storage.length !== 1) problems.push(`exactly one version must be the storage version, found ${storage.length}`);
  const seen = new Set<string>();
  for (const v of versions) {
    if (seen.has(v.version)) problems.push(`version ${v.version} is listed twice`);
    seen.add(v.version);
  }
  if (problems.length > 0) throw new SchemaDefinitionError(first.kind, problems);
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: first.crdName },
    spec: {
      group: first.group,
      names: first.names(),
      scope: first.props.scope,
      versions: versions.map((v) => v.versionEntry(opts)),
    },
  };
}

function rootSchema(p: KindProps<any, any>): SchemaNode {
  const properties: Record<string, SchemaNode> = {
    apiVersion: s.string({
      description: 'Versioned schema of this representation of the object; servers convert recognized schemas to the latest internal value. See https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
    }),
    kind: s.string({
      description: 'REST resource this object represents, in CamelCase; servers infer it from the endpoint the client sends requests to. See https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
    }),
    metadata: s.raw({ type: 'object' }, { description: 'Standard object metadata (name, namespace, labels, annotations, ...).' }),
    spec: p.spec,
  };
  if (p.status) properties.status = p.status;
  return s.object({
    description: p.description,
    properties,
    required: p.specRequired ? ['spec'] : [],
    rules: p.rules ? [...p.rules] : undefined,
  });
}

function pluralize(word: string): string {
  if (/(s|x|z|ch|sh)$/.test(word)) return `${word}es`;
  if (/[^aeiou]y$/.test(word)) return `${word.slice(0, -1)}ies`;
  return `${word}s`;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function checkNames(k: KindDefinition): string[] {
  const out: string[] = [];
  if (!DNS_SUBDOMAIN.test(k.group) || !k.group.includes('.')) out.push(`group ${JSON.stringify(k.group)} must be a DNS subdomain with at least one dot`);
  if (!/^v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?$/.test(k.version)) out.push(`version ${JSON.stringify(k.version)} must look like v1, v1beta1 or v2alpha3`);
  if (!/^[A-Z][A-Za-z0-9]*$/.test(k.kind)) out.push(`kind ${JSON.stringify(k.kind)} must be PascalCase`);
  if (!DNS_LABEL.test(k.plural)) out.push(`plural ${JSON.stringify(k.plural)} must be a lower-case DNS label`);
  if (!DNS_LABEL.test(k.singular)) out.push(`singular ${JSON.stringify(k.singular)} must be a lower-case DNS label`);
  const all = [...(k.props.shortNames ?? []), ...(k.props.categories ?? [])];
  for (const n of all) if (!DNS_LABEL.test(n)) out.push(`short name or category ${JSON.stringify(n)} must be a lower-case DNS label`);
  for (const list of [k.props.shortNames ?? [], k.props.categories ?? []]) {
    const dup = list.find((n, i) => list.indexOf(n) !== i);
    if (dup) out.push(`${JSON.stringify(dup)} is listed twice`);
  }
  return out;
}

function checkExtras(k: KindDefinition): string[] {
  const out: string[] = [];
  const p = k.props;
  const names = new Set<string>();
  for (const c of p.printerColumns ?? []) {
    if (names.has(c.name)) out.push(`printer column ${JSON.stringify(c.name)} is listed twice`);
    names.add(c.name);
    const target = resolveJsonPath(k.root, c.jsonPath);
    if (!target.ok) out.push(`printer column ${JSON.stringify(c.name)}: ${target.reason}`);
    else if (!columnTypeFits(c.type, target)) {
      out.push(`printer column ${JSON.stringify(c.name)} is typed ${c.type} but ${c.jsonPath} is ${target.describe}`);
    }
  }
  if (p.scale) {
    if (!p.status) out.push('the scale subresource needs a status');
    for (const [name, path, want] of [
      ['specReplicasPath', p.scale.specReplicasPath, 'integer'],
      ['statusReplicasPath', p.scale.statusReplicasPath, 'integer'],
      ['labelSelectorPath', p.scale.labelSelectorPath, 'string'],
    ] as const) {
      if (path === undefined) continue;
      const prefix = name === 'specReplicasPath' ? '.spec.' : name === 'statusReplicasPath' ? '.status.' : '';
      if (prefix && !path.startsWith(prefix)) out.push(`scale ${name} ${path} must start with ${prefix}`);
      const target = resolveJsonPath(k.root, path);
      if (!target.ok) out.push(`scale ${name}: ${target.reason}`);
      else if (target.kind !== want) out.push(`scale ${name} ${path} must be ${want === 'integer' ? 'an integer' : 'a string'}, it is ${target.describe}`);
    }
  }
  for (const f of p.selectableFields ?? []) {
    const target = resolveJsonPath(k.root, f);
    if (!target.ok) out.push(`selectable field: ${target.reason}`);
    else if (!['string', 'integer', 'boolean'].includes(target.kind) || target.many) out.push(`selectable field ${f} must be a single string, integer or boolean`);
  }
  return out;
}

interface PathTarget {
  ok: true;
  kind: string;
  format?: string;
  many: boolean;
  describe: string;
}

function resolveJsonPath(root: SchemaNode, path: string): PathTarget | { ok: false; reason: string } {
  if (!path.startsWith('.')) return { ok: false, reason: `JSONPath ${path} must start with "."` };
  if (path === '.metadata.creationTimestamp' || path === '.metadata.deletionTimestamp') {
    return { ok: true, kind: 'string', format: 'date-time', many: false, describe: 'a date-time' };
  }
  if (/^\.metadata\.(name|namespace|uid|resourceVersion|generateName)$/.test(path)) return { ok: true, kind: 'string', many: false, describe: 'a string' };
  if (path === '.metadata.generation') return { ok: true, kind: 'integer', many: false, describe: 'an integer' };
  let cur: SchemaNode | undefined = root;
  let many = false;
  for (const m of path.matchAll(/\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\*|[0-9]+)\]/g)) {
    if (!cur) break;
    const sp: SchemaNode['spec'] = cur.spec;
    if (m[1] !== undefined) {
      if (sp.kind === 'map') cur = sp.values;
      else if (sp.kind === 'object') cur = sp.properties?.[m[1]];
      else return { ok: false, reason: `JSONPath ${path}: cannot select ${m[1]} inside a ${sp.kind}` };
      if (!cur) return { ok: false, reason: `JSONPath ${path} names a field that does not exist (${m[1]})` };
    } else {
      if (sp.kind !== 'array') return { ok: false, reason: `JSONPath ${path}: [${m[2]}] applied to a ${sp.kind}` };
      if (m[2] === '*') many = true;
      cur = sp.items;
    }
  }
  if (!cur) return { ok: false, reason: `JSONPath ${path} does not resolve` };
  const kind = cur.spec.kind;
  const describe = kind === 'intOrString' ? 'an int-or-string' : kind === 'array' ? 'a list' : kind === 'object' || kind === 'map' ? 'an object' : `a${/^[aeiou]/.test(kind) ? 'n' : ''} ${kind}${cur.spec.format ? ` (${cur.spec.format})` : ''}`;
  return { ok: true, kind, format: cur.spec.format, many, describe: many ? `${describe} per list item` : describe };
}

function columnTypeFits(type: PrinterColumn['type'], t: PathTarget): boolean {
  switch (type) {
    case 'integer':
      return t.kind === 'integer' && !t.many;
    case 'number':
      return (t.kind === 'integer' || t.kind === 'number') && !t.many;
    case 'boolean':
      return t.kind === 'boolean' && !t.many;
    case 'date':
      return t.kind === 'string' && (t.format === 'date-time' || t.format === 'date') && !t.many;
    case 'string':
      return ['string', 'intOrString', 'integer', 'number', 'boolean'].includes(t.kind);
  }
}
