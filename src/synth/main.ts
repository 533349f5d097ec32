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
  const files = await renderOutputs(ALL_KINDS);
  const stale: string[] = [];
  for (const [rel, content] of files) {
    const abs = path.join(root, rel);
    const current = fs.existsSync(abs) ? fs.readFileSync(abs, 'utf8') : undefined;
    if (current === content) continue;
    if (check) stale.push(rel);
    else {
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.writeFileSync(abs, content);
      console.log(`wrote ${rel}`);
    }
  }
  // cdk8s import reads the CRD file on disk; in check mode, compare against a fresh import of what we would write.
  if (!check) {
    const imports = runCdk8sImport(root);
    for (const [rel, content] of imports) {
      const abs = path.join(root, rel);
      if (fs.existsSync(abs) && fs.readFileSync(abs, 'utf8') === content) continue;
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      fs.writeFileSync(abs, content);
      console.log(`wrote ${rel}`);
    }
  } else {
    for (const [rel, content] of runCdk8sImport(root)) {
      const abs = path.join(root, rel);
      if (!fs.existsSync(abs) || fs.readFileSync(abs, 'utf8') !== content) stale.push(rel);
    }
  }
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
