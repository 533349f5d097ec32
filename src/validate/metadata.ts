import { FieldError, invalid, typeInvalid, jsonType } from './errors';

/**
 * ObjectMeta checks the API server runs on every custom resource
 * (apimachinery ValidateObjectMeta), with its messages.
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const ANNOTATIONS_MAX_BYTES = 256 * 1024;

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const NAME_PART_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const QUALIFIED_MSG =
  "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/** ObjectMeta fields a manifest may carry; anything else is an unknown field. */
export const OBJECT_META_FIELDS = new Set([
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
]);

export function validateMetadata(meta: unknown, errors: FieldError[], unknown: string[]): void {
  if (meta === undefined || meta === null) {
    errors.push({ field: 'metadata.name', type: 'FieldValueRequired', message: 'Required value: name or generateName is required', rule: 'metadata' });
    return;
  }
  if (typeof meta !== 'object' || Array.isArray(meta)) {
    errors.push(typeInvalid('metadata', jsonType(meta), 'object'));
    return;
  }
  const m = meta as Record<string, unknown>;
  for (const key of Object.keys(m)) if (!OBJECT_META_FIELDS.has(key)) unknown.push(`metadata.${key}`);
  // Go decodes "" and an absent field alike: an empty name or generateName counts as not set.
  const name = m.name === '' ? undefined : m.name;
  const generateName = m.generateName === '' ? undefined : m.generateName;
  const { namespace } = m;
  if (name === undefined && generateName === undefined) {
    errors.push({ field: 'metadata.name', type: 'FieldValueRequired', message: 'Required value: name or generateName is required', rule: 'metadata' });
  }
  if (name !== undefined) checkSubdomain('metadata.name', name, errors);
  if (generateName !== undefined && typeof generateName === 'string') checkSubdomain('metadata.generateName', generateName.replace(/-$/, '') || 'a', errors, generateName);
  if (namespace !== undefined) {
    if (typeof namespace !== 'string') errors.push(typeInvalid('metadata.namespace', jsonType(namespace), 'string'));
    else if (namespace.length > 63) errors.push(invalid('metadata.namespace', namespace, 'must be no more than 63 characters', 'metadata'));
    else if (!DNS1123_LABEL.test(namespace)) errors.push(invalid('metadata.namespace', namespace, LABEL_MSG, 'metadata'));
  }
  checkStringMap('metadata.labels', m.labels, errors, (k, v) => {
    const out = qualifiedNameProblems(k);
    if (v.length > 63) out.push({ value: v, msg: 'must be no more than 63 bytes' });
    if (!LABEL_VALUE.test(v)) out.push({ value: v, msg: LABEL_VALUE_MSG });
    return out;
  });
  checkStringMap('metadata.annotations', m.annotations, errors, (k) => qualifiedNameProblems(k));
  if (m.annotations && typeof m.annotations === 'object') {
    let total = 0;
    for (const [k, v] of Object.entries(m.annotations)) total += k.length + (typeof v === 'string' ? v.length : 0);
    if (total > ANNOTATIONS_MAX_BYTES) {
      errors.push({ field: 'metadata.annotations', type: 'FieldValueTooLong', message: `Too long: must have at most ${ANNOTATIONS_MAX_BYTES} bytes`, rule: 'metadata' });
    }
  }
}

function checkSubdomain(field: string, v: unknown, errors: FieldError[], shown: unknown = v): void {
  if (typeof v !== 'string') {
    errors.push(typeInvalid(field, jsonType(v), 'string'));
    return;
  }
  if (v.length > 253) errors.push(invalid(field, shown, 'must be no more than 253 characters', 'metadata'));
  if (!DNS1123_SUBDOMAIN.test(v)) errors.push(invalid(field, shown, SUBDOMAIN_MSG, 'metadata'));
}

function checkStringMap(
  field: string,
  v: unknown,
  errors: FieldError[],
  problems: (key: string, value: string) => { value: string; msg: string }[],
): void {
  if (v === undefined || v === null) return;
  if (typeof v !== 'object' || Array.isArray(v)) {
    errors.push(typeInvalid(field, jsonType(v), 'object'));
    return;
  }
  for (const [k, value] of Object.entries(v)) {
    if (typeof value !== 'string') {
      errors.push(typeInvalid(`${field}.${k}`, jsonType(value), 'string'));
      continue;
    }
    for (const p of problems(k, value)) errors.push(invalid(field, p.value, p.msg, 'metadata'));
  }
}

/** Label and annotation keys: `[prefix/]name`, the prefix a DNS subdomain. */
function qualifiedNameProblems(key: string): { value: string; msg: string }[] {
  const parts = key.split('/');
  if (parts.length > 2) return [{ value: key, msg: QUALIFIED_MSG }];
  const out: { value: string; msg: string }[] = [];
  const name = parts[parts.length - 1];
  if (parts.length === 2) {
    const prefix = parts[0];
    if (!prefix) out.push({ value: key, msg: 'prefix part must be non-empty' });
    else if (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) out.push({ value: key, msg: `prefix part ${SUBDOMAIN_MSG}` });
  }
  if (!name) out.push({ value: key, msg: 'name part must be non-empty' });
  else if (name.length > 63) out.push({ value: key, msg: 'name part must be no more than 63 characters' });
  else if (!QUALIFIED_NAME.test(name)) out.push({ value: key, msg: NAME_PART_MSG });
  return out;
}
