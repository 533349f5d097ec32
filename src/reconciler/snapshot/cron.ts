/**
 * The schedules a VMSnapshot's `spec.schedule.cronSpec` may hold (what its
 * CRD pattern admits): five fields (minute hour day-of-month month
 * day-of-week), six with seconds first, the macros @yearly/@annually,
 * @monthly, @weekly, @daily, @hourly, and `@every <duration>`; times are
 * wall-clock times in `timezone` (IANA name, default UTC). As in cron, when
 * both day fields are restricted a day matching either runs.
 */
import { durationMs } from '../duration';

export interface Schedule {
  /** The first run strictly after `afterMs` (epoch ms); undefined when there is none within five years. */
  next(afterMs: number): number | undefined;
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0', '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};

/** Parses a schedule; throws an Error whose message says what is wrong (for `spec.schedule.cronSpec: Invalid value`). */
export function parseSchedule(spec: string, timezone = 'UTC'): Schedule {
  const text = spec.trim();
  if (text.startsWith('@every ')) {
    const every = durationMs(text.slice(7).trim(), NaN);
    if (!(every >= 1000)) throw new Error(`"${text}": @every needs a duration of at least 1s`);
    // Aligned to the epoch, so every reconciler replica computes the same run times.
    return { next: (after) => Math.floor(after / every) * every + every };
  }
  if (text === '@reboot') throw new Error('"@reboot" has no meaning for a snapshot schedule');
  const fields = (MACROS[text] ?? text).split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) throw new Error(`"${text}": want 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), got ${fields.length}`);
  const withSeconds = fields.length === 6;
  const [sec, min, hour, dom, mon, dow] = withSeconds ? fields : ['0', ...fields];
  const m = {
    sec: field(sec!, 0, 59, 'second'),
    min: field(min!, 0, 59, 'minute'),
    hour: field(hour!, 0, 23, 'hour'),
    dom: field(dom!, 1, 31, 'day of month'),
    mon: field(mon!, 1, 12, 'month'),
    dow: field(dow!, 0, 7, 'day of week'),
  };
  if (m.dow.has(7)) m.dow.add(0);
  const domAny = dom === '*';
  const dowAny = dow === '*';
  const wall = wallClock(timezone);
  const dayMatches = (w: Wall) => m.mon.has(w.month) && (domAny && dowAny ? true : domAny ? m.dow.has(w.weekday) : dowAny ? m.dom.has(w.day) : m.dom.has(w.day) || m.dow.has(w.weekday));
  return {
    next(after) {
      // Step through wall-clock minutes, skipping whole days and hours that cannot match.
      let t = Math.floor(after / 60_000) * 60_000;
      const end = after + 5 * 366 * 86_400_000;
      while (t <= end) {
        const w = wall(t);
        if (!dayMatches(w)) t += (24 * 60 - (w.hour * 60 + w.minute)) * 60_000;
        else if (!m.hour.has(w.hour)) t += (60 - w.minute) * 60_000;
        else if (!m.min.has(w.minute)) t += 60_000;
        else {
          for (const s of [...m.sec].sort((a, b) => a - b)) if (t + s * 1000 > after) return t + s * 1000;
          t += 60_000;
        }
      }
      return undefined;
    },
  };
}

function field(text: string, lo: number, hi: number, what: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`${what} "${part}": not a number, range, list or step`);
    const step = m[4] ? Number(m[4]) : 1;
    let a = m[1] === '*' ? lo : Number(m[2]);
    const b = m[1] === '*' ? hi : m[3] !== undefined ? Number(m[3]) : m[4] ? hi : a;
    if (a < lo || b > hi || a > b || step < 1) throw new Error(`${what} "${part}": out of range ${lo}-${hi}`);
    for (; a <= b; a += step) out.add(a);
  }
  return out;
}

interface Wall {
  readonly month: number;
  readonly day: number;
  readonly weekday: number;
  readonly hour: number;
  readonly minute: number;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** The wall clock of `timezone` at an instant; throws for an unknown zone. */
function wallClock(timezone: string): (t: number) => Wall {
  let f: Intl.DateTimeFormat;
  try {
    f = new Intl.DateTimeFormat('en-US', { timeZone: timezone, hourCycle: 'h23', month: 'numeric', day: 'numeric', weekday: 'short', hour: 'numeric', minute: 'numeric' });
  } catch {
    throw new Error(`timezone "${timezone}": not an IANA time zone name`);
  }
  return (t) => {
    const p: Record<string, string> = {};
    for (const x of f.formatToParts(t)) p[x.type] = x.value;
    return { month: Number(p.month), day: Number(p.day), weekday: WEEKDAYS[p.weekday!] ?? 0, hour: Number(p.hour), minute: Number(p.minute) };
  };
}
