/** Snapshot schedules: the cron forms the CRD admits, their next run times, time zones and refusals. */
import t from 'tap';
import { parseSchedule } from '../../src/reconciler/snapshot/cron';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

t.test('five-field cron', async (t) => {
  const s = parseSchedule('30 2 * * *');
  t.equal(iso(s.next(at('2026-12-03T01:00:00Z'))), '2026-12-03T02:30:00.000Z');
  t.equal(iso(s.next(at('2026-12-03T02:30:00Z'))), '2026-12-04T02:30:00.000Z', 'strictly after');
  t.equal(iso(parseSchedule('*/15 * * * *').next(at('2026-12-03T10:07:12Z'))), '2026-12-03T10:15:00.000Z');
  t.equal(iso(parseSchedule('0 9-17/4 * * 1-5').next(at('2026-12-04T18:00:00Z'))), '2026-12-07T09:00:00.000Z', 'Friday evening → Monday 09:00');
  t.equal(iso(parseSchedule('0 0 1,15 * *').next(at('2026-12-02T00:00:00Z'))), '2026-12-15T00:00:00.000Z');
  t.equal(iso(parseSchedule('0 0 13 * 5').next(at('2026-12-01T00:00:00Z'))), '2026-12-04T00:00:00.000Z', 'both day fields: either matches (Friday the 4th before the 13th)');
  t.equal(iso(parseSchedule('0 0 * * 7').next(at('2026-12-03T00:00:00Z'))), '2026-12-06T00:00:00.000Z', '7 is Sunday too');
  t.equal(parseSchedule('0 0 30 2 *').next(at('2026-01-01T00:00:00Z')), undefined, 'February 30th never comes');
});

t.test('macros, seconds and @every', async (t) => {
  t.equal(iso(parseSchedule('@daily').next(at('2026-12-03T10:00:00Z'))), '2026-12-04T00:00:00.000Z');
  t.equal(iso(parseSchedule('@hourly').next(at('2026-12-03T10:00:00Z'))), '2026-12-03T11:00:00.000Z');
  t.equal(iso(parseSchedule('@weekly').next(at('2026-12-03T10:00:00Z'))), '2026-12-06T00:00:00.000Z');
  t.equal(iso(parseSchedule('@yearly').next(at('2026-12-03T10:00:00Z'))), '2027-01-01T00:00:00.000Z');
  t.equal(iso(parseSchedule('*/20 * * * * *').next(at('2026-12-03T10:00:05Z'))), '2026-12-03T10:00:20.000Z', 'six fields: seconds first');
  const every = parseSchedule('@every 1m30s');
  const a = every.next(at('2026-12-03T10:00:00Z'))!;
  t.equal(every.next(a)! - a, 90_000, 'every 90 s');
  t.equal(a % 90_000, 0, 'aligned to the epoch, so replicas agree');
});

t.test('time zones: wall-clock times, daylight saving included', async (t) => {
  const s = parseSchedule('0 3 * * *', 'Europe/Berlin');
  t.equal(iso(s.next(at('2026-12-03T00:00:00Z'))), '2026-12-03T02:00:00.000Z', '03:00 CET is 02:00 UTC in winter');
  t.equal(iso(s.next(at('2026-07-03T00:00:00Z'))), '2026-07-03T01:00:00.000Z', '03:00 CEST is 01:00 UTC in summer');
  t.equal(iso(parseSchedule('0 12 * * *', 'Asia/Kolkata').next(at('2026-12-03T00:00:00Z'))), '2026-12-03T06:30:00.000Z', 'a half-hour offset');
});

t.test('refusals say what is wrong', async (t) => {
  t.throws(() => parseSchedule('61 * * * *'), /minute "61": out of range 0-59/);
  t.throws(() => parseSchedule('* * *'), /want 5 fields .* got 3/);
  t.throws(() => parseSchedule('0 0 * * * * 2027'), /got 7/);
  t.throws(() => parseSchedule('@reboot'), /no meaning/);
  t.throws(() => parseSchedule('@every 10ms'), /at least 1s/);
  t.throws(() => parseSchedule('0 0 * * *', 'Mars/Olympus'), /timezone "Mars\/Olympus": not an IANA time zone name/);
  t.throws(() => parseSchedule('5-1 * * * *'), /out of range/);
});
