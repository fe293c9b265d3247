import type { FastifyInstance } from 'fastify';
import { withTimeout } from '../with-timeout.js';

export interface HealthRoutesOptions {
  /** Readiness check of the shared store; undefined when running on in-memory state. */
  ping?: () => Promise<void>;
  timeoutMs?: number;
  /** True once SIGTERM arrived: readiness fails so the load balancer stops sending. */
  draining?: () => boolean;
  /**
   * Misconfigurations that do not stop the app from serving calls (e.g. no signature check on a
   * public URL): reported in the readiness body, but the pod stays ready — failing readiness
   * would take every replica out of service for a setting, dropping calls instead of warning.
   */
  warnings?: () => readonly string[];
}

/**
 * Probes for Kubernetes. Liveness only says the process answers (it must not depend on Redis,
 * or a Redis outage would restart every replica); readiness says Redis is reachable and the
 * process is not shutting down. Both log at warn so a probe every few seconds does not flood the log.
 */
export default async function healthRoutes(app: FastifyInstance, opts: HealthRoutesOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 1_000;
  const warnings = () => {
    const list = opts.warnings?.() ?? [];
    return list.length ? { warnings: [...list] } : {};
  };

  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/readyz', { logLevel: 'warn' }, async (_req, reply) => {
    const store = opts.ping ? 'redis' : 'memory';
    if (opts.draining?.()) {
      return reply.code(503).send({ status: 'shutting down', store, ...warnings() });
    }
    if (!opts.ping) return { status: 'ready', store, ...warnings() };
    try {
      await withTimeout(opts.ping, timeoutMs, 'timeout');
      return { status: 'ready', store, ...warnings() };
    } catch (err) {
      return reply
        .code(503)
        .send({ status: 'not ready', store, reason: (err as Error).message, ...warnings() });
    }
  });
}
