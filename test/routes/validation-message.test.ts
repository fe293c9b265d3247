import { describe, expect, it } from 'vitest';
import { schemaErrorFormatter } from '../../src/routes/validation-message.js';

describe('schemaErrorFormatter', () => {
  it('a union of constants reads as one list; other errors keep ajv wording', () => {
    const err = schemaErrorFormatter(
      [
        {
          keyword: 'const',
          instancePath: '/kind',
          schemaPath: '#/anyOf/0/const',
          params: { allowedValue: 'a' },
          message: 'must be equal to constant',
        },
        {
          keyword: 'const',
          instancePath: '/kind',
          schemaPath: '#/anyOf/1/const',
          params: { allowedValue: 'b' },
          message: 'must be equal to constant',
        },
        {
          keyword: 'anyOf',
          instancePath: '/kind',
          schemaPath: '#/anyOf',
          params: {},
          message: 'must match a schema in anyOf',
        },
        {
          keyword: 'enum',
          instancePath: '/mode',
          schemaPath: '#/enum',
          params: { allowedValues: ['x', 'y'] },
          message: 'must be equal to one of the allowed values',
        },
        {
          keyword: 'minimum',
          instancePath: '/limit',
          schemaPath: '#/minimum',
          params: { limit: 1 },
          message: 'must be >= 1',
        },
      ],
      'body',
    );
    expect(err.message).toBe(
      'body/kind must be one of: a, b, body/mode must be one of: x, y, body/limit must be >= 1',
    );
  });
});
