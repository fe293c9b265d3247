import { STATUS_CODES } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import { type Logger, pino } from 'pino';
import type { Roster } from './agents/agent.js';
import { LiveRoster } from './agents/live-roster.js';
import { rosterSummary } from './agents/roster-summary.js';
import { StaticRoster } from './agents/static-roster.js';
import type { Outbox } from './alerts/outbox.js';
import { OutboxWorker } from './alerts/outbox-worker.js';
import type { BackoffOptions } from './alerts/sink.js';
import { type CallCenterConfigSource, callCenterSourceFor } from './call-center/call-center-source.js';
import { OpeningHoursService } from './call-center/opening-hours-service.js';
import { audioFolder } from './call-center/prompts.js';
import { type AgentPicker, CallFlow } from './calls/call-flow.js';
import type { CallStore } from './calls/call-store.js';
import type { CallState } from './calls/call-types.js';
import { CallbackDialer, callbackDialerTick } from './calls/callback-dialer.js';
import { ClickToCall } from './calls/click-to-call.js';
import { OutboundPolicy } from './calls/outbound-policy.js';
import type { Config } from './config.js';
import { configWarnings } from './config-warnings.js';
import { PgEventWriter } from './events/pg-event-writer.js';
import { JobScheduler } from './jobs/scheduler.js';
import { registerTelnyxJobs } from './jobs/telnyx-jobs.js';
import { loggerOptions } from './logger.js';
import { type AgentMetricState, agentMetricState, createMetrics } from './metrics/metrics.js';
import metricsPlugin from './metrics/metrics-plugin.js';
import { createPgPool } from './postgres/pool.js';
import { buildCallCenter, callCenterTick } from './queues/build-call-center.js';
import { type CallCenter, offeringPicker } from './queues/call-center.js';
import { OfferDelivery } from './queues/offer-delivery.js';
import type { QueueFlow } from './queues/queue-flow.js';
import type { QueueSettings } from './queues/queue-settings.js';
import type { CallRecordStore } from './records/call-record-store.js';
import { createFinishedCallRecorder } from './records/finished-call-recorder.js';
import { PgRecordWriter } from './records/pg-record-writer.js';
import agentRoutes from './routes/api/agents.js';
import { AUTH_FAILURES_PER_MINUTE } from './routes/api/auth.js';
import hoursRoutes from './routes/api/hours.js';
import adminApi from './routes/api/index.js';
import queueRoutes, { type QueueDefinition } from './routes/api/queues.js';
import { statsRoutes } from './routes/api/stats.js';
import audioRoutes, { DEFAULT_AUDIO_DIR } from './routes/audio.js';
import healthRoutes from './routes/health.js';
import texmlRoutes from './routes/texml.js';
import { schemaErrorFormatter } from './routes/validation-message.js';
import { createRouter } from './routing/router.js';
import type { RoutingStore } from './routing/routing-store.js';
import { type Service, ServiceGroup } from './service.js';
import { createAlertSink } from './slack/sinks.js';
import { runDailySummary } from './stats/daily-summary.js';
import { createStores, type Stores } from './stores.js';
import { createTelnyxClient, type TelnyxClient } from './telnyx/client.js';
import { sodiumLoadError } from './telnyx/ed25519.js';
import { SignatureVerifier } from './telnyx/signature.js';
import { loadFlows } from './texml/flows.js';
import { BrowserAwareRoster } from './web/softphone-presence.js';
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
  /** How often due wrap-ups end and waiting callers are offered to free agents (default 1 s). */
  callCenterTickMs?: number;
  /** Overrides of the queue defaults (announce, callback and wait times; docs/interface.md §7). */
  queueSettings?: Partial<QueueSettings>;
  /** Runs once per finished call instead of writing its call record. */
  onFinished?: (call: CallState) => Promise<void>;
  /** A Telnyx client (tests point one at the fake API); default: built from TELNYX_API_KEY. */
  telnyx?: TelnyxClient;
  /** How often a replica re-reads the shared roster (default 2 s). */
  rosterRefreshMs?: number;
  /** How often a replica re-reads the browser softphone registrations (default 1 s). */
  softphoneRefreshMs?: number;
  /** How often configuration warnings are repeated in the log (default 60 s). */
  warningEveryMs?: number;
  /** The call-center file (queues, hours, menu); default: built from CALL_CENTER_CONFIG. */
  callCenter?: CallCenterConfigSource;
}

export interface Services {
  config: Config;
  redis: Redis | null;
  calls: CallStore;
  flow: CallFlow;
  roster: Roster;
  routing: RoutingStore;
  /** Agent status and state, queues and the call-center event log (docs/interface.md §5, §7). */
  center: CallCenter;
  queue: QueueFlow;
  outbox: Outbox;
  scheduler: JobScheduler;
  records: CallRecordStore;
  /** Every store, for the backend configured (src/stores.ts). */
  stores: Stores;
  /** The long-running parts, started on ready and stopped on close (src/service.ts). */
  lifecycleServices: ServiceGroup;
  /** `draining` is set by server.ts on SIGTERM: /readyz fails while requests are still served. */
  lifecycle: { draining: boolean };
  /** Configuration warnings, repeated in the log every minute and shown by /readyz. */
  warnings: readonly string[];
  /** The call-center file in force (docs/interface.md §9); `current()` never does I/O. */
  callCenter: CallCenterConfigSource;
  /** Opening hours: the file's schedule plus the manual overrides. */
  hours: OpeningHoursService;
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
  // First, before any connection is opened: an invalid call-center file stops the start with
  // the line and field of each problem.
  const callCenter = deps.callCenter ?? callCenterSourceFor(config.callCenterConfig, log);

  // REDIS_URL picks the backend of every store (src/stores.ts); without it, process memory.
  const stores = createStores({
    redisUrl: config.redisUrl,
    redis: deps.redis,
    logger: log,
    now,
    callTtlSeconds: config.callTtlSeconds,
    outbound: config.outbound,
    authFailuresPerMinute: AUTH_FAILURES_PER_MINUTE,
    routingHistoryDays: config.routing.historyDays,
    timeZone: config.stats.timeZone,
  });
  if (stores.backend === 'memory') {
    log.warn('REDIS_URL is not set: call state lives in this process only (single replica, lost on restart)');
  }
  const { calls, routing, outbox, records } = stores;
  // Long-running parts, in start order; stopped last first when the app closes.
  const services = new ServiceGroup(log);
  services.add({ name: 'stores', start: () => undefined, stop: () => stores.close() });
  const verifier = config.telnyx.publicKey ? new SignatureVerifier(config.telnyx.publicKey) : undefined;
  if (verifier?.backend === 'node:crypto') {
    // Still correct, only slower (about twice the CPU per verify): say so once, at start-up.
    log.warn(
      { err: sodiumLoadError() },
      'sodium-native did not load: Telnyx signatures are checked with node:crypto instead of libsodium',
    );
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
  app.addHook('onClose', async () => clearInterval(nag));
  const lifecycle = { draining: false };

  const flows = loadFlows(config.texmlDir);
  const telnyx =
    deps.telnyx ??
    (config.telnyx.apiKey
      ? createTelnyxClient({ apiKey: config.telnyx.apiKey, baseUrl: config.telnyx.baseUrl, logger: log })
      : undefined);
  // Without an API key the roster is AGENTS as configured; with one it follows the account.
  const liveRoster = telnyx
    ? new LiveRoster({
        store: stores.roster,
        staticAgents: config.agents.static,
        logger: log,
        refreshMs: deps.rosterRefreshMs,
      })
    : undefined;
  const plainRoster: Roster = liveRoster ?? new StaticRoster(config.agents.static);
  // With the browser softphone possible (TELNYX_API_KEY and SESSION_SECRET, docs/interface.md §8),
  // an agent whose browser is registered counts as registered and is rung at the telephony
  // credential's SIP user (§5); the registrations are shared by the replicas (src/stores.ts).
  const browserRoster =
    telnyx && config.sessionSecret
      ? new BrowserAwareRoster(plainRoster, stores.softphones, { now, refreshMs: deps.softphoneRefreshMs })
      : undefined;
  const roster: Roster = browserRoster ?? plainRoster;
  log.info(rosterSummary(config.agents, telnyx !== undefined));
  const router = createRouter({ store: routing, settings: config.routing, logger: log, rng: deps.rng });
  const worker = new OutboxWorker({
    outbox,
    sink: createAlertSink(config.slackWebhookUrl, log, { recordingUrlPrefixes: config.recordingUrlPrefixes }),
    logger: log,
    minIntervalMs: deps.slack?.minIntervalMs,
    backoff: deps.slack?.backoff,
    idlePollMs: deps.slack?.idlePollMs,
    now,
  });

  const hours = new OpeningHoursService({
    source: callCenter,
    overrides: stores.hoursOverrides,
    now,
    logger: log,
    // A caller's reply never waits long on Redis: the schedule alone decides after this.
    overridesBudgetMs: 500,
    // One Redis read a second at most on the call path; another replica's change counts within 1 s.
    overridesCacheMs: 1_000,
  });

  const scheduler = new JobScheduler({
    store: stores.jobs,
    notifier: outbox,
    logger: log,
    timezone: config.stats.timeZone,
    now,
  });
  // Queues, agent states and the event log (docs/interface.md §5, §7), read by /api/queues,
  // /api/events, /api/stats and /metrics. Without a call-center file: one queue, `support`,
  // holding every agent.
  const { queues: queueStore, agentStates, events } = stores;
  // A queue offer reaches the caller through Telnyx's call-update API when it can, else by
  // <Leave/> on the next waitUrl fetch (docs/interface.md §7).
  const offerDelivery = new OfferDelivery({ telnyx, publicUrl: config.publicUrl, log });
  if (!offerDelivery.enabled) {
    log.info(
      `queue offers reach callers by <Leave/> on the next hold-music fetch (up to 10 s): set ${
        telnyx ? 'PUBLIC_URL' : config.publicUrl ? 'TELNYX_API_KEY' : 'TELNYX_API_KEY and PUBLIC_URL'
      } to move them at once through Telnyx's call-update API`,
    );
  }
  const { center, queue, directory } = buildCallCenter({
    config,
    stores,
    roster,
    notifier: outbox,
    log,
    now,
    queueSettings: deps.queueSettings,
    callCenter,
    hours,
    offerDelivery,
  });
  // The queues of the call-center file (docs/call-center-file.md), resolved against the roster.
  const queueDefinitions = (): QueueDefinition[] =>
    [...directory.membership().byQueue].map(([name, agentIds]) => ({ name, agentIds }));

  const metrics = createMetrics(
    {
      activeCalls: () => calls.activeCount(),
      agentsOnline: () => roster.current().agents.filter((a) => a.online).length,
      outboxDepth: () => outbox.depth(),
      slackFailures: () => outbox.counters().failed,
      slackFolded: () => outbox.counters(),
      jobs: () => scheduler.health(),
      queues: async () => {
        const defs = queueDefinitions();
        const at = now();
        const [summaries, states] = await Promise.all([
          queueStore.summaries(
            defs.map((q) => q.name),
            at,
          ),
          agentStates.getMany([...new Set(defs.flatMap((q) => q.agentIds))]),
        ]);
        return defs.map((q) => {
          const summary = summaries.find((x) => x.queue === q.name);
          const agents: Partial<Record<AgentMetricState, number>> = {};
          for (const id of q.agentIds) {
            const r = states.get(id);
            const state = r ? agentMetricState(r.status, r.state) : 'idle';
            agents[state] = (agents[state] ?? 0) + 1;
          }
          return {
            queue: q.name,
            waiting: summary?.waiting ?? 0,
            longestWaitSeconds: summary?.longestWaitSeconds ?? 0,
            agents,
          };
        });
      },
    },
    { shortAbandonSeconds: config.stats.shortAbandonSeconds },
  );

  const picker: AgentPicker = {
    pick: offeringPicker(center, router, directory, log),
    answered: async (callSid, caller, agentId) => void (await routing.recordAnswer(callSid, caller, agentId)),
    busy: (agentId, leg, at) => routing.markBusy(agentId, leg, at),
    idle: (agentId, leg, at) => routing.markIdle(agentId, leg, at),
  };

  // Queue callbacks (docs/interface.md §7) go through click-to-call, built after the flow.
  let callbacks: CallbackDialer | undefined;
  const recordFinished =
    deps.onFinished ??
    createFinishedCallRecorder({ store: records, onRecorded: (r) => metrics.observeCall(r) });
  const flow = new CallFlow({
    store: calls,
    roster,
    picker,
    flows,
    notifier: outbox,
    log,
    dialAttempts: config.routing.dialAttempts,
    dialTimeoutSeconds: config.routing.dialTimeoutSeconds,
    stickyRingSeconds: config.routing.stickyRingSeconds,
    hotlineNumber: config.hotlineNumber,
    center,
    queue,
    directory,
    hours,
    hasAudio: audioFolder(config.audioDir ?? DEFAULT_AUDIO_DIR),
    // The record first (idempotent by sid); then a callback's attempt is settled. A failure
    // leaves the effect pending, and the callback tick settles an unanswered attempt anyway.
    onFinished: async (call) => {
      await recordFinished(call);
      await callbacks?.finished(call);
    },
    now,
  });

  // Outbound limits (docs/interface.md §10), shared by the replicas through Redis when configured.
  const policy = new OutboundPolicy({
    allowed: config.outbound.allowed,
    hotlineNumber: config.hotlineNumber,
    perAgent: stores.outbound.perAgent,
    slots: stores.outbound.slots,
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
  callbacks = new CallbackDialer({
    queue,
    center,
    clickToCall,
    policy,
    calls,
    queueNames: () => queueDefinitions().map((q) => q.name),
    log,
    publicUrl: config.publicUrl,
  });
  queue.callbacks = callbacks;

  scheduler.register({
    name: 'daily-summary',
    cron: config.stats.dailySummaryCron,
    run: () => runDailySummary({ store: records, notifier: outbox, ...config.stats, now }),
  });
  // With DATABASE_URL, call records are copied from the Redis stream to PostgreSQL every minute.
  const feed = stores.durableRecordFeed;
  if (config.databaseUrl && !feed)
    log.warn(
      'DATABASE_URL needs REDIS_URL too (the Redis stream buffers the records); not writing to PostgreSQL',
    );
  if (config.databaseUrl && feed) {
    const pool = createPgPool(config.databaseUrl, log);
    const pgWriter = new PgRecordWriter({ pool, feed, logger: log });
    scheduler.register({ name: 'records-to-postgres', cron: '* * * * *', run: () => pgWriter.flush() });
    services.add({
      name: 'PostgreSQL record writer',
      start: () => pgWriter.migrate(),
      startFailure: 'PostgreSQL migration postponed; records wait in Redis',
      startFailureLevel: 'warn',
      stop: () => pool.end().catch(() => undefined),
    });
    // The call-center event log follows the call records into PostgreSQL (docs/interface.md §7).
    if (stores.durableEventFeed) {
      const pgEvents = new PgEventWriter({ pool, feed: stores.durableEventFeed, logger: log });
      scheduler.register({ name: 'events-to-postgres', cron: '* * * * *', run: () => pgEvents.flush() });
    }
  }
  if (telnyx) {
    registerTelnyxJobs({
      scheduler,
      client: telnyx,
      rosterStore: stores.roster,
      jobStore: stores.jobs,
      notifier: outbox,
      logger: log,
      agents: config.agents,
      balance: config.balance,
      roster: liveRoster,
      now,
    });
  } else {
    log.info('TELNYX_API_KEY is not set: roster sync, presence and balance jobs are off');
  }

  app.decorate('services', {
    config,
    redis: stores.redis,
    calls,
    flow,
    roster,
    routing,
    center,
    queue,
    outbox,
    scheduler,
    records,
    stores,
    lifecycleServices: services,
    lifecycle,
    warnings,
    callCenter,
    hours,
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    // Our own errors (SB_*) carry messages written for the client; any other 5xx stays in the log.
    const ours = typeof err.code === 'string' && err.code.startsWith('SB_');
    const storeFailure = !ours || err.code === 'SB_STORE_UNAVAILABLE';
    const redisDown = status >= 500 && storeFailure ? stores.problem() : undefined;
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
    ping: stores.ping,
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
      authFailures: stores.authFailures,
      extra: [
        (api) =>
          agentRoutes(api, {
            roster,
            scheduler,
            syncEnabled: telnyx !== undefined,
            status: center.statusService(),
            records: (ids) => center.records(ids),
          }),
        async (api) => {
          await api.register(statsRoutes, {
            store: records,
            settings: config.stats,
            events,
            queueNames: () => directory.names(),
            now,
          });
        },
        async (api) => {
          await api.register(hoursRoutes, { hours, source: callCenter, now });
        },
        (api) =>
          queueRoutes(api, {
            queues: queueDefinitions,
            agent: (id) => roster.current().agents.find((a) => a.id === id),
            queueStore,
            agentStates,
            events,
            settings: config.stats,
            now,
          }),
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
    verifier,
    publicUrl: config.publicUrl,
    allowUnsignedInbound: config.telnyx.allowUnsignedInbound,
    onUnsignedInbound: () => metrics.unsignedInbound.inc(),
  });
  // The agent console and the wallboard (docs/interface.md §8).
  await app.register(webPlugin, {
    sessionSecret: config.sessionSecret,
    apiToken: config.apiToken,
    publicUrl: config.publicUrl,
    redis: stores.redis,
    roster,
    calls,
    records,
    stats: config.stats,
    telnyx,
    now,
    agentStatus: center.statusService(),
    softphonePresence: stores.softphones,
    // This replica's calls see a change at once; the others at their next refresh.
    onSoftphonePresence: browserRoster ? () => browserRoster.refresh() : undefined,
    queues: {
      async list() {
        const at = now();
        return Promise.all(
          queueDefinitions().map(async ({ name }) => {
            const line = await queueStore.list(name, at);
            return {
              name,
              waiting: line.map((c) => ({
                position: c.position,
                waitSeconds: c.waitSeconds,
                callbackRequested: c.callback !== undefined,
              })),
              longestWaitSeconds: line.reduce((m, c) => Math.max(m, c.waitSeconds), 0),
            };
          }),
        );
      },
      async fingerprint() {
        const summaries = await queueStore.summaries(
          queueDefinitions().map((q) => q.name),
          now(),
        );
        return JSON.stringify(summaries);
      },
    },
  });

  // Started once the store is connected (at once in memory), so the at-start roster sync and
  // balance check are not skipped for want of a lease; calls are served meanwhile from the static
  // roster. Stopped last first on close: the finalizer and jobs, the roster refresh, then the
  // effects of the requests in flight reach the outbox, the worker hands over, the stores close.
  services.add({ name: 'outbox worker', start: () => worker.start(), stop: () => worker.stop() });
  services.add({ name: 'call effects', start: () => undefined, stop: () => flow.drain() });
  if (liveRoster) {
    services.add({
      name: 'shared roster',
      start: () => liveRoster.start(),
      startFailure: 'shared roster not loaded yet; retrying in the background',
      startFailureLevel: 'warn',
      stop: async () => liveRoster.stop(),
    });
  }
  if (browserRoster) {
    services.add({
      name: 'browser softphones',
      start: async () => {
        browserRoster.start();
        await browserRoster.refresh();
      },
      startFailure: 'browser softphone registrations not read yet; retrying in the background',
      startFailureLevel: 'warn',
      stop: async () => browserRoster.stop(),
    });
  }
  // The at-start runs go on in the background: a slow Telnyx API must not hold up calls. Jobs
  // may be waiting on it at close: they get 5 s, then the rest stops without them.
  services.add({
    name: 'scheduler',
    start: () => scheduler.start(),
    startFailure: 'scheduler failed to start',
    stop: () => scheduler.stop(),
    stopWithinMs: 5_000,
  });
  services.add(voicemailFinalizer(flow, stores, log, deps.finalizeEveryMs ?? 5_000));
  // Stopped after the tick (last first): offers it made finish their redirect (≤ 1.5 s each).
  services.add({ name: 'queue offer delivery', start: () => undefined, stop: () => offerDelivery.drain() });
  services.add(
    callCenterTick({ center, queue }, () => stores.isReady(), log, deps.callCenterTickMs ?? 1_000),
  );
  services.add(callbackDialerTick(callbacks, () => stores.isReady(), log, deps.callCenterTickMs ?? 1_000));

  app.addHook('onReady', async () => stores.whenReady(() => services.start()));
  app.addHook('onClose', async () => {
    await services.stop();
    await callCenter.close();
  });

  return app as unknown as FastifyInstance;
}

/**
 * Callers who hung up in the voicemail flow: decides voicemail vs missed once their time is up,
 * every `everyMs`, on any replica (the store's compare-and-set decides once).
 */
function voicemailFinalizer(flow: CallFlow, stores: Stores, log: Logger, everyMs: number): Service {
  let timer: NodeJS.Timeout | undefined;
  let finalizing = false;
  return {
    name: 'voicemail finalizer',
    start() {
      timer = setInterval(() => {
        // Store not connected: nothing can be decided; an outage is already logged once.
        if (finalizing || !stores.isReady()) return;
        finalizing = true;
        flow
          .finalizeDue()
          .catch((err) => log.warn({ err }, 'voicemail decisions postponed'))
          .finally(() => {
            finalizing = false;
          });
      }, everyMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
    },
  };
}
