/**
 * Our own CRDs (dist/crds.yaml from `npm run synth`) on a real API server:
 * every one is accepted and Established, `kubectl explain` shows the field
 * descriptions, and `kubectl get` shows the additionalPrinterColumns.
 * VIRTRIGAUD_TEST_CRDS=<file> checks another CRD bundle instead.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import t from 'tap';
import { DEFAULT_CRDS_PATH as DIST_CRDS, rawRequest, readCrdFiles, useControlPlane, type ControlPlane } from '../../src/testenv';
import type { CrdDocument } from '../../src/testenv/crds';
import { createNamespace, eventually, uniqueName } from './helpers';
import { createSample, type RawSchema } from './sample-objects';

const DEFAULT_CRDS_PATH = process.env.VIRTRIGAUD_TEST_CRDS || DIST_CRDS;
const words = (s: string) => s.replace(/\s+/g, ' ').trim();

if (!existsSync(DEFAULT_CRDS_PATH)) {
  t.fail(`${DEFAULT_CRDS_PATH} does not exist; run \`npm run synth\` first`);
} else {
  let cp: ControlPlane;
  let crds: CrdDocument[];
  t.before(async () => {
    cp = await useControlPlane(t);
    crds = await readCrdFiles([DEFAULT_CRDS_PATH]);
  });

  t.test('every CRD in dist/crds.yaml is accepted and Established', async (t) => {
    t.ok(crds.length > 0, 'dist/crds.yaml holds CRDs');
    // Idempotent: the shared control plane may have installed them already.
    const installed = await cp.applyCrds([DEFAULT_CRDS_PATH]);
    t.same(installed.map((c) => c.metadata?.name).sort(), crds.map((c) => c.name).sort());
    for (const c of installed) {
      t.equal(c.status?.conditions?.find((x) => x.type === 'Established')?.status, 'True', `${c.metadata?.name} Established`);
    }
  });

  t.test('kubectl explain virtualmachines.spec.disks prints the field descriptions', async (t) => {
    await cp.applyCrds([DEFAULT_CRDS_PATH]);
    const vm = crds.find((c) => c.object.spec.names.plural === 'virtualmachines');
    if (!vm) return t.fail('dist/crds.yaml has no virtualmachines CRD');
    const version = vm.object.spec.versions.find((v) => v.storage) ?? vm.object.spec.versions[0]!;
    const root = version.schema?.openAPIV3Schema as RawSchema | undefined;
    const disks = root?.properties?.spec?.properties?.disks;
    if (!disks) return t.fail('virtualmachines has no spec.disks in its schema');

    // The OpenAPI document for a new CRD is published a moment after it is Established.
    const out = await eventually(async () => {
      const r = await cp.kubectl(['explain', 'virtualmachines.spec.disks']);
      if (r.code !== 0) throw new Error(`kubectl explain failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    }, 30_000);
    t.match(out, /KIND:\s+VirtualMachine/);
    t.match(out, /FIELD:\s+disks/);
    if (disks.description) t.ok(words(out).includes(words(disks.description)), 'prints the description of spec.disks');
    const itemProps = Object.entries(disks.items?.properties ?? {});
    t.ok(itemProps.length > 0, 'disks items have fields');
    for (const [name, prop] of itemProps) {
      t.match(out, new RegExp(`^\\s+${name}\\s+<`, 'm'), `lists field ${name}`);
      if (prop.description) {
        // kubectl shows the first lines of each field's description.
        const firstWords = words(prop.description).split(' ').slice(0, 6).join(' ');
        t.ok(words(out).includes(firstWords), `shows the description of ${name}`);
      }
    }
  });

  t.test('kubectl get shows the additionalPrinterColumns as headers', async (t) => {
    await cp.applyCrds([DEFAULT_CRDS_PATH]);
    const ns = uniqueName('vr-printcols');
    await createNamespace(cp.kubeConfig, ns);
    const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    for (const crd of crds) {
      const { group, names, scope, versions } = crd.object.spec;
      const served = versions.filter((v) => v.served);
      for (const v of served) {
        const columns = (v.additionalPrinterColumns ?? []).filter((c) => (c.priority ?? 0) === 0);
        const wide = (v.additionalPrinterColumns ?? []).filter((c) => (c.priority ?? 0) > 0);
        if (!columns.length && !wide.length) {
          t.comment(`${crd.name} ${v.name}: no additionalPrinterColumns`);
          continue;
        }
        // kubectl prints no header for an empty list, so create one object.
        const namespaced = scope === 'Namespaced';
        const name = uniqueName('sample');
        const made = await createSample(
          (v.schema?.openAPIV3Schema as RawSchema | undefined)?.properties?.spec,
          (spec) => {
            const body = { apiVersion: `${group}/${v.name}`, kind: names.kind, metadata: { name }, ...(spec !== undefined ? { spec } : {}) };
            return namespaced
              ? custom.createNamespacedCustomObject({ group, version: v.name, namespace: ns, plural: names.plural, body })
              : custom.createClusterCustomObject({ group, version: v.name, plural: names.plural, body });
          },
        );
        if (!made.ok) {
          // No valid sample could be guessed (patterns, CEL rules): check the
          // server-side Table that kubectl would print instead.
          t.comment(`${crd.name} ${v.name}: no sample object could be generated (${made.error.slice(0, 300)}); checking the API server's Table columns instead of kubectl output`);
          const path = `/apis/${group}/${v.name}/${namespaced ? `namespaces/${ns}/` : ''}${names.plural}`;
          const r = await rawRequest(cp.kubeConfig, { path, accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
          t.equal(r.status, 200, `Table for ${path}`);
          const table = JSON.parse(r.text) as { columnDefinitions?: { name: string }[] };
          const tableColumns = (table.columnDefinitions ?? []).map((c) => c.name);
          for (const c of [...columns, ...wide]) t.ok(tableColumns.includes(c.name), `${crd.name} Table has column ${c.name}`);
          continue;
        }
        const resource = `${names.plural}.${v.name}.${group}`;
        const r = await cp.kubectl(['get', resource, '-o', 'wide', ...(namespaced ? ['-n', ns] : [])]);
        t.equal(r.code, 0, `kubectl get ${resource}: ${r.stderr}`);
        const header = r.stdout.split('\n')[0] ?? '';
        const headers = header.trim().split(/\s{2,}/);
        t.equal(headers[0], 'NAME', `${resource} header starts with NAME`);
        for (const c of [...columns, ...wide]) {
          t.ok(headers.includes(c.name.toUpperCase()), `${resource} shows column ${c.name.toUpperCase()} (header: ${header.trim()})`);
        }
      }
    }
  });
}
