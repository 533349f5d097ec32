import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

// Compiles the whole project (sources, generated types, cdk8s imports, tests,
// and test/types/compat.ts, which proves the DSL's inferred types and the
// generated types agree). Types are part of what we ship.
t.test('tsc --noEmit passes', async (t) => {
  const root = path.resolve(__dirname, '..');
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '-p', root], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stdout + r.stderr);
});
