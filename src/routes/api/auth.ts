import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Errors } from '../../errors.js';

/**
 * `Authorization: Bearer <API_TOKEN>`, compared in constant time: both sides are hashed first so
 * neither the length nor the content of the token leaks through timing.
 */
export function bearerAuth(token: string): (req: FastifyRequest) => Promise<void> {
  const expected = createHash('sha256').update(token).digest();
  return async (req) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const given = createHash('sha256')
      .update(match?.[1] ?? '')
      .digest();
    if (!match || !timingSafeEqual(given, expected)) throw new Errors.Unauthorized();
  };
}
