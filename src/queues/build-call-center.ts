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

export interface CallCenterDeps {
  config: Config;
  redis: Redis | null;
  roster: Roster;
  notifier: Notifier;
  log: Logger;
  now: () => number;
}

/**
 * The call center's stores (shared through Redis when configured, else in this process) and the
 * `CallCenter` over them: one place, so app.ts wires it with one call.
 */
export function buildCallCenter(deps: CallCenterDeps): CallCenter {
  const { config, redis, now } = deps;
  const agentStates: AgentStateStore = redis ? new RedisAgentStateStore(redis) : new MemoryAgentStateStore();
  const events: EventLog = redis ? new RedisEventLog(redis, { now }) : new MemoryEventLog({ now });
  return new CallCenter({
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
}

/**
 * Runs `center.tick()` every `everyMs` on this replica (every replica runs it; the compare-and-set
 * makes each step happen once). Returns the stop function, which waits for a running tick.
 */
export function startCallCenterTick(
  center: CallCenter,
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
