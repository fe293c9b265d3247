import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Roster } from '../agents/agent.js';
import type { AgentStateStore } from '../agents/agent-state-store.js';
import { MemoryAgentStateStore } from '../agents/memory-agent-state-store.js';
import { RedisAgentStateStore } from '../agents/redis-agent-state-store.js';
import type { Config } from '../config.js';
import type { EventLog } from '../events/event-log.js';
import { MemoryEventLog } from '../events/memory-event-log.js';
import { RedisEventLog } from '../events/redis-event-log.js';
import type { Notifier } from '../slack/alert.js';
import { CallCenter } from './call-center.js';
import { MemoryQueueStore } from './memory-queue-store.js';
import { QueueFlow } from './queue-flow.js';
import { defaultQueueSettings, type QueueSettings } from './queue-settings.js';
import { RedisQueueStore } from './redis-queue-store.js';

export interface CallCenterDeps {
  config: Config;
  redis: Redis | null;
  roster: Roster;
  notifier: Notifier;
  log: Logger;
  now: () => number;
  /** Overrides of the queue defaults (tests: short announce and callback times). */
  queueSettings?: Partial<QueueSettings>;
}

/**
 * The call center's stores (shared through Redis when configured, else in this process) and the
 * `CallCenter` over them: one place, so app.ts wires it with one call.
 */
export function buildCallCenter(deps: CallCenterDeps): { center: CallCenter; queue: QueueFlow } {
  const { config, redis, now } = deps;
  const agentStates: AgentStateStore = redis ? new RedisAgentStateStore(redis) : new MemoryAgentStateStore();
  const events: EventLog = redis ? new RedisEventLog(redis, { now }) : new MemoryEventLog({ now });
  const center = new CallCenter({
    agents: agentStates,
    events,
    notifier: deps.notifier,
    roster: deps.roster,
    log: deps.log,
    now,
    settings: {
      ...config.agentState,
      dialTimeoutSeconds: config.routing.dialTimeoutSeconds,
    },
  });
  const queue = new QueueFlow({
    center,
    queues: redis ? new RedisQueueStore(redis) : new MemoryQueueStore(),
    settings: defaultQueueSettings(deps.queueSettings),
    notifier: deps.notifier,
    roster: deps.roster,
    log: deps.log,
    dialTimeoutSeconds: config.routing.dialTimeoutSeconds,
    dialAttempts: config.routing.dialAttempts,
    serviceLevelSeconds: config.stats.serviceLevelSeconds,
    now,
  });
  // An agent who just became free is offered the longest-waiting caller at once (within 2 s,
  // docs/interface.md §7); the tick catches any agent this misses.
  center.onFreed = (agentId) => {
    queue.dispatch(agentId).catch((err) => deps.log.warn({ err, agent: agentId }, 'queue dispatch failed'));
  };
  return { center, queue };
}

/**
 * Runs `center.tick()` every `everyMs` on this replica (every replica runs it; the compare-and-set
 * makes each step happen once). Returns the stop function, which waits for a running tick.
 */
export function startCallCenterTick(
  { center, queue }: { center: CallCenter; queue: QueueFlow },
  redis: Redis | null,
  log: Logger,
  everyMs: number,
): () => Promise<void> {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    // Redis not connected: nothing can be decided; the outage is already logged once.
    if (running || (redis && redis.status !== 'ready')) return;
    running = center
      .tick()
      .then(() => queue.tick())
      .catch((err) => log.warn({ err }, 'call-center tick failed; retrying'))
      .finally(() => {
        running = undefined;
      });
  }, everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
