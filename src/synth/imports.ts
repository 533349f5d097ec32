import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Where cdk8s writes the typed L1 constructs, as cdk8s.yaml records it. */
export const IMPORTS_DIR = 'imports';
export const IMPORTS_SOURCE = 'dist/crds.yaml';

/**
 * Runs `cdk8s import` on the synthesized CRDs (exactly what cdk8s.yaml
 * records) into a fresh directory and returns its files, relative path -> content.
 * Offline: cdk8s reads the local file and its upgrade check is turned off.
 */
export function runCdk8sImport(root: string, crdFile = IMPORTS_SOURCE): Map<string, string> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'virtrigaud-import-'));
  try {
    const bin = path.join(root, 'node_modules', '.bin', 'cdk8s');
    execFileSync(bin, ['import', path.resolve(root, crdFile), '--language', 'typescript', '--output', out], {
      cwd: out,
      env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const files = new Map<string, string>();
    for (const name of fs.readdirSync(out).sort()) {
      files.set(`${IMPORTS_DIR}/${name}`, fs.readFileSync(path.join(out, name), 'utf8'));
    }
    return files;
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}
