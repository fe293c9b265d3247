import { firstInstantAtOrAfter, parseLocalDateTime } from '../call-center/wall-time.js';

/**
 * The simulator's `--at`: when the simulated call happens. An ISO time with a zone
 * (`2026-12-25T10:00Z`, `2026-12-25T10:00+01:00`) is that instant; a local time without one
 * (`2026-12-25T10:00`, `2026-12-25 10:00`) is read as the wall clock in `timeZone` (`--tz`), the
 * way opening hours are written in the call-center file. Throws with a usage hint otherwise.
 */
export function parseAt(value: string, timeZone = 'UTC'): number {
  const v = value.trim();
  if (/(Z|[+-]\d{2}:?\d{2})$/i.test(v)) {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  const m = /^(\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2})(?::00)?$/.exec(v);
  const local = m ? parseLocalDateTime(m[1]!) : undefined;
  if (local) {
    try {
      return firstInstantAtOrAfter(local, local.minutes, timeZone);
    } catch {
      throw new Error(`--tz "${timeZone}" is not an IANA time zone such as Europe/Berlin`);
    }
  }
  throw new Error(
    `--at "${value}" must be a time such as 2026-12-25T10:00 (local, see --tz) or 2026-12-25T09:00Z`,
  );
}

/** The simulator's `--digits`: the keys the caller presses at each menu, in order (0-9, * and #). */
export function parseDigits(value: string): string {
  const v = value.replace(/[\s,]/g, '');
  if (!/^[0-9*#]+$/.test(v)) throw new Error(`--digits "${value}" must be keys 0-9, * or #, such as 2 or 92`);
  return v;
}
