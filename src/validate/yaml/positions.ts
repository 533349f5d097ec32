/** Offset -> 1-based line/column over the whole input, built lazily (errors only). */
export class LineIndex {
  private starts: number[] | null = null;

  constructor(private readonly text: string) {}

  private build(): number[] {
    const s = [0];
    const t = this.text;
    for (let i = t.indexOf('\n'); i >= 0; i = t.indexOf('\n', i + 1)) s.push(i + 1);
    return s;
  }

  /** 1-based line and column (in UTF-16 units) of a UTF-16 offset. */
  at(offset: number): { line: number; column: number } {
    const s = (this.starts ??= this.build());
    const off = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]! <= off) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: off - s[lo]! + 1 };
  }
}
