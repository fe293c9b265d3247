import { describe, expect, it } from 'vitest';
import { parseCount, parseTelnyxTime } from '../../src/telnyx/texml-params.js';

describe('parseTelnyxTime', () => {
  it.each([
    ['2024-01-15T10:30:00Z', '2024-01-15T10:30:00.000Z'],
    ['2024-01-15T10:30:26.028Z', '2024-01-15T10:30:26.028Z'],
    ['2021-04-28 21:51:18.731479Z', '2021-04-28T21:51:18.731Z'],
    ['2021-04-28 21:51:18', '2021-04-28T21:51:18.000Z'],
    ['2024-01-15T12:30:00+02:00', '2024-01-15T10:30:00.000Z'],
    ['Thu, 15 Jun 2023 09:56:45 +0000', '2023-06-15T09:56:45.000Z'],
  ])('%s', (input, iso) => {
    expect(new Date(parseTelnyxTime(input) as number).toISOString()).toBe(iso);
  });

  it.each(['', 'yesterday', '1970-01-01T00:00:00Z', '9999-01-01T00:00:00Z', undefined])(
    'rejects %s',
    (input) => {
      expect(parseTelnyxTime(input)).toBeUndefined();
    },
  );
});

describe('parseCount', () => {
  it('reads whole numbers and rejects junk', () => {
    expect(parseCount('0')).toBe(0);
    expect(parseCount('42')).toBe(42);
    expect(parseCount('12.6')).toBe(13);
    expect(parseCount('-1')).toBeUndefined();
    expect(parseCount('1e9')).toBeUndefined();
  });
});
