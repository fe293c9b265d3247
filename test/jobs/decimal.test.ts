import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareDecimal, isDecimal } from '../../src/jobs/decimal.js';

describe('compareDecimal', () => {
  it.each([
    ['79.99', '80', -1],
    ['80.00', '80', 0],
    ['80', '80.00', 0],
    ['80.01', '80', 1],
    ['-5.20', '80', -1],
    ['-5.20', '-5.2', 0],
    ['-5.21', '-5.20', -1],
    ['-0.00', '0', 0],
    ['0.1', '0.09', 1],
    ['0400.00', '400', 0],
    ['100000000000000000000.01', '100000000000000000000', 1],
    ['+3', '3.0', 0],
  ] as const)('%s vs %s is %d', (a, b, expected) => {
    expect(compareDecimal(a, b)).toBe(expected);
    expect(compareDecimal(b, a)).toBe(-expected || 0);
  });

  it('rejects what is not a decimal number', () => {
    for (const bad of ['', '1e3', '1.', '.5', 'NaN', '1,000.00', '12.5 USD']) {
      expect(isDecimal(bad)).toBe(false);
      expect(() => compareDecimal(bad, '1')).toThrow(TypeError);
    }
  });

  it('agrees with exact integer arithmetic on cents', () => {
    const cents = fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n });
    const asDecimal = (c: bigint): string => {
      const sign = c < 0n ? '-' : '';
      const abs = c < 0n ? -c : c;
      return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
    };
    fc.assert(
      fc.property(cents, cents, (a, b) => {
        expect(compareDecimal(asDecimal(a), asDecimal(b))).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
    );
  });
});
