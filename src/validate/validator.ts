import type { KindDefinition } from '../schema';
import { ALL_KINDS, GROUP } from '../api/v1beta1';
import { FieldError, unknownField } from './errors';
import { compileStructural, Check, WalkContext, BLOCKING, RULES_NOT_CHECKED } from './structural';
import { compileCel, compileCelConverter, runCel, CelConverter } from './cel';
import { validateMetadata } from './metadata';

/** How one object is judged. */
export interface ObjectOptions {
  /**
   * Unknown fields are errors, as with `kubectl --validate=strict`; the API
   * server then rejects the request while decoding and reports nothing else.
   * @default false (unknown fields are pruned, with a warning each)
   */
  readonly strict?: boolean;
  /** The stored object, to validate an update: transition rules (`oldSelf`) run against it. */
  readonly old?: unknown;
  /** Validate `obj` itself, defaulting and pruning it in place, instead of a copy. @default false */
  readonly inPlace?: boolean;
}

/** The verdict on one object. */
export interface ObjectResult {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly valid: boolean;
  /** True when the kind is not one of ours (another API group): nothing was checked. */
  readonly skipped: boolean;
  readonly errors: FieldError[];
  readonly warnings: string[];
  /** The object after defaulting and pruning, as the API server would store it. */
  readonly object?: unknown;
}

interface CompiledKind {
  readonly def: KindDefinition;
  readonly check: Check;
  readonly cel?: ReturnType<typeof compileCel>;
  readonly toCel: CelConverter;
  readonly hasStatusSubresource: boolean;
}

/**
 * Validates objects of our kinds with the API server's pipeline: kind
 * dispatch, metadata, pruning, defaulting, OpenAPI schema, then CEL rules
 * (skipped, as the API server does, when the schema errors make them moot).
 */
export class Validator {
  private readonly kinds = new Map<string, CompiledKind>();
  private readonly groups = new Set<string>();

  /**
   * @param kinds the kinds to accept
   * @param opts.nativeRules run rules our helpers wrote as native code (same verdicts, faster). @default true
   */
  constructor(kinds: readonly KindDefinition[] = ALL_KINDS, opts: { nativeRules?: boolean } = {}) {
    for (const def of kinds) {
      this.kinds.set(`${def.apiVersion}/${def.kind}`, {
        def,
        check: compileStructural(def.root),
        cel: compileCel(def.root, '', opts.nativeRules ?? true),
        toCel: compileCelConverter(def.root),
        hasStatusSubresource: def.props.status !== undefined,
      });
      this.groups.add(def.group);
    }
  }

  validateObject(input: unknown, opts: ObjectOptions = {}): ObjectResult {
    const errors: FieldError[] = [];
    const warnings: string[] = [];
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      errors.push({ field: '', type: 'DocumentInvalid', message: `the document is ${input === null ? 'null' : Array.isArray(input) ? 'a list' : `a ${typeof input}`}, not an object`, rule: 'decode' });
      return result(undefined, undefined, undefined, errors, warnings, false);
    }
    const raw = input as Record<string, unknown>;
    const apiVersion = typeof raw.apiVersion === 'string' ? raw.apiVersion : undefined;
    const kind = typeof raw.kind === 'string' ? raw.kind : undefined;
    const meta = raw.metadata;
    if (!kind || !apiVersion) {
      const missing = !kind ? 'kind' : 'apiVersion';
      errors.push({ field: missing, type: 'DocumentInvalid', message: `Object '${missing === 'kind' ? 'Kind' : 'apiVersion'}' is missing or not a string`, rule: 'decode' });
      return result(raw, apiVersion, kind, errors, warnings, false);
    }
    const compiled = this.kinds.get(`${apiVersion}/${kind}`);
    if (!compiled) {
      const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
      if (!this.groups.has(group)) {
        warnings.push(`no schema for ${apiVersion}, Kind=${kind}: not validated`);
        return result(raw, apiVersion, kind, errors, warnings, true);
      }
      errors.push({ field: 'kind', type: 'DocumentInvalid', message: `no matches for kind "${kind}" in version "${apiVersion}"${this.suggest(kind, group)}`, rule: 'kind' });
      return result(raw, apiVersion, kind, errors, warnings, false);
    }
    const undecodable = decodeProblem(raw, kind, compiled.def.version);
    if (undecodable) return result(raw, apiVersion, kind, [undecodable], warnings, false);
    const obj = (opts.inPlace ? raw : structuredClone(raw)) as Record<string, unknown>;
    let statusUnknown: string[] = [];
    if (compiled.hasStatusSubresource && obj.status !== undefined) {
      // The API server decodes the body (strictly, with --strict) before it resets the status, so unknown
      // fields under status are reported like any other; its values are never validated.
      const status = obj.status;
      if (typeof status === 'object' && status !== null && !Array.isArray(status)) {
        const sctx: WalkContext = { errors: [], unknown: [] };
        compiled.check({ status }, '', sctx);
        statusUnknown = sctx.unknown.filter((f) => f === 'status' || f.startsWith('status.') || f.startsWith('status['));
      }
      delete obj.status;
      warnings.push('status is ignored: it can only be written through the status subresource');
    }
    const ctx: WalkContext = { errors, unknown: [] };
    validateMetadata(meta, errors, ctx.unknown);
    compiled.check(obj, '', ctx);
    ctx.unknown.push(...statusUnknown);
    if (compiled.def.props.scale) validateScale(obj, compiled.def.props.scale.specReplicasPath, errors);
    if (ctx.unknown.length > 0) {
      // Strict decoding fails before validation: the unknown fields are all the API server reports.
      if (opts.strict) return result(raw, apiVersion, kind, ctx.unknown.map(unknownField), warnings, false);
      for (const f of ctx.unknown) warnings.push(`unknown field "${f}"`);
    }
    if (compiled.cel) {
      if (hasBlocking(errors)) errors.push(RULES_NOT_CHECKED);
      else {
        const old = opts.old === undefined ? undefined : this.prepareOld(compiled, opts.old);
        const toCel = compiled.cel.needsCelValues ? compiled.toCel : (x: unknown) => x;
        runCel(compiled.cel, toCel(obj), old === undefined ? undefined : toCel(old), '', errors);
      }
    }
    return result(raw, apiVersion, kind, errors, warnings, false, obj);
  }

  /** The stored object goes through the same defaulting and pruning before rules compare against it. */
  private prepareOld(compiled: CompiledKind, old: unknown): unknown {
    if (!old || typeof old !== 'object') return undefined;
    const copy = structuredClone(old) as Record<string, unknown>;
    compiled.check(copy, '', { errors: [], unknown: [] });
    return copy;
  }

  private suggest(kind: string, group: string): string {
    const same = [...this.kinds.values()].filter((k) => k.def.group === group);
    const byKind = same.find((k) => k.def.kind.toLowerCase() === kind.toLowerCase());
    if (byKind) return `; did you mean apiVersion ${byKind.def.apiVersion}, kind ${byKind.def.kind}?`;
    return `; known kinds: ${same.map((k) => k.def.kind).join(', ')}`;
  }
}

/** The group all our kinds live in; other groups are skipped, not rejected. */
export const OUR_GROUP = GROUP;

const MAX_INT32 = 2147483647;

/** Go's %v of a decoded JSON value, for the scale accessor's messages. */
function goValue(v: unknown): string {
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object') return `map[${Object.keys(v as object).sort().map((k) => `${k}:${goValue((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  return String(v);
}

function goType(v: unknown): string {
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object') return 'map[string]interface {}';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  if (typeof v === 'bigint') return 'int64';
  return typeof v === 'boolean' ? 'bool' : 'string';
}

/** The API server's checks of the scale subresource's spec replicas path (customresource validator). */
function validateScale(obj: Record<string, unknown>, specReplicasPath: string, errors: FieldError[]): void {
  const segments = specReplicasPath.replace(/^\./, '').split('.');
  let cur: unknown = obj;
  for (let i = 0; i < segments.length; i++) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) {
      errors.push({ field: specReplicasPath, type: 'FieldValueInvalid', message: `Invalid value: 0: ${specReplicasPath} accessor error: ${goValue(cur)} is of the type ${goType(cur)}, expected map[string]interface{}`, rule: 'scale' });
      return;
    }
    if (!Object.prototype.hasOwnProperty.call(cur, segments[i])) return;
    cur = (cur as Record<string, unknown>)[segments[i]];
  }
  const isInt = typeof cur === 'bigint' || (typeof cur === 'number' && Number.isInteger(cur));
  if (!isInt) {
    errors.push({ field: specReplicasPath, type: 'FieldValueInvalid', message: `Invalid value: 0: ${specReplicasPath} accessor error: ${goValue(cur)} is of the type ${goType(cur)}, expected int64`, rule: 'scale' });
  } else if (Number(cur) < 0) {
    errors.push({ field: specReplicasPath, type: 'FieldValueInvalid', message: `Invalid value: ${cur}: should be a non-negative integer`, rule: 'scale' });
  } else if (Number(cur) > MAX_INT32) {
    errors.push({ field: specReplicasPath, type: 'FieldValueInvalid', message: `Invalid value: ${cur}: should be less than or equal to ${MAX_INT32}`, rule: 'scale' });
  }
}

function hasBlocking(errors: FieldError[]): boolean {
  for (let i = 0; i < errors.length; i++) if (BLOCKING.has(errors[i].type)) return true;
  return false;
}

/** JSON type names as Go's encoding/json prints them in unmarshal errors. */
function goJsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return 'number';
  return typeof v;
}


/**
 * What makes the API server fail while decoding the request into its Go
 * types, before any validation: ObjectMeta of the wrong shape. It then
 * reports this one error and nothing else.
 */
function decodeProblem(raw: Record<string, unknown>, kind: string, version: string): FieldError | undefined {
  const meta = raw.metadata;
  if (meta === undefined || meta === null) return undefined;
  if (typeof meta !== 'object' || Array.isArray(meta)) return unmarshalError(kind, version, 'metadata', `${goJsonType(meta)} into Go value of type v1.ObjectMeta`);
  const m = meta as Record<string, unknown>;
  for (const f in m) {
    const v = m[f];
    if (v === undefined || v === null || !Object.prototype.hasOwnProperty.call(m, f)) continue;
    const shape = META_SHAPES[f];
    if (shape === 'string' && typeof v !== 'string') return unmarshalError(kind, version, `metadata.${f}`, `${goJsonType(v)} into Go struct field ObjectMeta.${f} of type string`);
    if (shape === 'int64' && !(typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v)))) {
      return unmarshalError(kind, version, `metadata.${f}`, `${goJsonType(v)} into Go struct field ObjectMeta.${f} of type int64`);
    }
    if (shape === 'map') {
      if (typeof v !== 'object' || Array.isArray(v)) return unmarshalError(kind, version, `metadata.${f}`, `${goJsonType(v)} into Go struct field ObjectMeta.${f} of type map[string]string`);
      for (const value of Object.values(v as Record<string, unknown>)) {
        if (value !== null && typeof value !== 'string') return unmarshalError(kind, version, `metadata.${f}`, `${goJsonType(value)} into Go struct field ObjectMeta.${f} of type string`);
      }
    }
    if (shape === 'list' && !Array.isArray(v)) return unmarshalError(kind, version, `metadata.${f}`, `${goJsonType(v)} into Go struct field ObjectMeta.${f} of type []`);
  }
  return undefined;
}

/** Go shapes of the ObjectMeta fields a manifest can get wrong. */
const META_SHAPES: Record<string, 'string' | 'int64' | 'map' | 'list' | undefined> = Object.assign(Object.create(null), {
  name: 'string', generateName: 'string', namespace: 'string', selfLink: 'string', uid: 'string', resourceVersion: 'string',
  creationTimestamp: 'string', deletionTimestamp: 'string', generation: 'int64', deletionGracePeriodSeconds: 'int64',
  labels: 'map', annotations: 'map', finalizers: 'list', ownerReferences: 'list', managedFields: 'list',
});

function unmarshalError(kind: string, version: string, field: string, what: string): FieldError {
  return { field, type: 'DocumentInvalid', message: `${kind} in version "${version}" cannot be handled as a ${kind}: json: cannot unmarshal ${what}`, rule: 'decode' };
}

/** Builds a result; names come from the document as given (before any pruning). */
function result(
  raw: Record<string, unknown> | undefined,
  apiVersion: string | undefined,
  kind: string | undefined,
  errors: FieldError[],
  warnings: string[],
  skipped: boolean,
  object?: unknown,
): ObjectResult {
  const meta = raw?.metadata as Record<string, unknown> | undefined;
  const named = typeof meta === 'object' && meta !== null;
  return {
    apiVersion,
    kind,
    namespace: named && typeof meta.namespace === 'string' ? meta.namespace : undefined,
    name: named ? (typeof meta.name === 'string' ? meta.name : typeof meta.generateName === 'string' ? meta.generateName : undefined) : undefined,
    valid: errors.length === 0,
    skipped,
    errors,
    warnings,
    object,
  };
}
