import { ApiObject, JsonPatch } from 'cdk8s';
import { IConstruct } from 'constructs';

/**
 * Removes fields that cdk8s-plus always writes but the API server does not
 * store: empty lists and strings and zero values of `omitempty` fields
 * (`resourceNames: []`, a subject's `apiGroup: ""`, `minReadySeconds: 0`,
 * `hostNetwork: false`, `externalIPs: []`). cdk8s-plus has no option to leave
 * them out, and left in they make every `kubectl apply` report the object
 * "configured" and GitOps tools show a permanent diff against the live object.
 * Same meaning either way: each is the API's default.
 *
 * `paths` are JSON Pointers into the synthesized object.
 */
export function dropEmptyDefaults(resource: IConstruct, ...paths: string[]): void {
  const obj = ApiObject.of(resource);
  for (const p of paths) obj.addJsonPatch(JsonPatch.remove(p));
}
