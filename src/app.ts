import { STATUS_CODES } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import { type Logger, pino } from 'pino';
import type { Roster } from './agents/agent.js';
import { LiveRoster } from './agents/live-roster.js';
import { MemoryRosterStore } from './agents/memory-roster-store.js';
import { RedisRosterStore } from './agents/redis-roster-store.js';
import { rosterSummary } from './agents/roster-summary.js';
import { StaticRoster } from './agents/static-roster.js';
import { type AgentPicker, CallFlow } from './calls/call-flow.js';
import type { CallState } from './calls/call-state.js';
import type { CallStore } from './calls/call-store.js';
import { ClickToCall } from './calls/click-to-call.js';
import { MemoryCallStore } from './calls/memory-call-store.js';
import { OutboundPolicy } from './calls/outbound-policy.js';
import { RedisCallStore } from './calls/redis-call-store.js';
import type { Config } from './config.js';
import { configWarnings } from './config-warnings.js';
import { MemoryBalanceStateStore } from './jobs/memory-balance-state-store.js';
import { MemoryJobHealthStore } from './jobs/memory-job-health-store.js';
import { MemoryJobLease } from './jobs/memory-job-lease.js';
import { RedisBalanceStateStore } from './jobs/redis-balance-state-store.js';
import { RedisJobHealthStore } from './jobs/redis-job-health-store.js';
import { RedisJobLease } from './jobs/redis-job-lease.js';
import { JobScheduler } from './jobs/scheduler.js';
import { registerTelnyxJobs } from './jobs/telnyx-jobs.js';
import { MemorySlidingWindow, RedisSlidingWindow } from './limits/sliding-window.js';
import { MemorySlotPool, RedisSlotPool } from './limits/slot-pool.js';
import { loggerOptions } from './logger.js';
import { createMetrics } from './metrics/metrics.js';
import metricsPlugin from './metrics/metrics-plugin.js';
import { createFinishedCallRecorder } from './records/finished-call-recorder.js';
import { MemoryCallRecordStore } from './records/memory-call-record-store.js';
import { createPgPool } from './records/pg-pool.js';
import { PgRecordWriter } from './records/pg-record-writer.js';
import { RedisCallRecordStore } from './records/redis-call-record-store.js';
import { createRedis, redisProblem } from './redis.js';
import agentRoutes from './routes/api/agents.js';
import { AUTH_FAILURES_PER_MINUTE } from './routes/api/auth.js';
import adminApi from './routes/api/index.js';
import audioRoutes from './routes/audio.js';
import healthRoutes from './routes/health.js';
import texmlRoutes from './routes/texml.js';
import { schemaErrorFormatter } from './routes/validation-message.js';
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
import { runDailySummary } from './stats/daily-summary.js';
import { statsRoutes } from './stats/stats-routes.js';
import { createTelnyxClient, type TelnyxClient } from './telnyx/client.js';
import { SignatureVerifier } from './telnyx/signature.js';
import { loadFlows } from './texml/flows.js';
import { webPlugin } from './web/web-plugin.js';

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
  /** Runs once per finished call instead of writing its call record. */
  onFinished?: (call: CallState) => Promise<void>;
  /** A Telnyx client (tests point one at the fake API); default: built from TELNYX_API_KEY. */
  telnyx?: TelnyxClient;
  /** How often a replica re-reads the shared roster (default 2 s). */
  rosterRefreshMs?: number;
  /** How often configuration warnings are repeated in the log (default 60 s). */
  warningEveryMs?: number;
}

export interface Services {
  config: Config;
  redis: Redis | null;
  calls: CallStore;
  flow: CallFlow;
  roster: Roster;
  routing: RoutingStore;
  outbox: Outbox;
  scheduler: JobScheduler;
  records: RedisCallRecordStore | MemoryCallRecordStore;
  /** `draining` is set by server.ts on SIGTERM: /readyz fails while requests are still served. */
  lifecycle: { draining: boolean };
  /** Configuration warnings, repeated in the log every minute and shown by /readyz. */
  warnings: readonly string[];
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
    // Requests that reach a closing server (on a connection it already accepted) are served, not
    // refused: the listener is closed first, so nothing new arrives (server.ts, SIGTERM).
    return503OnClosing: false,
    // Reject unknown body properties instead of silently dropping them.
    ajv: { customOptions: { removeAdditional: false } },
    // A value outside a fixed set names the allowed values.
    schemaErrorFormatter,
    // CallSids of up to 128 characters are accepted on /texml/*, so /api/calls/:callSid takes them.
    routerOptions: { maxParamLength: 256 },
    // Errors the router raises itself (bad URL encoding, a too-long parameter) in our error shape.
    frameworkErrors: (err, _req, res) => {
      const reply = res as unknown as FastifyReply;
      const status = err.statusCode ?? 400;
      return reply.code(status).send({
        statusCode: status,
        code: 'SB_BAD_REQUEST',
        error: STATUS_CODES[status] ?? 'Bad Request',
        message: err.message.slice(0, 200),
      });
    },
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
  } else if (!config.publicUrl) {
    // The signature covers the body, not the Host headers TeXML URLs would then be built from.
    log.warn(
      'TELNYX_PUBLIC_KEY is set but PUBLIC_URL is not: set PUBLIC_URL so TeXML URLs do not follow request headers',
    );
  }
  if (!config.slackWebhookUrl)
    log.info('SLACK_WEBHOOK_URL is not set: Slack messages are written to this log');
  // Settings that leave a public deployment open: an error every minute until fixed.
  const warnings = configWarnings(config);
  const repeatWarnings = () => {
    for (const warning of warnings) log.error({ warning: true }, warning);
  };
  repeatWarnings();
  const nag = warnings.length ? setInterval(repeatWarnings, deps.warningEveryMs ?? 60_000) : undefined;
  nag?.unref();
  const lifecycle = { draining: false };

  const flows = loadFlows(config.texmlDir);
  const calls: CallStore = redis
    ? new RedisCallStore(redis, config.callTtlSeconds, now)
    : new MemoryCallStore(config.callTtlSeconds, now);
  const telnyx =
    deps.telnyx ??
    (config.telnyx.apiKey
      ? createTelnyxClient({ apiKey: config.telnyx.apiKey, baseUrl: config.telnyx.baseUrl, logger: log })
      : undefined);
  // Without an API key the roster is AGENTS as configured; with one it follows the account.
  const rosterStore = telnyx ? (redis ? new RedisRosterStore(redis) : new MemoryRosterStore()) : null;
  const roster: Roster & { refresh?(): Promise<unknown> } = rosterStore
    ? new LiveRoster({
        store: rosterStore,
        staticAgents: config.agents.static,
        logger: log,
        refreshMs: deps.rosterRefreshMs,
      })
    : new StaticRoster(config.agents.static);
  log.info(rosterSummary(config.agents, telnyx !== undefined));
  const routing: RoutingStore = redis
    ? createRedisRoutingStore(redis, { now, historyDays: config.routing.historyDays })
    : createMemoryRoutingStore({ now });
  const router = createRouter({ store: routing, settings: config.routing, logger: log, rng: deps.rng });
  const outbox: Outbox = redis ? new RedisOutbox(redis, { now }) : new MemoryOutbox({ now });
  const worker = new OutboxWorker({
    outbox,
    sink: config.slackWebhookUrl
      ? createSlackWebhookSink(config.slackWebhookUrl, { recordingUrlPrefixes: config.recordingUrlPrefixes })
      : createLogSink(log),
    logger: log,
    minIntervalMs: deps.slack?.minIntervalMs,
    backoff: deps.slack?.backoff,
    idlePollMs: deps.slack?.idlePollMs,
    now,
  });

  const records = redis ? new RedisCallRecordStore(redis) : new MemoryCallRecordStore({ now });
  const scheduler = new JobScheduler({
    lease: redis ? new RedisJobLease(redis) : new MemoryJobLease(),
    health: redis ? new RedisJobHealthStore(redis) : new MemoryJobHealthStore(),
    notifier: outbox,
    logger: log,
    timezone: config.stats.timeZone,
    now,
  });
  const metrics = createMetrics(
    {
      activeCalls: () => calls.activeCount(),
      agentsOnline: () => roster.current().agents.filter((a) => a.online).length,
      outboxDepth: () => outbox.depth(),
      slackFailures: () => outbox.counters().failed,
      slackFolded: () => outbox.counters(),
      jobs: () => scheduler.health(),
    },
    { shortAbandonSeconds: config.stats.shortAbandonSeconds },
  );

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
    onFinished:
      deps.onFinished ??
      createFinishedCallRecorder({ store: records, onRecorded: (r) => metrics.observeCall(r) }),
    now,
  });

  // Outbound limits (docs/interface.md §10), shared by the replicas through Redis when configured.
  const isLive = async (sids: string[]) => {
    const states = await Promise.all(sids.map((sid) => calls.get(sid)));
    return new Set(states.filter((s) => s && s.phase !== 'ended').map((s) => s!.sid));
  };
  const perAgent = { name: 'outbound:rate', max: config.outbound.maxPerMinute, windowMs: 60_000, now };
  const slots = { max: config.outbound.maxConcurrent, isLive, now };
  const policy = new OutboundPolicy({
    allowed: config.outbound.allowed,
    hotlineNumber: config.hotlineNumber,
    perAgent: redis ? new RedisSlidingWindow(redis, perAgent) : new MemorySlidingWindow(perAgent),
    slots: redis ? new RedisSlotPool(redis, slots) : new MemorySlotPool(slots),
  });
  const clickToCall = new ClickToCall({
    telnyx,
    connectionId: config.telnyx.connectionId,
    hotlineNumber: config.hotlineNumber,
    roster,
    flow,
    policy,
    now,
    log,
  });
  const authWindow = { name: 'auth:failures', max: AUTH_FAILURES_PER_MINUTE, windowMs: 60_000, now };
  const authFailures = redis
    ? new RedisSlidingWindow(redis, authWindow)
    : new MemorySlidingWindow(authWindow);

  scheduler.register({
    name: 'daily-summary',
    cron: config.stats.dailySummaryCron,
    run: () => runDailySummary({ store: records, notifier: outbox, ...config.stats, now }),
  });
  // With DATABASE_URL, call records are copied from the Redis stream to PostgreSQL every minute.
  const pool = config.databaseUrl ? createPgPool(config.databaseUrl, log) : undefined;
  const pgWriter =
    pool && records instanceof RedisCallRecordStore
      ? new PgRecordWriter({ pool, feed: records, logger: log })
      : undefined;
  if (pool && !pgWriter)
    log.warn(
      'DATABASE_URL needs REDIS_URL too (the Redis stream buffers the records); not writing to PostgreSQL',
    );
  if (pgWriter)
    scheduler.register({ name: 'records-to-postgres', cron: '* * * * *', run: () => pgWriter.flush() });
  if (telnyx && rosterStore) {
    registerTelnyxJobs({
      scheduler,
      client: telnyx,
      rosterStore,
      balanceStore: redis ? new RedisBalanceStateStore(redis) : new MemoryBalanceStateStore(),
      notifier: outbox,
      logger: log,
      agents: config.agents,
      balance: config.balance,
      roster: roster instanceof LiveRoster ? roster : undefined,
      now,
    });
  } else {
    log.info('TELNYX_API_KEY is not set: roster sync, presence and balance jobs are off');
  }

  app.decorate('services', {
    config,
    redis,
    calls,
    flow,
    roster,
    routing,
    outbox,
    scheduler,
    records,
    lifecycle,
    warnings,
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    // Our own errors (SB_*) carry messages written for the client; any other 5xx stays in the log.
    const ours = typeof err.code === 'string' && err.code.startsWith('SB_');
    const storeFailure = !ours || err.code === 'SB_STORE_UNAVAILABLE';
    const redisDown = status >= 500 && storeFailure && redis ? redisProblem(redis) : undefined;
    if (redisDown) {
      // The outage is logged once by createRedis; a request failing for it is not a new error.
      req.log.warn({ reason: redisDown }, 'request failed: Redis unavailable');
      return reply.code(503).send({
        statusCode: 503,
        code: 'SB_STORE_UNAVAILABLE',
        error: 'Service Unavailable',
        message: `call state unavailable: ${redisDown}`,
      });
    }
    if (status >= 500) req.log.error({ err, cause: err.cause }, 'request failed');
    else req.log.info({ code: err.code, reason: err.message }, 'request rejected');
    return reply.code(status).send({
      statusCode: status,
      code: err.validation
        ? 'SB_VALIDATION'
        : ours
          ? err.code
          : status >= 500
            ? 'SB_INTERNAL'
            : 'SB_BAD_REQUEST',
      error: STATUS_CODES[status] ?? 'Error',
      message: status >= 500 && !ours ? 'internal error' : err.message,
    });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      statusCode: 404,
      code: 'SB_NOT_FOUND',
      error: 'Not Found',
      message: `no route ${req.method} ${req.url.split('?')[0]?.slice(0, 200)}`,
    }),
  );

  // While draining, every reply closes its connection, so keep-alive clients reconnect elsewhere.
  app.addHook('onSend', async (_req, reply) => {
    if (lifecycle.draining) reply.header('connection', 'close');
  });

  // First: fastify-metrics learns which routes to measure as they are added.
  await app.register(metricsPlugin, { metrics });
  await app.register(healthRoutes, {
    ping: redis
      ? async () => {
          const problem = redisProblem(redis);
          if (problem) throw new Error(problem);
          await calls.ping();
        }
      : undefined,
    draining: () => lifecycle.draining,
    warnings: () => warnings,
  });
  await app.register(audioRoutes, { audioDir: config.audioDir });
  if (config.apiToken) {
    await app.register(adminApi, {
      token: config.apiToken,
      calls,
      clickToCall,
      publicUrl: config.publicUrl,
      authFailures,
      extra: [
        (api) => agentRoutes(api, { roster, scheduler, syncEnabled: telnyx !== undefined }),
        async (api) => {
          await api.register(statsRoutes, { store: records, settings: config.stats });
        },
      ],
    });
  } else {
    log.info('API_TOKEN is not set: the admin API (/api) is off');
    const apiOff = async (_req: unknown, reply: FastifyReply) =>
      reply.code(404).send({
        statusCode: 404,
        code: 'SB_API_OFF',
        error: 'Not Found',
        message: 'the admin API is off: set API_TOKEN to enable the admin API',
      });
    app.all('/api', apiOff);
    app.all('/api/*', apiOff);
  }
  await app.register(texmlRoutes, {
    flow,
    verifier: config.telnyx.publicKey ? new SignatureVerifier(config.telnyx.publicKey) : undefined,
    publicUrl: config.publicUrl,
    allowUnsignedInbound: config.telnyx.allowUnsignedInbound,
    onUnsignedInbound: () => metrics.unsignedInbound.inc(),
  });
  // The agent console and the wallboard (docs/interface.md §8).
  await app.register(webPlugin, {
    sessionSecret: config.sessionSecret,
    apiToken: config.apiToken,
    publicUrl: config.publicUrl,
    redis,
    roster,
    calls,
    records,
    stats: config.stats,
    telnyx,
    now,
  });

  // Callers who hung up in the voicemail flow: decide voicemail vs missed once their time is up.
  let finalizing = false;
  const finalizer = setInterval(() => {
    // Redis not connected: nothing can be decided; an outage is already logged once.
    if (finalizing || (redis && redis.status !== 'ready')) return;
    finalizing = true;
    flow
      .finalizeDue()
      .catch((err) => log.warn({ err }, 'voicemail decisions postponed'))
      .finally(() => {
        finalizing = false;
      });
  }, deps.finalizeEveryMs ?? 5_000);
  finalizer.unref();

  let closing = false;
  app.addHook('onReady', async () => {
    // The outbox, the shared roster and the job leases live in Redis: start them once it is
    // connected (at once without Redis), so the at-start roster sync and balance check are not
    // skipped for want of a lease. Calls are served meanwhile from the static roster.
    const start = () => {
      if (closing) return;
      worker.start();
      if (roster instanceof LiveRoster) {
        roster
          .start()
          .catch((err) => log.warn({ err }, 'shared roster not loaded yet; retrying in the background'));
      }
      pgWriter
        ?.migrate()
        .catch((err) => log.warn({ err }, 'PostgreSQL migration postponed; records wait in Redis'));
      // The at-start runs go on in the background: a slow Telnyx API must not hold up calls.
      scheduler.start().catch((err) => log.error({ err }, 'scheduler failed to start'));
    };
    if (redis && redis.status !== 'ready') redis.once('ready', start);
    else start();
  });
  app.addHook('onClose', async () => {
    closing = true;
    clearInterval(finalizer);
    clearInterval(nag);
    // Jobs may be waiting on a slow Telnyx API: stop them, but do not let them hold up the rest.
    const jobsStopped = scheduler.stop();
    if (roster instanceof LiveRoster) roster.stop();
    // In-flight requests are finished by now; let their background effects reach the outbox.
    await flow.drain();
    await worker.stop();
    await Promise.race([jobsStopped, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    if (calls instanceof MemoryCallStore) calls.close();
    await pool?.end().catch(() => undefined);
    if (ownsRedis && redis) await redis.quit().catch(() => redis.disconnect());
  });

  return app as unknown as FastifyInstance;
}
