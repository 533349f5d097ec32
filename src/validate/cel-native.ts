/**
 * Native JavaScript for the rule shapes our CEL helpers emit (src/cel/rules.ts).
 * The same verdicts as evaluating them with CEL, at a fraction of the cost;
 * test/validate/cel-native.test.ts checks the two against each other. Any
 * other rule text returns undefined and is evaluated by the CEL library.
 */

type Context = Record<string, unknown>;
export type NativeProgram = (context: Context) => boolean;

const ID = '([A-Za-z_][A-Za-z0-9_]*)';

/** Presence as CEL's has() sees it on a decoded object (nulls are pruned before rules run). */
function has(o: unknown, key: string): boolean {
  return typeof o === 'object' && o !== null && Object.prototype.hasOwnProperty.call(o, key);
}

/** CEL equality on JSON-shaped values (ints already bigint on both sides). */
export function celEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' || typeof b === 'number' || typeof a === 'bigint' || typeof b === 'bigint') {
    return (typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint') && Number(a) === Number(b) && !Number.isNaN(Number(a));
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!celEquals(a[i], b[i])) return false;
    return true;
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) if (!has(b, k) || !celEquals((a as Context)[k], (b as Context)[k])) return false;
    return true;
  }
  return false;
}

function unescape(id: string): string {
  const m = /^__(.+)__$/.exec(id);
  if (m && !m[1].includes('__')) return m[1];
  return id.replace(/__dash__/g, '-').replace(/__dot__/g, '.').replace(/__slash__/g, '/').replace(/__underscores__/g, '__');
}

/** Returns a native program for a known rule shape, or undefined. */
export function nativeRule(rule: string): NativeProgram | undefined {
  let m: RegExpExecArray | null;
  if (rule === 'self == oldSelf') return (c) => celEquals(c.self, c.oldSelf);
  if ((m = new RegExp(`^!\\(has\\(self\\.${ID}\\) && has\\(self\\.${ID}\\)\\)$`).exec(rule))) {
    const [a, b] = [unescape(m[1]), unescape(m[2])];
    return (c) => !(has(c.self, a) && has(c.self, b));
  }
  if ((m = new RegExp(`^has\\(self\\.${ID}\\) == has\\(oldSelf\\.${ID}\\)$`).exec(rule)) && m[1] === m[2]) {
    const a = unescape(m[1]);
    return (c) => has(c.self, a) === has(c.oldSelf, a);
  }
  if ((m = /^(\(has\(self\.[A-Za-z_][A-Za-z0-9_]*\) \? 1 : 0\)(?: \+ \(has\(self\.[A-Za-z_][A-Za-z0-9_]*\) \? 1 : 0\))+) (==|<=) 1$/.exec(rule))) {
    const fields = [...m[1].matchAll(/has\(self\.([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((x) => unescape(x[1]));
    const exactly = m[2] === '==';
    return (c) => {
      let n = 0;
      for (const f of fields) if (has(c.self, f)) n++;
      return exactly ? n === 1 : n <= 1;
    };
  }
  if ((m = new RegExp(`^has\\(self\\.${ID}\\) == \\(self\\.${ID} == '([A-Za-z0-9_.-]*)'\\)$`).exec(rule))) {
    const [f, d, v] = [unescape(m[1]), unescape(m[2]), m[3]];
    return (c) => {
      // Selecting an absent field is an evaluation error in CEL.
      if (!has(c.self, d)) throw new Error(`no such key: ${d}`);
      return has(c.self, f) === ((c.self as Context)[d] === v);
    };
  }
  if (/^has\(self\.[A-Za-z_][A-Za-z0-9_]*\)( \|\| has\(self\.[A-Za-z_][A-Za-z0-9_]*\))+$/.test(rule)) {
    const fields = [...rule.matchAll(/has\(self\.([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((x) => unescape(x[1]));
    return (c) => fields.some((f) => has(c.self, f));
  }
  if ((m = new RegExp(`^self\\.all\\(x, self\\.exists_one\\(y, y\\.${ID} == x\\.${ID}\\)\\)$`).exec(rule)) && m[1] === m[2]) {
    const k = unescape(m[1]);
    return (c) => {
      const list = c.self as unknown[];
      if (!Array.isArray(list)) throw new Error('no such overload');
      for (const x of list) {
        let count = 0;
        for (const y of list) {
          // Field selection on a missing key is an evaluation error in CEL.
          if (!has(y, k) || !has(x, k)) throw new Error(`no such key: ${k}`);
          if (celEquals((y as Context)[k], (x as Context)[k])) count++;
        }
        if (count !== 1) return false;
      }
      return true;
    };
  }
  return undefined;
}
