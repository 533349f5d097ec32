/** A one-line progress bar on a terminal's stderr; silent when stderr is not a TTY. */
export class Progress {
  private readonly enabled: boolean;
  private last = 0;

  constructor(private readonly total: number, private readonly label: string, stream: NodeJS.WriteStream = process.stderr) {
    this.stream = stream;
    this.enabled = !!stream.isTTY && total > 1;
  }

  private readonly stream: NodeJS.WriteStream;

  update(done: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 80 && done < this.total) return; // redraw at most ~12 times a second
    this.last = now;
    const width = 30;
    const filled = Math.round((done / this.total) * width);
    this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total}`);
  }

  done(): void {
    if (this.enabled) this.stream.write('\r\x1b[K');
  }
}
