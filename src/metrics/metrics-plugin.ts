import type { FastifyInstance } from 'fastify';
import fastifyMetricsModule from 'fastify-metrics';
import fp from 'fastify-plugin';
import promClient from 'prom-client';
import type { Metrics } from './metrics.js';

export interface MetricsPluginOptions {
  metrics: Metrics;
  /** Also export Node.js process metrics (CPU, memory, event-loop lag, GC). Default true. */
  defaultMetrics?: boolean;
}

type FastifyMetricsPlugin = typeof fastifyMetricsModule.default;

/**
 * fastify-metrics 13 is CommonJS with `exports.default`: Node's ESM loader hands us the whole
 * `module.exports` as the default import, bundlers (vitest) hand us `exports.default`.
 */
const fastifyMetrics: FastifyMetricsPlugin =
  typeof fastifyMetricsModule === 'function'
    ? (fastifyMetricsModule as unknown as FastifyMetricsPlugin)
    : fastifyMetricsModule.default;

/** Request latency buckets, seconds: TeXML replies should take milliseconds, Telnyx waits up to ~15 s. */
export const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * `GET /metrics` (Prometheus text format) and the HTTP metrics behind it: fastify-metrics 13
 * records `http_request_duration_seconds{method,route,status_code}` per route template (so
 * `/api/calls/:callSid` is one series, not one per call) on the Switchboard registry.
 *
 * Register it BEFORE the routes: fastify-metrics learns the routes to measure from the
 * `onRoute` hook, which sees only routes added after it. The route itself is not measured and
 * logs at `warn`, as probes do; it needs no token (docs/interface.md §6).
 */
async function metricsPlugin(app: FastifyInstance, opts: MetricsPluginOptions): Promise<void> {
  const { registry } = opts.metrics;
  await app.register(fastifyMetrics, {
    name: 'httpMetrics',
    promClient,
    // We serve the registry ourselves: the plugin's endpoint would merge in prom-client's global one.
    endpoint: null,
    defaultMetrics: { enabled: opts.defaultMetrics ?? true, register: registry },
    routeMetrics: {
      enabled: { histogram: true, summary: false },
      routeBlacklist: ['/metrics'],
      overrides: {
        histogram: { buckets: HTTP_BUCKETS, registers: [registry] },
        // fastify-metrics creates the summary even when disabled: keep it out of every registry
        // (the default would be prom-client's global one, shared by every app in the process).
        summary: { registers: [] },
      },
    },
  });

  app.get('/metrics', { logLevel: 'warn', config: { disableMetrics: true } }, async (_request, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });
}

export default fp(metricsPlugin, { name: 'switchboard-metrics', fastify: '5.x' });
