import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALL_KINDS } from '../api/v1beta1';
import { renderOutputs } from './outputs';
import { runCdk8sImport, IMPORTS_DIR } from './imports';

/**
 * `npm run synth`: writes dist/ (CRDs), schemas/ (JSON Schemas),
 * src/generated/ (TypeScript types) and imports/ (cdk8s L1 constructs).
 * `npm run synth -- --check` writes nothing and exits 1 when a file is stale.
 */
async function main(argv: string[]): Promise<number> {
  const check = argv.includes('--check');
  const root = path.resolve(__dirname, '..', '..');
  const stale: string[] = [];

  /** Writes (or, in check mode, compares) each file; returns nothing, records what differs. */
  const sync = (files: Map<string, string>) => {
    for (const [rel, content] of files) {
      const abs = path.join(root, rel);
      if (fs.existsSync(abs) && fs.readFileSync(abs, 'utf8') === content) continue;
      if (check) {
        stale.push(rel);
        continue;
      }
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.writeFileSync(abs, content);
      console.log(`wrote ${rel}`);
    }
  };

  sync(await renderOutputs(ALL_KINDS));
  // cdk8s import reads dist/crds.yaml from disk, so it runs after the CRDs are written.
  sync(runCdk8sImport(root));

  if (stale.length > 0) {
    console.error(`stale generated files (run npm run synth):\n${stale.map((f) => `  ${f}`).join('\n')}`);
    return 1;
  }
  console.log(check ? 'generated files are up to date' : `synthesized ${ALL_KINDS.length} kinds into dist/, schemas/, src/generated/ and ${IMPORTS_DIR}/`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
