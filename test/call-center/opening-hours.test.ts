import { describe, expect, it } from 'vitest';
import { parseCallCenterFile, type QueueHours } from '../../src/call-center/call-center-file.js';
import { isOpen } from '../../src/call-center/opening-hours.js';

/** The hours of queue `q` from a YAML snippet (the same parser the server uses). */
function hoursOf(yaml: string, timeZone = 'Europe/Berlin'): QueueHours {
  const text = `timeZone: ${timeZone}\nqueues:\n  q: { agents: ["*"] }\nhours:\n  q:\n${yaml
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')}\n`;
  return parseCallCenterFile(text, 'test.yaml').hours.get('q')!;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const at = (s: string) => Date.parse(s);

describe('isOpen', () => {
  const office = hoursOf(`weekly:
  mon-fri: ["09:00-12:30", "13:30-17:00"]
  sat: ["10:00-14:00"]
holidays: ["2026-12-25", { date: "2026-12-26", reason: "Boxing Day" }]
closures:
  - { from: "2026-12-31T12:00", to: "2027-01-01T00:00", reason: "New Year's Eve", prompt: "We close early today." }`);

  it('a split shift: open in each part, closed at lunch, next change at each edge', () => {
    // Tuesday 2026-12-01, Berlin is UTC+1.
    expect(isOpen(office, at('2026-12-01T08:59:00Z'))).toMatchObject({ open: true, reason: 'open' });
    const lunch = isOpen(office, at('2026-12-01T11:30:00Z')); // 12:30 local
    expect(lunch).toMatchObject({ open: false, reason: 'after-hours' });
    expect(iso(lunch.nextChange)).toBe('2026-12-01T12:30:00.000Z'); // 13:30 local
    expect(iso(isOpen(office, at('2026-12-01T10:00:00Z')).nextChange)).toBe('2026-12-01T11:30:00.000Z');
    const evening = isOpen(office, at('2026-12-01T16:00:00Z')); // 17:00 local: closed
    expect(evening).toMatchObject({ open: false, reason: 'after-hours' });
    expect(iso(evening.nextChange)).toBe('2026-12-02T08:00:00.000Z');
  });

  it('the weekend: Saturday hours, Sunday closed, next change Monday morning', () => {
    const sat = isOpen(office, at('2026-12-05T12:00:00Z'));
    expect(sat.open).toBe(true);
    expect(iso(sat.nextChange)).toBe('2026-12-05T13:00:00.000Z');
    const sun = isOpen(office, at('2026-12-06T12:00:00Z'));
    expect(sun).toMatchObject({ open: false, reason: 'after-hours' });
    expect(iso(sun.nextChange)).toBe('2026-12-07T08:00:00.000Z');
  });

  it('a holiday closes the whole local day, with its reason; the next change skips it', () => {
    // Friday 25 December, mid-morning: a weekday, but a holiday.
    const xmas = isOpen(office, at('2026-12-25T09:00:00Z'));
    expect(xmas).toMatchObject({ open: false, reason: 'holiday' });
    // Saturday 26th is a holiday too, Sunday closed: Monday 28th 09:00 local.
    expect(iso(xmas.nextChange)).toBe('2026-12-28T08:00:00.000Z');
    expect(isOpen(office, at('2026-12-26T10:00:00Z')).closure).toEqual({ reason: 'Boxing Day' });
    // Just before local midnight on Christmas Eve (Thursday) it is still an ordinary evening.
    expect(isOpen(office, at('2026-12-24T22:59:00Z')).reason).toBe('after-hours');
    expect(isOpen(office, at('2026-12-24T23:00:00Z')).reason).toBe('holiday');
  });

  it('a one-off closure with its reason and prompt, then the schedule again', () => {
    const before = isOpen(office, at('2026-12-31T10:59:00Z')); // Thursday 11:59 local: open
    expect(before.open).toBe(true);
    expect(iso(before.nextChange)).toBe('2026-12-31T11:00:00.000Z');
    const during = isOpen(office, at('2026-12-31T11:00:00Z'));
    expect(during).toMatchObject({
      open: false,
      reason: 'closure',
      closure: { reason: "New Year's Eve", prompt: { say: 'We close early today.' } },
    });
    // 1 January is not a holiday here: Friday 09:00 local.
    expect(iso(during.nextChange)).toBe('2027-01-01T08:00:00.000Z');
  });

  it('spring forward (Berlin, 29 March 2026): 09:00 is 07:00Z after the change, 08:00Z before', () => {
    const daily = hoursOf('weekly: { mon-sun: ["09:00-17:00"] }');
    // Saturday 28 March, 08:30Z = 09:30 CET: open.
    expect(isOpen(daily, at('2026-03-28T08:30:00Z')).open).toBe(true);
    // Sunday 29 March, 07:30Z = 09:30 CEST: open (it would be 08:30 by the winter clock).
    expect(isOpen(daily, at('2026-03-29T07:30:00Z')).open).toBe(true);
    const night = isOpen(daily, at('2026-03-28T20:00:00Z'));
    expect(night.open).toBe(false);
    expect(iso(night.nextChange)).toBe('2026-03-29T07:00:00.000Z');
    expect(iso(isOpen(daily, at('2026-03-29T07:30:00Z')).nextChange)).toBe('2026-03-29T15:00:00.000Z');
  });

  it('fall back (Berlin, 25 October 2026): 17:00 is 16:00Z after the change', () => {
    const daily = hoursOf('weekly: { mon-sun: ["09:00-17:00"] }');
    const sunday = isOpen(daily, at('2026-10-25T12:00:00Z'));
    expect(sunday.open).toBe(true);
    expect(iso(sunday.nextChange)).toBe('2026-10-25T16:00:00.000Z');
    expect(isOpen(daily, at('2026-10-25T15:59:00Z')).open).toBe(true);
    expect(isOpen(daily, at('2026-10-25T16:00:00Z')).open).toBe(false);
  });

  it('a range inside the skipped hour opens when the clocks jump', () => {
    const nightShift = hoursOf('weekly: { sun: ["02:30-05:00"] }');
    // 02:00 CET → 03:00 CEST at 01:00Z on 29 March 2026.
    const before = isOpen(nightShift, at('2026-03-29T00:30:00Z'));
    expect(before.open).toBe(false);
    expect(iso(before.nextChange)).toBe('2026-03-29T01:00:00.000Z');
    expect(isOpen(nightShift, at('2026-03-29T01:00:00Z')).open).toBe(true);
    expect(iso(isOpen(nightShift, at('2026-03-29T01:00:00Z')).nextChange)).toBe('2026-03-29T03:00:00.000Z');
  });

  it('a range across midnight (22:00-02:00) runs into the next day', () => {
    const night = hoursOf('weekly: { fri: ["22:00-02:00"] }', 'UTC');
    expect(isOpen(night, at('2026-12-04T21:59:00Z')).open).toBe(false); // Friday
    const fri = isOpen(night, at('2026-12-04T23:00:00Z'));
    expect(fri.open).toBe(true);
    expect(iso(fri.nextChange)).toBe('2026-12-05T02:00:00.000Z');
    expect(isOpen(night, at('2026-12-05T01:59:00Z')).open).toBe(true); // Saturday, still Friday's shift
    const sat = isOpen(night, at('2026-12-05T02:00:00Z'));
    expect(sat).toMatchObject({ open: false, reason: 'after-hours' });
    expect(iso(sat.nextChange)).toBe('2026-12-11T22:00:00.000Z');
    // Thursday night is not a Friday shift.
    expect(isOpen(night, at('2026-12-04T01:00:00Z')).open).toBe(false);
  });

  it('a manual close with a deadline wins over the schedule, then the schedule resumes', () => {
    const override = { closed: true, until: at('2026-12-01T13:00:00Z'), reason: 'staff meeting', setAt: 0 };
    const s = isOpen(office, at('2026-12-01T09:00:00Z'), override);
    expect(s).toMatchObject({ open: false, reason: 'manual', closure: { reason: 'staff meeting' } });
    // 14:00 local is inside the afternoon shift: opens exactly at the deadline.
    expect(iso(s.nextChange)).toBe('2026-12-01T13:00:00.000Z');
    expect(isOpen(office, at('2026-12-01T13:00:00Z'), override)).toMatchObject({
      open: true,
      reason: 'open',
    });
    // A close that ends while the schedule is closed anyway: the next change is the next opening.
    const late = { ...override, until: at('2026-12-01T18:00:00Z') };
    expect(iso(isOpen(office, at('2026-12-01T15:00:00Z'), late).nextChange)).toBe('2026-12-02T08:00:00.000Z');
  });

  it('a manual open keeps a closed queue open; without a deadline there is no next change', () => {
    const open = { closed: false, setAt: 0 };
    expect(isOpen(office, at('2026-12-25T09:00:00Z'), open)).toMatchObject({
      open: true,
      reason: 'manual',
      nextChange: null,
    });
  });

  it('no hours: always open, no next change; a manual close with a deadline ends at it', () => {
    expect(isOpen(undefined, at('2026-12-25T09:00:00Z'))).toEqual({
      open: true,
      reason: 'open',
      nextChange: null,
    });
    const closed = isOpen(undefined, 1000, { closed: true, until: 5000, setAt: 0 });
    expect(closed).toMatchObject({ open: false, reason: 'manual', nextChange: 5000 });
  });

  it('round the clock with holidays only: the next change is the next holiday', () => {
    const h = hoursOf('holidays: ["2027-05-01"]', 'UTC');
    const s = isOpen(h, at('2027-04-01T12:00:00Z'));
    expect(s.open).toBe(true);
    expect(iso(s.nextChange)).toBe('2027-05-01T00:00:00.000Z');
  });

  it('New York: DST from 8 March 2026; 09:00 EDT is 13:00Z', () => {
    const ny = hoursOf('weekly: { mon-fri: ["09:00-17:00"] }', 'America/New_York');
    expect(isOpen(ny, at('2026-03-06T13:30:00Z')).open).toBe(false); // Friday 08:30 EST
    expect(isOpen(ny, at('2026-03-09T13:30:00Z')).open).toBe(true); // Monday 09:30 EDT
    expect(iso(isOpen(ny, at('2026-03-06T23:00:00Z')).nextChange)).toBe('2026-03-09T13:00:00.000Z');
  });
});
