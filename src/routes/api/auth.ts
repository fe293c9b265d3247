import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Errors } from '../../errors.js';
import type { SlidingWindow } from '../../limits/sliding-window.js';

/** Failed logins allowed per client address per minute before it gets 429 (see README). */
export const AUTH_FAILURES_PER_MINUTE = 10;

/**
 * `Authorization: Bearer <API_TOKEN>`, compared in constant time: both sides are hashed first so
 * neither the length nor the content of the token leaks through timing.
 *
 * With `failures`, an address that sent AUTH_FAILURES_PER_MINUTE bad tokens within a minute gets
 * 429 with Retry-After for every request, good token or not, until the minute has passed: a
 * guesser learns nothing more. Each failure is logged at warn with the client address. When the
 * counter's store is unreachable the token is still checked (failing open on the throttle only).
 */
export function bearerAuth(
  token: string,
  failures?: SlidingWindow,
): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = createHash('sha256').update(token).digest();
  return async (req, reply) => {
    // Behind the ingress the address comes from X-Forwarded-For; cut it so a forged header
    // cannot make long keys.
    const address = String(req.ip).slice(0, 64);
    if (failures) {
      const state = await failures.check(address).catch((err) => {
        // The store's outage is logged once where it starts (src/redis.ts); not again per request.
        req.log.debug({ err }, 'failed-login counter unreachable; checking the token only');
        return { ok: true as const, count: 0 };
      });
      if (!state.ok) {
        reply.header('retry-after', String(Math.ceil(state.retryAfterMs / 1000)));
        throw new Errors.AuthThrottled();
      }
    }
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const given = createHash('sha256')
      .update(match?.[1] ?? '')
      .digest();
    if (!match || !timingSafeEqual(given, expected)) {
      const count = await failures?.add(address).catch(() => undefined);
      req.log.warn(
        { clientAddress: address, failures: count, url: req.url.split('?')[0] },
        'admin API: missing or invalid bearer token',
      );
      throw new Errors.Unauthorized();
    }
  };
}
