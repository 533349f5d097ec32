/**
 * The VM uid (the VirtualMachine's `metadata.uid`, see
 * {@link CreateRequest.uid}) as providers store and report it, and as it
 * travels where no field holds it:
 *
 * - Create over the wire: one element `virtrigaud.io/uid=<uid>` of
 *   `CreateRequest.tags` ({@link UID_TAG_PREFIX}); {@link splitUidTag}
 *   takes it back out.
 * - Describe and ListVMs over the wire: the `provider_raw` key
 *   `virtrigaud.io/uid` ({@link UID_RAW_KEY}).
 * - Clone: `CloneRequest` has no uid and the manager sends none, so a clone
 *   is uid-less, unless its `customize_json` (a VMClone
 *   `spec.customization`, JSON) lists the same tag in its `tags` array:
 *   `{"tags":["virtrigaud.io/uid=<uid>"]}` ({@link cloneUid}).
 */
import { ProviderError, UID_RAW_KEY, UID_TAG_PREFIX, USER_DATA_FORMAT_TAG, type CreateRequest } from './provider';

/** A uid providers accept: what Kubernetes issues (a UUID) and anything of the same plain alphabet. */
const UID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Throws InvalidSpec for a uid no provider should store (empty is "no uid" and allowed). */
export function checkUid(uid: string | undefined, op: string): void {
  if (uid === undefined || uid === '') return;
  if (!UID_RE.test(uid)) throw new ProviderError('InvalidSpec', `${op}: uid ${JSON.stringify(uid)} is not a valid uid (letters, digits, . _ : -; at most 128)`, op);
}

/** The uid tag for `uid`. */
export function uidTag(uid: string): string {
  return `${UID_TAG_PREFIX}${uid}`;
}

/**
 * Separates the uid tag from the other tags. The last uid tag wins when
 * there are several; an empty value counts as none.
 */
export function splitUidTag(tags: readonly string[]): { uid?: string; tags: string[] } {
  let uid: string | undefined;
  const rest: string[] = [];
  for (const tag of tags) {
    if (tag.startsWith(UID_TAG_PREFIX)) uid = tag.slice(UID_TAG_PREFIX.length) || undefined;
    else rest.push(tag);
  }
  return uid === undefined ? { tags: rest } : { uid, tags: rest };
}

/**
 * The uid of an in-process create: `req.uid` only, checked. A uid tag
 * among the tags never counts: tags come from the VM spec, and a tenant
 * must not claim another VM's uid by writing one (the remote server turns
 * the tag its client added into `req.uid` before a provider sees it).
 */
export function requestUid(req: Pick<CreateRequest, 'uid'>, op = 'Create'): string | undefined {
  checkUid(req.uid, op);
  return req.uid || undefined;
}

/** Tags without any uid or user-data format tag (what a provider stores as the VM's tags: the prefixes are reserved). */
export function plainTags(tags: readonly string[]): string[] {
  return splitUidTag(tags).tags.filter((t) => !t.startsWith(USER_DATA_FORMAT_TAG));
}

/**
 * The uid of a clone: the uid tag in `customize_json.tags`, when the JSON
 * is an object holding one; else undefined (a clone is uid-less).
 */
export function cloneUid(customizeJson: string, op = 'Clone'): string | undefined {
  if (!customizeJson.trim()) return undefined;
  let spec: unknown;
  try {
    spec = JSON.parse(customizeJson);
  } catch {
    // Not ours to judge: providers that read customize_json report bad JSON themselves.
    return undefined;
  }
  const tags = (spec as { tags?: unknown } | null)?.tags;
  if (!Array.isArray(tags)) return undefined;
  const uid = splitUidTag(tags.filter((x): x is string => typeof x === 'string')).uid;
  checkUid(uid, op);
  return uid;
}

/** `raw` with {@link UID_RAW_KEY} set to `uid`, or without that key when there is no uid. */
export function withRawUid<T>(raw: Readonly<Record<string, T>>, uid: string | undefined): Record<string, T | string> {
  const { [UID_RAW_KEY]: _drop, ...rest } = raw;
  return uid ? { ...rest, [UID_RAW_KEY]: uid } : rest;
}

/** Client side: the uid a wire provider_raw holds, and the rest of the map. */
export function liftRawUid<T>(raw: Readonly<Record<string, T>>): { uid?: string; raw: Record<string, T> } {
  const { [UID_RAW_KEY]: value, ...rest } = raw;
  return typeof value === 'string' && value ? { uid: value, raw: rest } : { raw: rest };
}
