/**
 * Shared set-up of the QEMU provider tests: a check that QEMU is installed
 * (tests fail, never skip, when it is not), tiny boot images, short state
 * directories (QMP socket paths are limited to 107 bytes) and a teardown
 * that kills every QEMU a test started.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTALL_HINT, Layout, livePid, withQmp } from '../../../src/providers/qemu';

/** Throws (failing the test) when QEMU, qemu-img or xorriso is missing. */
export function requireQemu(): void {
  for (const bin of ['qemu-system-x86_64', 'qemu-img', 'xorriso']) {
    try {
      execFileSync(bin, ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`${bin} is not available. ${INSTALL_HINT}`);
    }
  }
}

/**
 * A tiny "guest OS" in the boot sector (real mode) that behaves like a real
 * one towards the host: it enables the ACPI power button, sleeps in `hlt`
 * (no CPU use), counts its wake-ups (timer ticks, 18.2/s) in the word at
 * 0x7e00 (so tests can tell restored memory from a fresh boot), and on a
 * button press enters S5 (soft off) through the PIIX4 PM registers SeaBIOS
 * maps at 0x600, so QEMU exits:
 *
 *   xor ax,ax; mov ds,ax
 *   mov dx,0x602; mov ax,0x100; out dx,ax      ; PM1a_EN.PWRBTN_EN
 *   l: sti; hlt; inc word [0x7e00]             ; tick counter
 *      mov dx,0x600; in ax,dx                  ; PM1a_STS
 *      test ax,0x100; jz l                     ; PWRBTN_STS?
 *      mov dx,0x604; mov ax,0x2000; out dx,ax  ; PM1a_CNT: SLP_EN, SLP_TYP=0 (S5)
 *      jmp l
 */
const ACPI_GUEST = [
  0x31, 0xc0, 0x8e, 0xd8, 0xba, 0x02, 0x06, 0xb8, 0x00, 0x01, 0xef, 0xfb, 0xf4, 0xff, 0x06, 0x00,
  0x7e, 0xba, 0x00, 0x06, 0xed, 0xa9, 0x00, 0x01, 0x74, 0xf1, 0xba, 0x04, 0x06, 0xb8, 0x00, 0x20,
  0xef, 0xeb, 0xe8,
];

/** Guest physical address of the boot-sector guest's tick counter. */
export const TICKS_ADDR = 0x7e00;

/** A 1 MiB qcow2 whose guest powers off on ACPI shutdown (`acpi: true`) or a blank disk whose "guest" ignores it. */
export async function bootImage(path: string, opts: { acpi: boolean }): Promise<string> {
  const raw = Buffer.alloc(1024 * 1024);
  if (opts.acpi) {
    Buffer.from(ACPI_GUEST).copy(raw, 0);
    raw[510] = 0x55;
    raw[511] = 0xaa;
  }
  await fs.writeFile(`${path}.raw`, raw);
  execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', `${path}.raw`, path]);
  await fs.rm(`${path}.raw`);
  return path;
}

/** A fresh, short state directory with `images/<name>.qcow2` templates. */
export async function stateDir(prefix: string, templates: Record<string, { acpi: boolean }> = {}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `vq-${prefix}-`));
  await fs.mkdir(join(dir, 'images'), { recursive: true });
  for (const [name, o] of Object.entries(templates)) await bootImage(join(dir, 'images', `${name}.qcow2`), o);
  return dir;
}

/** Kills every QEMU started under `dir` and removes it. */
export async function destroyStateDir(dir: string): Promise<void> {
  const layout = new Layout(dir);
  for (const id of await layout.ids().catch(() => [])) {
    const pid = await livePid(layout, id);
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
  await fs.rm(dir, { recursive: true, force: true });
}

/** Pids of live QEMU processes whose command line mentions `dir`. */
export async function qemuPidsUnder(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const p of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const cmd = await fs.readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '');
    const stat = await fs.readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
    if (cmd.split('\0')[0]!.includes('qemu-system') && cmd.includes(dir) && !/\) [ZX] /.test(stat)) out.push(Number(p));
  }
  return out;
}

/** The boot-sector guest's tick counter, read from guest memory over QMP. */
export async function guestTicks(qmpPath: string): Promise<number> {
  const out = await withQmp(qmpPath, (q) => q.hmp(`xp /1hx ${TICKS_ADDR}`));
  const m = /:\s*0x([0-9a-f]+)/i.exec(out);
  if (!m) throw new Error(`unexpected xp output: ${out}`);
  return parseInt(m[1]!, 16);
}

/** QMP `query-status` of a running VM. */
export function qmpStatus(qmpPath: string): Promise<string> {
  return withQmp(qmpPath, (q) => q.execute<{ status: string }>('query-status')).then((s) => s.status);
}

/** Polls until `check` holds (or throws with `what`). */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
