/** The examples apply cleanly to the real test API server (strict field validation). */
import t from 'tap';
import * as path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { useControlPlane, rawRequest } from '../../src/testenv';
import { ALL_KINDS } from '../../src/api/v1beta1';
import { EXAMPLES, synthExample } from './examples';

t.test('every example object is created by kube-apiserver', async (t) => {
  const cp = await useControlPlane(t);
  await cp.applyCrds([path.resolve(__dirname, '../../dist/crds.yaml')]);
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  const plural = new Map(ALL_KINDS.map((k) => [k.kind, k.plural]));
  for (const [name, make] of EXAMPLES) {
    const objects = synthExample(make, name);
    const namespaces = new Set(objects.map((o) => o.metadata.namespace as string));
    for (const ns of namespaces) await core.createNamespace({ body: { metadata: { name: ns } } }).catch(() => undefined);
    for (const o of objects) {
      const r = await rawRequest(cp.kubeConfig, {
        method: 'POST',
        path: `/apis/${o.apiVersion}/namespaces/${o.metadata.namespace}/${plural.get(o.kind)}?fieldValidation=Strict`,
        body: o,
        contentType: 'application/json',
      });
      t.ok(r.status === 201 || r.status === 409, `${name}: ${o.kind} ${o.metadata.name}: ${r.status} ${r.status >= 300 ? r.text : ''}`);
    }
  }
});
