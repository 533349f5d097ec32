/**
 * Installing CustomResourceDefinitions and waiting until they are served.
 *
 * A CRD that the API server accepts is not usable yet: the naming controller
 * must accept its names and the CRD must become Established. A CRD can also
 * be rejected outright (422), e.g. when a CEL rule does not compile. Both
 * cases are reported with the CRD's name, file and the server's words.
 */
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type V1CustomResourceDefinition,
  type V1CustomResourceDefinitionCondition,
} from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { rawRequest } from './raw-request';

/**
 * A CRD exactly as written in YAML, with the wire names of its fields
 * (`x-kubernetes-validations`, `default`, `enum`...). Only the fields the
 * harness reads are typed. Deliberately not client-node's
 * V1CustomResourceDefinition: that model uses other property names
 * (`xKubernetesValidations`, `_default`), and passing raw YAML through
 * client-node's serializer silently drops every such field.
 */
export interface RawCrd {
  readonly apiVersion: string;
  readonly kind: 'CustomResourceDefinition';
  readonly metadata: { readonly name: string; readonly [k: string]: unknown };
  readonly spec: {
    readonly group: string;
    readonly scope: 'Namespaced' | 'Cluster';
    readonly names: { readonly kind: string; readonly plural: string; readonly [k: string]: unknown };
    readonly versions: readonly RawCrdVersion[];
    readonly [k: string]: unknown;
  };
  readonly [k: string]: unknown;
}

export interface RawCrdVersion {
  readonly name: string;
  readonly served: boolean;
  readonly storage: boolean;
  readonly schema?: { readonly openAPIV3Schema?: Record<string, unknown> };
  readonly additionalPrinterColumns?: readonly { readonly name: string; readonly jsonPath: string; readonly priority?: number }[];
  readonly [k: string]: unknown;
}

/** One CRD document read from a file. */
export interface CrdDocument {
  readonly file: string;
  readonly name: string;
  readonly object: RawCrd;
}

/** Why one CRD could not be installed. */
export interface CrdFailure {
  readonly name: string;
  readonly file: string;
  /** `rejected`: the API server refused the object; `not-established`: it exists but is not served. */
  readonly kind: 'rejected' | 'not-established';
  /** The server's message (rejected) or a summary of the conditions. */
  readonly reason: string;
  /** The CRD's status conditions when it was last read (not-established only). */
  readonly conditions?: readonly V1CustomResourceDefinitionCondition[];
}

/** Thrown by {@link installCrds} when at least one CRD is not usable. */
export class CrdInstallError extends Error {
  constructor(readonly failures: readonly CrdFailure[]) {
    super(
      `${failures.length} CustomResourceDefinition(s) could not be installed:\n` +
        failures.map((f) => `  - ${f.name} (${f.file}): ${f.kind === 'rejected' ? 'rejected by the API server' : 'not Established'}: ${f.reason}`).join('\n'),
    );
    this.name = 'CrdInstallError';
  }
}

export interface InstallCrdsOptions {
  /** How long to wait for every CRD to become Established. @default 30000 */
  readonly timeoutMs?: number;
}

/** Reads every CRD from the given multi-document YAML files. */
export async function readCrdFiles(paths: readonly string[]): Promise<CrdDocument[]> {
  const out: CrdDocument[] = [];
  for (const file of paths) {
    const docs = YAML.parseAllDocuments(await readFile(file, 'utf8'));
    for (const doc of docs) {
      if (doc.errors.length) throw new Error(`${file}: invalid YAML: ${doc.errors[0]!.message}`);
      const obj = doc.toJS() as Partial<RawCrd> | null;
      if (obj == null) continue;
      if (obj.kind !== 'CustomResourceDefinition' || !obj.metadata?.name) {
        throw new Error(`${file}: expected only CustomResourceDefinitions, found ${obj.kind ?? 'an object without kind'} ${obj.metadata?.name ?? ''}`.trim());
      }
      out.push({ file, name: obj.metadata.name, object: obj as RawCrd });
    }
  }
  return out;
}

/** Best-effort extraction of the Status message from a client-node error. */
export function apiErrorMessage(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  let body = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      /* keep the raw string */
    }
  }
  if (body && typeof body === 'object' && 'message' in body) return String((body as { message: unknown }).message);
  if (typeof body === 'string' && body) return body;
  return e.message ?? String(err);
}

function condition(crd: V1CustomResourceDefinition, type: string): V1CustomResourceDefinitionCondition | undefined {
  return crd.status?.conditions?.find((c) => c.type === type);
}

function describeConditions(conds: readonly V1CustomResourceDefinitionCondition[] | undefined): string {
  if (!conds?.length) return 'no status conditions yet';
  return conds.map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason}${c.message ? `: ${c.message}` : ''})` : ''}`).join('; ');
}

/**
 * Server-side apply of a raw object: the JSON goes to the API server byte
 * for byte (see {@link RawCrd} for why client-node's typed calls are not used).
 */
async function serverSideApply(kc: KubeConfig, path: string, body: unknown): Promise<void> {
  const r = await rawRequest(kc, {
    method: 'PATCH',
    path: `${path}?fieldManager=virtrigaud-testenv&force=true`,
    contentType: 'application/apply-patch+yaml',
    body,
  });
  if (r.status >= 300) throw Object.assign(new Error(`HTTP ${r.status}`), { code: r.status, body: r.text });
}

/**
 * Applies the CRDs (server-side apply, so re-running is idempotent and
 * concurrent callers do not conflict) and waits until each one is
 * Established. Throws {@link CrdInstallError} listing every CRD that was
 * rejected or did not become Established, with its conditions.
 *
 * @returns the installed CRDs as read back from the server
 */
export async function installCrds(
  kc: KubeConfig,
  crds: readonly CrdDocument[],
  opts: InstallCrdsOptions = {},
): Promise<V1CustomResourceDefinition[]> {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const failures: CrdFailure[] = [];
  const accepted: CrdDocument[] = [];

  for (const crd of crds) {
    try {
      // Drop status/resourceVersion a file may carry; apply wants intent only.
      const { status: _status, ...intent } = crd.object;
      const { resourceVersion: _rv, ...metadata } = intent.metadata;
      await serverSideApply(
        kc,
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(crd.name)}`,
        { ...intent, metadata },
      );
      accepted.push(crd);
    } catch (err) {
      failures.push({ name: crd.name, file: crd.file, kind: 'rejected', reason: apiErrorMessage(err) });
    }
  }

  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const installed: V1CustomResourceDefinition[] = [];
  let pending = accepted;
  const lastSeen = new Map<string, V1CustomResourceDefinition>();
  while (pending.length) {
    const still: CrdDocument[] = [];
    for (const crd of pending) {
      let live: V1CustomResourceDefinition;
      try {
        live = await ext.readCustomResourceDefinition({ name: crd.name });
      } catch (err) {
        still.push(crd);
        lastSeen.delete(crd.name);
        if ((err as { code?: number }).code !== 404) throw err;
        continue;
      }
      lastSeen.set(crd.name, live);
      const names = condition(live, 'NamesAccepted');
      if (names?.status === 'False') {
        // A naming conflict does not heal by waiting: report it now.
        failures.push({
          name: crd.name,
          file: crd.file,
          kind: 'not-established',
          reason: describeConditions(live.status?.conditions),
          conditions: live.status?.conditions ?? [],
        });
      } else if (condition(live, 'Established')?.status === 'True') {
        installed.push(live);
      } else {
        still.push(crd);
      }
    }
    pending = still;
    if (!pending.length) break;
    if (Date.now() > deadline) {
      for (const crd of pending) {
        const live = lastSeen.get(crd.name);
        failures.push({
          name: crd.name,
          file: crd.file,
          kind: 'not-established',
          reason: `still not Established after ${timeoutMs} ms: ${describeConditions(live?.status?.conditions)}`,
          conditions: live?.status?.conditions ?? [],
        });
      }
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  if (failures.length) throw new CrdInstallError(failures);
  return installed;
}
