import type { SchemaNode } from '../schema/node';

/**
 * A conservative stand-in for kube-apiserver's static CEL cost estimator.
 *
 * The API server refuses a CRD when a rule's estimated cost exceeds 10,000,000
 * units, or when all rules together (each multiplied by how often it can run)
 * exceed 100,000,000. Without maxItems / maxLength / maxProperties it assumes
 * lists and strings as large as a 3 MiB request allows, which is what usually
 * blows the budget. We flag the patterns that do that: iterating macros over
 * unbounded collections, and string scans nested in them.
 */

export const PER_RULE_LIMIT = 10_000_000;
export const PER_CRD_LIMIT = 100_000_000;
/** Largest request body kube-apiserver accepts; its estimator derives unbounded sizes from it. */
const MAX_REQUEST_BYTES = 3 * 1024 * 1024;

const ITERATORS = /((?:self|oldSelf)(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\.(all|exists|exists_one|map|filter)\(\s*([A-Za-z_][A-Za-z0-9_]*)?/g;
const SCANNERS = /((?:self|oldSelf|[a-z])(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\.(matches|contains|startsWith|endsWith|find|findAll|split|replace|indexOf|lastIndexOf)\(/g;

export function estimateRuleProblems(n: SchemaNode, rule: string, cardinality: number | undefined): string[] {
  const problems: string[] = [];
  let cost = 1;
  /** Comprehension variables bound to the element schema they range over. */
  const vars = new Map<string, SchemaNode>();
  for (const m of rule.matchAll(ITERATORS)) {
    const target = resolve(n, m[1]);
    if (!target) continue;
    const element = target.spec.kind === 'array' ? target.spec.items : target.spec.kind === 'map' ? target.spec.values : undefined;
    if (m[3] && element) vars.set(m[3], element);
    const size = collectionSize(target);
    if (size === undefined) {
      const bound = target.spec.kind === 'array' ? 'maxItems' : 'maxProperties';
      problems.push(`${m[2]}() iterates over ${m[1]}, which has no ${bound}: kube-apiserver would estimate it at the 3 MiB request limit and refuse the rule as too expensive; set ${bound}`);
      cost *= MAX_REQUEST_BYTES;
    } else {
      cost *= Math.max(1, size);
    }
  }
  const iterates = /\.(all|exists|exists_one|map|filter)\(/.test(rule);
  for (const m of rule.matchAll(SCANNERS)) {
    const head = m[1].split('.')[0];
    const target = vars.has(head) ? resolveFrom(vars.get(head)!, m[1].split('.').slice(1)) : resolve(n, m[1]);
    const len = target?.spec.kind === 'string' ? target.spec.maxLength : undefined;
    if (iterates && target?.spec.kind === 'string' && len === undefined) {
      problems.push(`${m[2]}() scans ${m[1]} inside an iteration, but the string has no maxLength; set maxLength`);
    }
    cost *= Math.max(1, Math.ceil((len ?? (iterates ? 1 : 0)) / 10));
  }
  cost *= 10; // a handful of operations per step
  if (problems.length === 0 && cost > PER_RULE_LIMIT) {
    problems.push(`estimated cost ${cost} exceeds the per-rule budget ${PER_RULE_LIMIT}; lower maxItems/maxLength`);
  }
  if (problems.length === 0 && cardinality !== undefined && cost * cardinality > PER_CRD_LIMIT) {
    problems.push(`estimated cost ${cost} times ${cardinality} possible evaluations exceeds the per-CRD budget ${PER_CRD_LIMIT}`);
  }
  return problems;
}

function collectionSize(n: SchemaNode): number | undefined {
  const s = n.spec;
  if (s.kind === 'array') return s.maxItems;
  if (s.kind === 'map') return s.maxProperties;
  if (s.kind === 'string') return s.maxLength;
  return 1;
}

/** Resolves `self.a.b` to the node it names, or undefined when it cannot be told statically. */
function resolve(n: SchemaNode, expr: string): SchemaNode | undefined {
  const [head, ...segments] = expr.split('.');
  if (head !== 'self' && head !== 'oldSelf') return undefined;
  return resolveFrom(n, segments);
}

function resolveFrom(n: SchemaNode, segments: string[]): SchemaNode | undefined {
  let cur: SchemaNode | undefined = n;
  for (const seg of segments) {
    if (!cur || cur.spec.kind !== 'object') return undefined;
    cur = cur.spec.properties?.[seg];
  }
  return cur;
}
