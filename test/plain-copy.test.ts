import { describe, expect, it } from 'vitest';
import { plainCopy } from '../src/plain-copy.js';

describe('plainCopy', () => {
  it('copies plain data deeply: equal, and no object or array shared', () => {
    const value = {
      sid: 'v3:abc',
      n: 3,
      ok: true,
      none: null,
      gone: undefined,
      rung: ['a', 'b'],
      legs: { x: { sid: 'x', seq: 1, tags: [{ t: 1 }] } },
    };
    const copy = plainCopy(value);
    expect(copy).toStrictEqual(value); // undefined keys kept, as structuredClone keeps them
    expect(copy).not.toBe(value);
    expect(copy.rung).not.toBe(value.rung);
    expect(copy.legs.x).not.toBe(value.legs.x);
    expect(copy.legs.x.tags[0]).not.toBe(value.legs.x.tags[0]);
    copy.legs.x.tags.push({ t: 2 });
    copy.rung[0] = 'z';
    expect(value.legs.x.tags).toHaveLength(1);
    expect(value.rung[0]).toBe('a');
  });

  it('gives what a JSON round trip gives for values stored as JSON', () => {
    const value = { a: [1, [2, [3]], { b: 'c' }], e: '', z: 0, neg: -1.5, s: 'ü✓' };
    expect(plainCopy(value)).toEqual(JSON.parse(JSON.stringify(value)));
    expect(plainCopy([value, null, 'x'])).toEqual([value, null, 'x']);
    expect(plainCopy('x')).toBe('x');
    expect(plainCopy(null)).toBeNull();
  });
});
