import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addDays,
  dayWindow,
  isCalendarDate,
  isTimeZone,
  localDate,
  localHour,
  startOfDay,
} from '../../src/stats/time-zone.js';

const H = 3_600_000;

describe('local days', () => {
  it('a UTC day is 24 h from midnight', () => {
    expect(dayWindow('2026-11-19', 'UTC')).toEqual({
      fromMs: Date.parse('2026-11-19T00:00:00Z'),
      toMs: Date.parse('2026-11-20T00:00:00Z'),
    });
  });

  it('zones east and west of Greenwich, with half hours', () => {
    expect(startOfDay('2026-11-19', 'Europe/Berlin')).toBe(Date.parse('2026-11-18T23:00:00Z'));
    expect(startOfDay('2026-07-19', 'Europe/Berlin')).toBe(Date.parse('2026-07-18T22:00:00Z'));
    expect(startOfDay('2026-11-19', 'America/New_York')).toBe(Date.parse('2026-11-19T05:00:00Z'));
    expect(startOfDay('2026-11-19', 'Asia/Kolkata')).toBe(Date.parse('2026-11-18T18:30:00Z'));
    expect(startOfDay('2026-11-19', 'Pacific/Kiritimati')).toBe(Date.parse('2026-11-18T10:00:00Z'));
  });

  it('daylight-saving days last 23 and 25 hours', () => {
    const spring = dayWindow('2026-03-29', 'Europe/Berlin');
    expect((spring.toMs - spring.fromMs) / H).toBe(23);
    const autumn = dayWindow('2026-10-25', 'Europe/Berlin');
    expect((autumn.toMs - autumn.fromMs) / H).toBe(25);
    expect(autumn.fromMs).toBe(Date.parse('2026-10-24T22:00:00Z'));
    const ny = dayWindow('2026-03-08', 'America/New_York');
    expect((ny.toMs - ny.fromMs) / H).toBe(23);
  });

  it('a day whose midnight is skipped starts at 01:00 (São Paulo, 2018-11-04)', () => {
    expect(startOfDay('2018-11-04', 'America/Sao_Paulo')).toBe(Date.parse('2018-11-04T03:00:00Z'));
    expect(localDate(Date.parse('2018-11-04T03:00:00Z') - 1, 'America/Sao_Paulo')).toBe('2018-11-03');
  });

  it('every instant falls in the window of its own local date', () => {
    const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu'];
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('2000-01-01T00:00:00Z'), max: Date.parse('2040-01-01T00:00:00Z') }),
        fc.constantFrom(...zones),
        (ms, zone) => {
          const { fromMs, toMs } = dayWindow(localDate(ms, zone), zone);
          return fromMs <= ms && ms < toMs && localDate(fromMs - 1, zone) !== localDate(ms, zone);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hours, dates, zones', () => {
    expect(localHour(Date.parse('2026-11-19T08:30:00Z'), 'Europe/Berlin')).toBe(9);
    expect(localHour(Date.parse('2026-11-18T23:30:00Z'), 'Europe/Berlin')).toBe(0);
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addDays('2024-12-31', 1)).toBe('2025-01-01');
    expect(isCalendarDate('2024-02-29')).toBe(true);
    expect(isCalendarDate('2026-02-29')).toBe(false);
    expect(isCalendarDate('2026-13-01')).toBe(false);
    expect(isCalendarDate('2026-1-01')).toBe(false);
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });
});
