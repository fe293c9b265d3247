import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AgentStateStore } from './agents/agent-state-store.js';
import { MemoryAgentStateStore } from './agents/memory-agent-state-store.js';
import { MemoryRosterStore } from './agents/memory-roster-store.js';
import { RedisAgentStateStore } from './agents/redis-agent-state-store.js';
import { RedisRosterStore } from './agents/redis-roster-store.js';
import type { RosterStore } from './agents/roster-store.js';
import { MemoryOutbox } from './alerts/memory-outbox.js';
import type { Outbox } from './alerts/outbox.js';
import { RedisOutbox } from './alerts/redis-outbox.js';
import {
  type HoursOverrideStore,
  MemoryHoursOverrideStore,
  RedisHoursOverrideStore,
} from './call-center/hours-override-store.js';
import type { CallStore } from './calls/call-store.js';
import { MemoryCallStore } from './calls/memory-call-store.js';
import { RedisCallStore } from './calls/redis-call-store.js';
import type { EventLog } from './events/event-log.js';
import { MemoryEventLog } from './events/memory-event-log.js';
import { RedisEventLog } from './events/redis-event-log.js';
import type { JobStore } from './jobs/job-store.js';
import { MemoryJobStore } from './jobs/memory-job-store.js';
import { RedisJobStore } from './jobs/redis-job-store.js';
import {
  MemorySlidingWindow,
  RedisSlidingWindow,
  type SlidingWindow,
  type SlidingWindowOptions,
} from './limits/sliding-window.js';
import { MemorySlotPool, RedisSlotPool, type SlotPool, type SlotPoolOptions } from './limits/slot-pool.js';
import { MemoryQueueStore } from './queues/memory-queue-store.js';
import type { QueueStore } from './queues/queue-store.js';
import { RedisQueueStore } from './queues/redis-queue-store.js';
import type { CallRecordStore, RecordFeed } from './records/call-record-store.js';
import { MemoryCallRecordStore } from './records/memory-call-record-store.js';
import { RedisCallRecordStore } from './records/redis-call-record-store.js';
import { createRedis, redisProblem } from './redis.js';
import { createMemoryRoutingStore } from './routing/memory-routing-store.js';
import { createRedisRoutingStore } from './routing/redis-routing-store.js';
import type { RoutingStore } from './routing/routing-store.js';
import {
  MemorySoftphonePresenceStore,
  RedisSoftphonePresenceStore,
  type SoftphonePresenceStore,
} from './web/softphone-presence.js';

/**
 * Every store of the app, built for one backend: Redis (shared by the replicas) when a client is
 * given, else process memory (the embedded default: one replica, lost on restart). This is the
 * only place that chooses between the two (docs/architecture.md "Every store twice"); the rest of
 * the app sees the interfaces.
 */
export interface Stores {
  readonly backend: 'redis' | 'memory';
  /** The shared client, for what needs Redis itself (tests, diagnostics); null in memory. */
  readonly redis: Redis | null;
  readonly calls: CallStore;
  /** The shared roster copy (used when the roster follows the Telnyx account). */
  readonly roster: RosterStore;
  readonly routing: RoutingStore;
  /** The durable Slack outbox; also the app's `Notifier`. */
  readonly outbox: Outbox;
  /** Call records: KPIs and the daily summary read them. */
  readonly records: CallRecordStore;
  /**
   * The append-order feed PostgreSQL copies from, only where it outlives the process (Redis):
   * records in memory are not worth a copy, and a replica's memory is not the fleet's.
   */
  readonly durableRecordFeed: RecordFeed | undefined;
  /** The scheduler's store: slot and run leases, job health, and the balance alert's state. */
  readonly jobs: JobStore;
  /** Outbound limits (docs/interface.md §10): calls per agent per minute, concurrent calls. */
  readonly outbound: { readonly perAgent: SlidingWindow; readonly slots: SlotPool };
  /** Failed bearer tokens per client address (the admin API's throttle). */
  readonly authFailures: SlidingWindow;
  /** Agent status and state (docs/interface.md §5). */
  readonly agentStates: AgentStateStore;
  /** Call queues (docs/interface.md §7). */
  readonly queues: QueueStore;
  /** The call-center event log (docs/interface.md §7). */
  readonly events: EventLog;
  /** The event log as a durable feed for the PostgreSQL copy: only with Redis. */
  readonly durableEventFeed: RedisEventLog | undefined;
  /** Opening hours closed or opened by hand (docs/interface.md §9). */
  readonly hoursOverrides: HoursOverrideStore;
  /**
   * Browser softphones registered right now, each with a lease the console renews (docs/interface.md
   * §5, §8): a registered browser counts as registered for routing, on every replica.
   */
  readonly softphones: SoftphonePresenceStore;
  /** Why the shared store cannot be reached right now; always undefined in memory. */
  problem(): string | undefined;
  /** True once the backend can serve commands (always in memory). */
  isReady(): boolean;
  /** Runs `fn` once the backend is connected: at once in memory or when already connected. */
  whenReady(fn: () => void): void;
  /** The /readyz probe: Redis answers and the call store reads. Undefined in memory (nothing to probe). */
  readonly ping: (() => Promise<void>) | undefined;
  /** Stops the stores' own timers, and quits the Redis client if this factory made it. */
  close(): Promise<void>;
}

export interface StoresOptions {
  /** REDIS_URL: the backend is Redis when set (a client is made here and quit by `close`). */
  redisUrl?: string;
  /**
   * A client made elsewhere (tests pass one with their own key prefix; `close` leaves it open),
   * or null to force memory whatever `redisUrl` says. Undefined: follow `redisUrl`.
   */
  redis?: Redis | null;
  /** For the Redis client's connection log. */
  logger: Logger;
  now: () => number;
  /** CALL_TTL_SECONDS: how long a call's state is kept after its last change. */
  callTtlSeconds: number;
  /** OUTBOUND_MAX_PER_MINUTE and OUTBOUND_MAX_CONCURRENT (docs/interface.md §10). */
  outbound: { maxPerMinute: number; maxConcurrent: number };
  /** Failed bearer tokens allowed per client address and minute. */
  authFailuresPerMinute: number;
  /** ROUTING_HISTORY_DAYS: how long a caller's answered calls count for sticky routing. */
  routingHistoryDays?: number;
  /** TZ: whose calendar day "today" is for the agents' answered calls (`fewest-calls` routing). */
  timeZone?: string;
}

/** Builds every store for the configured backend (see {@link Stores}). */
export function createStores(options: StoresOptions): Stores {
  const { now } = options;
  const ownsRedis = options.redis === undefined && options.redisUrl !== undefined;
  const redis =
    options.redis !== undefined
      ? options.redis
      : options.redisUrl !== undefined
        ? createRedis(options.redisUrl, options.logger)
        : null;
  const calls: CallStore = redis
    ? new RedisCallStore(redis, options.callTtlSeconds, now)
    : new MemoryCallStore(options.callTtlSeconds, now);

  // A slot is taken until its call ends: the pool asks the call store which holders still live.
  const isLive = async (sids: string[]) => {
    const states = await Promise.all(sids.map((sid) => calls.get(sid)));
    return new Set(states.filter((s) => s && s.phase !== 'ended').map((s) => s!.sid));
  };
  const perAgent: SlidingWindowOptions = {
    name: 'outbound:rate',
    max: options.outbound.maxPerMinute,
    windowMs: 60_000,
    now,
  };
  const slots: SlotPoolOptions = { max: options.outbound.maxConcurrent, isLive, now };
  const auth: SlidingWindowOptions = {
    name: 'auth:failures',
    max: options.authFailuresPerMinute,
    windowMs: 60_000,
    now,
  };

  if (redis) {
    const jobs = new RedisJobStore(redis);
    const records = new RedisCallRecordStore(redis);
    const events = new RedisEventLog(redis, { now });
    return {
      backend: 'redis',
      redis,
      calls,
      roster: new RedisRosterStore(redis),
      routing: createRedisRoutingStore(redis, {
        now,
        historyDays: options.routingHistoryDays,
        ...(options.timeZone ? { timeZone: options.timeZone } : {}),
      }),
      outbox: new RedisOutbox(redis, { now, lease: jobs }),
      records,
      durableRecordFeed: records,
      jobs,
      outbound: { perAgent: new RedisSlidingWindow(redis, perAgent), slots: new RedisSlotPool(redis, slots) },
      authFailures: new RedisSlidingWindow(redis, auth),
      agentStates: new RedisAgentStateStore(redis),
      queues: new RedisQueueStore(redis),
      events,
      durableEventFeed: events,
      hoursOverrides: new RedisHoursOverrideStore(redis),
      softphones: new RedisSoftphonePresenceStore(redis),
      problem: () => redisProblem(redis),
      isReady: () => redis.status === 'ready',
      whenReady(fn) {
        if (redis.status === 'ready') fn();
        else redis.once('ready', fn);
      },
      async ping() {
        const problem = redisProblem(redis);
        if (problem) throw new Error(problem);
        await calls.ping();
      },
      async close() {
        if (ownsRedis) await redis.quit().catch(() => redis.disconnect());
      },
    };
  }

  const jobs = new MemoryJobStore();
  return {
    backend: 'memory',
    redis: null,
    calls,
    roster: new MemoryRosterStore(),
    routing: createMemoryRoutingStore({ now, ...(options.timeZone ? { timeZone: options.timeZone } : {}) }),
    outbox: new MemoryOutbox({ now, lease: jobs }),
    records: new MemoryCallRecordStore({ now }),
    durableRecordFeed: undefined,
    jobs,
    outbound: { perAgent: new MemorySlidingWindow(perAgent), slots: new MemorySlotPool(slots) },
    authFailures: new MemorySlidingWindow(auth),
    agentStates: new MemoryAgentStateStore(),
    queues: new MemoryQueueStore(),
    events: new MemoryEventLog({ now }),
    durableEventFeed: undefined,
    hoursOverrides: new MemoryHoursOverrideStore(),
    softphones: new MemorySoftphonePresenceStore(),
    problem: () => undefined,
    isReady: () => true,
    whenReady: (fn) => fn(),
    ping: undefined,
    async close() {
      (calls as MemoryCallStore).close();
    },
  };
}
