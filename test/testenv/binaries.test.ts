/** Locating the binaries, and the message when they are missing. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { findKubeBinaries, kubeBinsCacheDir, MissingKubeBinariesError, pinnedVersions, startControlPlane } from '../../src/testenv';

const made: string[] = [];
const empty = () => {
  const d = mkdtempSync(join(tmpdir(), 'virtrigaud-kube-bins-test-'));
  made.push(d);
  return d;
};
t.teardown(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

t.test('the pinned versions come from tools/kube-bins', async (t) => {
  const v = pinnedVersions();
  t.match(v.kubernetes, /^v1\.(3[4-9]|[4-9]\d)\.\d+$/, 'Kubernetes >= 1.34');
  t.match(v.etcd, /^v3\.6\.\d+$/, 'etcd 3.6.x');
  t.equal(
    kubeBinsCacheDir({ VIRTRIGAUD_KUBE_BINS_CACHE: '/x/kb' }),
    `/x/kb/${v.kubernetes}-etcd${v.etcd.slice(1)}`,
    'cache dir layout matches scripts/kube-bins.sh',
  );
});

t.test('KUBEBUILDER_ASSETS wins over the cache', async (t) => {
  const dir = empty();
  for (const b of ['kube-apiserver', 'etcd', 'kubectl']) {
    writeFileSync(join(dir, b), '#!/bin/sh\n');
    chmodSync(join(dir, b), 0o755);
  }
  const found = findKubeBinaries({ env: { KUBEBUILDER_ASSETS: dir, VIRTRIGAUD_KUBE_BINS_CACHE: empty() } });
  t.equal(found.source, 'KUBEBUILDER_ASSETS');
  t.equal(found.kubectl, join(dir, 'kubectl'));
});

t.test('missing binaries give an error that says how to get them', async (t) => {
  const assets = empty();
  writeFileSync(join(assets, 'etcd'), 'not executable');
  const err = (() => {
    try {
      findKubeBinaries({ env: { KUBEBUILDER_ASSETS: assets, VIRTRIGAUD_KUBE_BINS_CACHE: empty() } });
    } catch (e) {
      return e;
    }
  })();
  t.type(err, MissingKubeBinariesError);
  const msg = (err as Error).message;
  t.match(msg, /npm run kube-bins/);
  t.match(msg, /KUBEBUILDER_ASSETS/);
  t.match(msg, /missing or not executable: kube-apiserver, etcd, kubectl/);
});

t.test('startControlPlane rejects (does not skip) without binaries', async (t) => {
  const dir = empty();
  mkdirSync(join(dir, 'bin'));
  await t.rejects(startControlPlane({ binaries: join(dir, 'bin') }), MissingKubeBinariesError);
});
