import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { type Logger, pino } from 'pino';
import type { Roster } from './agents/agent.js';
import { StaticRoster } from './agents/static-roster.js';
import { type AgentPicker, CallFlow } from './calls/call-flow.js';
import type { CallState } from './calls/call-state.js';
import type { CallStore } from './calls/call-store.js';
import { MemoryCallStore } from './calls/memory-call-store.js';
import { RedisCallStore } from './calls/redis-call-store.js';
import type { Config } from './config.js';
import { loggerOptions } from './logger.js';
import { createRedis } from './redis.js';
import audioRoutes from './routes/audio.js';
import healthRoutes from './routes/health.js';
import texmlRoutes from './routes/texml.js';
import { createMemoryRoutingStore } from './routing/memory-routing-store.js';
import { createRedisRoutingStore } from './routing/redis-routing-store.js';
import { createRouter } from './routing/router.js';
import type { RoutingStore } from './routing/routing-store.js';
import type { BackoffOptions } from './slack/delivery.js';
import { MemoryOutbox } from './slack/memory-outbox.js';
import type { Outbox } from './slack/outbox.js';
import { OutboxWorker } from './slack/outbox-worker.js';
import { RedisOutbox } from './slack/redis-outbox.js';
import { createLogSink, createSlackWebhookSink } from './slack/sinks.js';
import { SignatureVerifier } from './telnyx/signature.js';
import { loadFlows } from './texml/flows.js';

/** What a test (or another embedding) may hand in instead of what the config would build. */
export interface AppDeps {
  /** A Redis client (tests pass one with their own keyPrefix); null forces the in-memory stores. */
  redis?: Redis | null;
  logger?: Logger;
  now?: () => number;
  rng?: () => number;
  /** Slack delivery pacing, for tests (default: 1 message/s, backoff 1 s → 60 s). */
  slack?: { minIntervalMs?: number; backoff?: BackoffOptions; idlePollMs?: number };
  /** How often pending voicemail decisions are checked (default 5 s). */
  finalizeEveryMs?: number;
  /** Runs once per finished call. */
  onFinished?: (call: CallState) => Promise<void>;
}

export interface Services {
  config: Config;
  redis: Redis | null;
  calls: CallStore;
  flow: CallFlow;
  roster: Roster;
  routing: RoutingStore;
  outbox: Outbox;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

/**
 * Builds the whole server from a config object: stores, roster, routing, Slack outbox, routes.
 * Listening and process signals belong to server.ts, so tests build apps freely.
 */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const logger = deps.logger ?? pino(loggerOptions(config.logLevel));
  const app = Fastify({
    loggerInstance: logger,
    // Behind a load balancer: the forwarded host builds TeXML URLs when PUBLIC_URL is unset.
    trustProxy: true,
    bodyLimit: 256 * 1024,
    requestTimeout: 30_000,
    return503OnClosing: true,
  });
  const log = app.log as Logger;
  const now = deps.now ?? Date.now;

  const ownsRedis = deps.redis === undefined && config.redisUrl !== undefined;
  const redis =
    deps.redis !== undefined ? deps.redis : config.redisUrl ? createRedis(config.redisUrl, log) : null;
  if (!redis) {
    log.warn('REDIS_URL is not set: call state lives in this process only (single replica, lost on restart)');
  }
  if (!config.telnyx.publicKey) {
    log.warn('TELNYX_PUBLIC_KEY is not set: /texml/* requests are not checked for Telnyx signatures');
  }
  if (!config.slackWebhookUrl)
    log.info('SLACK_WEBHOOK_URL is not set: Slack messages are written to this log');

  const flows = loadFlows(config.texmlDir);
  const calls: CallStore = redis
    ? new RedisCallStore(redis, config.callTtlSeconds)
    : new MemoryCallStore(config.callTtlSeconds, now);
  const roster: Roster = new StaticRoster(config.agents.static);
  const routing: RoutingStore = redis
    ? createRedisRoutingStore(redis, { now })
    : createMemoryRoutingStore({ now });
  const router = createRouter({ store: routing, settings: config.routing, logger: log, rng: deps.rng });
  const outbox: Outbox = redis ? new RedisOutbox(redis, { now }) : new MemoryOutbox({ now });
  const worker = new OutboxWorker({
    outbox,
    sink: config.slackWebhookUrl ? createSlackWebhookSink(config.slackWebhookUrl) : createLogSink(log),
    logger: log,
    minIntervalMs: deps.slack?.minIntervalMs,
    backoff: deps.slack?.backoff,
    idlePollMs: deps.slack?.idlePollMs,
    now,
  });

  const picker: AgentPicker = {
    async pick({ caller, round, alreadyRung }) {
      const decision = await router.route({ caller, agents: roster.current().agents, round, alreadyRung });
      return decision.targets;
    },
    answered: async (callSid, caller, agentId) => void (await routing.recordAnswer(callSid, caller, agentId)),
    busy: (agentId, leg, at) => routing.markBusy(agentId, leg, at),
    idle: (agentId, leg, at) => routing.markIdle(agentId, leg, at),
  };

  const flow = new CallFlow({
    store: calls,
    roster,
    picker,
    flows,
    notifier: outbox,
    log,
    dialAttempts: config.routing.dialAttempts,
    dialTimeoutSeconds: config.routing.dialTimeoutSeconds,
    hotlineNumber: config.hotlineNumber,
    onFinished: deps.onFinished,
    now,
  });

  app.decorate('services', { config, redis, calls, flow, roster, routing, outbox });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ code: err.code, reason: err.message }, 'request rejected');
    return reply.code(status).send({
      statusCode: status,
      code: err.code ?? (status >= 500 ? 'SB_INTERNAL' : 'SB_BAD_REQUEST'),
      error: status >= 500 ? 'Internal Server Error' : err.name,
      // 5xx details stay in the log.
      message: status >= 500 && status !== 503 ? 'internal error' : err.message,
    });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      statusCode: 404,
      code: 'SB_NOT_FOUND',
      error: 'Not Found',
      message: `no route ${req.method} ${req.url.split('?')[0]}`,
    }),
  );

  await app.register(healthRoutes, { ping: redis ? () => calls.ping() : undefined });
  await app.register(audioRoutes, { audioDir: config.audioDir });
  await app.register(texmlRoutes, {
    flow,
    verifier: config.telnyx.publicKey ? new SignatureVerifier(config.telnyx.publicKey) : undefined,
    publicUrl: config.publicUrl,
  });

  // Callers who hung up in the voicemail flow: decide voicemail vs missed once their time is up.
  let finalizing = false;
  const finalizer = setInterval(() => {
    if (finalizing) return;
    finalizing = true;
    flow
      .finalizeDue()
      .catch((err) => log.warn({ err }, 'voicemail decisions postponed'))
      .finally(() => {
        finalizing = false;
      });
  }, deps.finalizeEveryMs ?? 5_000);
  finalizer.unref();

  app.addHook('onReady', async () => {
    worker.start();
  });
  app.addHook('onClose', async () => {
    clearInterval(finalizer);
    // In-flight requests are finished by now; let their background effects reach the outbox.
    await flow.drain();
    await worker.stop();
    if (calls instanceof MemoryCallStore) calls.close();
    if (ownsRedis && redis) await redis.quit().catch(() => redis.disconnect());
  });

  return app as unknown as FastifyInstance;
}
