#!/usr/bin/env node
// Prints every failed assertion of a TAP log with the subtests it sits in, so a
// CI run that only shows its last lines still says what failed and where.
// Usage: node scripts/tap-failures.mjs <tap-log>
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node scripts/tap-failures.mjs <tap-log>');
  process.exit(2);
}
const lines = readFileSync(file, 'utf8').split('\n');
const stack = []; // [{ indent, name }]
const failures = [];
for (let i = 0; i < lines.length; i++) {
  const line = lines[i];
  const indent = line.length - line.trimStart().length;
  const text = line.trim();
  const sub = /^# Subtest: (.*)$/.exec(text);
  if (sub) {
    while (stack.length && stack[stack.length - 1].indent >= indent) stack.pop();
    stack.push({ indent, name: sub[1] });
    continue;
  }
  const fail = /^not ok \d+ - (.*?)(?: # time=.*)?$/.exec(text);
  if (!fail) continue;
  // A subtest's own summary line comes at the indent of its header: only leaves are reported.
  const parents = stack.filter((s) => s.indent < indent).map((s) => s.name);
  const isSummary = stack.some((s) => s.indent === indent && s.name === fail[1]);
  if (isSummary) continue;
  const diag = [];
  if ((lines[i + 1] ?? '').trim() === '---') {
    for (let j = i + 2; j < lines.length && lines[j].trim() !== '...' && diag.length < 12; j++) diag.push(lines[j].trim().slice(0, 300));
  }
  const path = [...parents, fail[1]].join(' > ');
  failures.push({ path: path.length > 400 ? `${path.slice(0, 400)}…` : path, diag });
}
if (!failures.length) {
  console.log('[tap-failures] no failed assertion found in the log');
} else {
  console.log(`[tap-failures] ${failures.length} failed assertion(s):`);
  for (const f of failures) {
    console.log(`not ok: ${f.path}`);
    for (const d of f.diag) console.log(`    ${d}`);
  }
}
