import type { FastifySchemaValidationError } from 'fastify';

type SchemaErrorDataVar = 'body' | 'headers' | 'params' | 'querystring';

/**
 * Fastify's `schemaErrorFormatter`: the default messages, except that a value outside a fixed set
 * names the set ("querystring/status must be one of: active") instead of ajv's "must be equal to
 * constant" / "must be equal to one of the allowed values", and a union of such constants (TypeBox
 * `Union([Literal…])`, an `anyOf`) reads as one list rather than one line per branch.
 */
export function schemaErrorFormatter(
  errors: FastifySchemaValidationError[],
  dataVar: SchemaErrorDataVar,
): Error {
  const allowed = new Map<string, unknown[]>();
  for (const e of errors) {
    const params = e.params as { allowedValue?: unknown; allowedValues?: unknown[] };
    if (e.keyword === 'const')
      allowed.set(e.instancePath, [...(allowed.get(e.instancePath) ?? []), params.allowedValue]);
    if (e.keyword === 'enum' && Array.isArray(params.allowedValues))
      allowed.set(e.instancePath, [...(allowed.get(e.instancePath) ?? []), ...params.allowedValues]);
  }
  const parts: string[] = [];
  const done = new Set<string>();
  for (const e of errors) {
    const where = `${dataVar}${e.instancePath}`;
    const values = allowed.get(e.instancePath);
    if (values && (e.keyword === 'const' || e.keyword === 'enum' || e.keyword === 'anyOf')) {
      if (done.has(e.instancePath)) continue;
      done.add(e.instancePath);
      parts.push(`${where} must be one of: ${[...new Set(values)].map(String).join(', ')}`);
      continue;
    }
    parts.push(`${where} ${e.message}`);
  }
  return new Error(parts.join(', '));
}
