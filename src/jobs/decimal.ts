/**
 * Exact comparison of decimal strings such as Telnyx amounts (`"400.00"`, `"-5.20"`): money is
 * never turned into a float, so `"79.99"` is below `"80"` and `"80.00"` is not.
 */

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?$/;

interface Parsed {
  negative: boolean;
  int: string;
  frac: string;
}

function parse(value: string): Parsed {
  const m = DECIMAL.exec(value.trim());
  if (!m) throw new TypeError(`not a decimal number: "${value}"`);
  const int = (m[2] ?? '').replace(/^0+/, '');
  const frac = (m[3] ?? '').replace(/0+$/, '');
  // "-0.00" is zero, not a negative number.
  const negative = m[1] === '-' && (int !== '' || frac !== '');
  return { negative, int, frac };
}

/** True for strings `compareDecimal` accepts: optional sign, digits, optional fraction. */
export const isDecimal = (value: string): boolean => DECIMAL.test(value.trim());

function compareMagnitude(a: Parsed, b: Parsed): number {
  if (a.int.length !== b.int.length) return a.int.length < b.int.length ? -1 : 1;
  if (a.int !== b.int) return a.int < b.int ? -1 : 1;
  const width = Math.max(a.frac.length, b.frac.length);
  const fa = a.frac.padEnd(width, '0');
  const fb = b.frac.padEnd(width, '0');
  return fa === fb ? 0 : fa < fb ? -1 : 1;
}

/** -1, 0 or 1 as `a` is below, equal to or above `b`. Throws `TypeError` on a malformed value. */
export function compareDecimal(a: string, b: string): -1 | 0 | 1 {
  const pa = parse(a);
  const pb = parse(b);
  if (pa.negative !== pb.negative) return pa.negative ? -1 : 1;
  const magnitude = compareMagnitude(pa, pb);
  const signed = pa.negative ? -magnitude : magnitude;
  return signed < 0 ? -1 : signed > 0 ? 1 : 0;
}
