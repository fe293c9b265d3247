import type { FastifyInstance } from 'fastify';

export interface HealthRoutesOptions {
  /** Readiness check of the shared store; undefined when running on in-memory state. */
  ping?: () => Promise<void>;
  timeoutMs?: number;
}

/**
 * Probes for Kubernetes. Liveness only says the process answers (it must not depend on Redis,
 * or a Redis outage would restart every replica); readiness says Redis is reachable. Both log at
 * warn so a probe every few seconds does not flood the log.
 */
export default async function healthRoutes(app: FastifyInstance, opts: HealthRoutesOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 1_000;

  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/readyz', { logLevel: 'warn' }, async (_req, reply) => {
    if (!opts.ping) return { status: 'ready', store: 'memory' };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        opts.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
        }),
      ]);
      return { status: 'ready', store: 'redis' };
    } catch (err) {
      return reply.code(503).send({ status: 'not ready', store: 'redis', reason: (err as Error).message });
    } finally {
      clearTimeout(timer);
    }
  });
}
