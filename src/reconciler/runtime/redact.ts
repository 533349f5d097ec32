/**
 * Replacing secret strings in text (log lines, condition and Event
 * messages). A {@link SecretMatcher} is built once per set of secrets and
 * then scans each text in one pass: every character covered by an
 * occurrence of any secret (or of its JSON-escaped form) is hidden, and each
 * run of hidden characters becomes one {@link REDACTED}. A secret that
 * contains another one is therefore hidden whole, and two overlapping
 * secrets leave no fragment of either behind.
 */

export const REDACTED = '[REDACTED]';

/** The JSON-escaped form of `s` (what a JSON log line carries), or `s` when nothing needs escaping. */
export function jsonEscaped(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

export class SecretMatcher {
  /** Secrets by their first `prefixLength` characters, longest first. */
  private readonly byPrefix = new Map<string, string[]>();
  private readonly prefixLength: number;
  readonly size: number;

  /** Strings shorter than `minLength` are ignored (they would hide half of every text). */
  constructor(secrets: Iterable<string>, minLength = 3) {
    const all = new Set<string>();
    for (const s of secrets) {
      if (typeof s !== 'string' || s.length < minLength) continue;
      all.add(s);
      all.add(jsonEscaped(s));
    }
    this.size = all.size;
    this.prefixLength = Math.max(1, minLength);
    for (const s of all) {
      const p = s.slice(0, this.prefixLength);
      const list = this.byPrefix.get(p);
      if (list) list.push(s);
      else this.byPrefix.set(p, [s]);
    }
    for (const list of this.byPrefix.values()) list.sort((a, b) => b.length - a.length);
  }

  /** `text` with every occurrence of a secret replaced (see the module comment). */
  redact(text: string): string {
    if (this.size === 0 || text.length < this.prefixLength) return text;
    let out = '';
    let copied = 0; // text[0, copied) is in `out` already
    let hiddenEnd = -1; // end of the current run of hidden characters; -1: none
    let runStart = 0;
    const last = text.length - this.prefixLength;
    for (let i = 0; i <= last; i++) {
      if (hiddenEnd >= 0 && i > hiddenEnd) {
        // The run ended before this position: flush it.
        out += text.slice(copied, runStart) + REDACTED;
        copied = hiddenEnd;
        hiddenEnd = -1;
      }
      const candidates = this.byPrefix.get(text.slice(i, i + this.prefixLength));
      if (!candidates) continue;
      for (const s of candidates) {
        if (!text.startsWith(s, i)) continue;
        // Longest first: the first match is the widest cover from here.
        if (hiddenEnd < 0) {
          runStart = i;
          hiddenEnd = i + s.length;
        } else if (i + s.length > hiddenEnd) {
          hiddenEnd = i + s.length;
        }
        break;
      }
    }
    if (hiddenEnd >= 0) {
      out += text.slice(copied, runStart) + REDACTED;
      copied = hiddenEnd;
    }
    return copied === 0 ? text : out + text.slice(copied);
  }
}

const compiled = new WeakMap<readonly string[], SecretMatcher>();

/**
 * The matcher of a list of secrets. A list that is passed again unchanged
 * (the same array, as {@link import('../secrets').SecretRedactor.secrets}
 * returns until it learns a new value) is compiled only once.
 */
export function matcherFor(secrets: Iterable<string>): SecretMatcher {
  if (!Array.isArray(secrets)) return new SecretMatcher(secrets);
  let m = compiled.get(secrets);
  if (!m) {
    m = new SecretMatcher(secrets);
    compiled.set(secrets, m);
  }
  return m;
}
