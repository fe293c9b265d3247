import type { Agent, Roster } from '../agents/agent.js';
import {
  builtInCallCenter,
  type CallCenterConfig,
  type QueueConfig,
} from '../call-center/call-center-file.js';
import { type CallCenterConfigSource, staticCallCenterSource } from '../call-center/call-center-source.js';
import { type QueueMembership, resolveQueueMembership } from '../call-center/queue-agents.js';
import type { RoutingStrategy } from '../config.js';
import { DEFAULT_QUEUE_SETTINGS, type QueueSettings } from './queue-settings.js';

/**
 * The queues as the call flow and the queue flow see them (docs/interface.md §7, §9): the names,
 * agents and settings of the call-center file in force, resolved against the current roster.
 * Without a file: one queue, `support`, of every agent, with the defaults.
 *
 * Nothing here does I/O: the file source and the roster keep their current version in memory.
 * The resolution is cached until either changes (a reload makes a new config object, a roster
 * change a new snapshot), so asking per call costs a map lookup.
 */
export class QueueDirectory {
  private readonly source: CallCenterConfigSource;
  private readonly roster: Roster;
  private readonly overrides: Partial<QueueSettings>;
  private cache?: {
    config: CallCenterConfig;
    agents: readonly Agent[];
    membership: QueueMembership;
    byQueue: Map<string, Agent[]>;
  };

  constructor(options: {
    roster: Roster;
    /** The call-center file; default: the built-in single `support` queue. */
    source?: CallCenterConfigSource;
    /** Overrides of every queue's settings (tests: short announce and callback times). */
    overrides?: Partial<QueueSettings>;
  }) {
    this.roster = options.roster;
    this.source = options.source ?? staticCallCenterSource(builtInCallCenter());
    this.overrides = options.overrides ?? {};
  }

  /** The call-center file in force. */
  config(): CallCenterConfig {
    return this.source.current();
  }

  /** Queue names in file order. */
  names(): string[] {
    return [...this.config().queues.keys()];
  }

  /** Where a caller goes without a menu choice. */
  defaultQueue(): string {
    return this.config().defaultQueue;
  }

  has(queue: string): boolean {
    return this.config().queues.has(queue);
  }

  queue(queue: string): QueueConfig | undefined {
    return this.config().queues.get(queue);
  }

  /** Which agents serve which queues, for the current file and roster. */
  membership(): QueueMembership {
    return this.resolved().membership;
  }

  /** The roster agents of `queue`, in roster order; empty for a queue the file does not have. */
  agentsOf(queue: string): readonly Agent[] {
    return this.resolved().byQueue.get(queue) ?? [];
  }

  /** The queues `agentId` serves, in file order. */
  queuesOf(agentId: string): string[] {
    return [...(this.resolved().membership.byAgent.get(agentId) ?? [])];
  }

  /** The routing strategy of `queue`; undefined: ROUTING_STRATEGY. */
  strategy(queue: string): RoutingStrategy | undefined {
    return this.queue(queue)?.strategy;
  }

  /** This queue's after-call work time; undefined: WRAP_UP_SECONDS (or the agent's own). */
  wrapUpSeconds(queue: string | undefined): number | undefined {
    return queue === undefined ? undefined : this.queue(queue)?.wrapUpSeconds;
  }

  /** The limits and timings of `queue` (the defaults for a queue the file does not have). */
  settings(queue: string): QueueSettings {
    const q = this.queue(queue);
    const fromFile: Partial<QueueSettings> = q
      ? {
          announceSeconds: q.announceSeconds,
          callbackAfterSeconds: q.callbackAfterSeconds,
          callbackAttempts: q.callbackAttempts,
          callbackRetrySeconds: q.callbackRetrySeconds,
          maxWaitSeconds: q.maxWaitSeconds,
          maxWaiting: q.maxWaiting,
          holdMusic: q.holdMusic,
          callbacks: q.callbacks,
        }
      : {};
    return { ...DEFAULT_QUEUE_SETTINGS, ...fromFile, ...this.overrides };
  }

  private resolved(): NonNullable<QueueDirectory['cache']> {
    const config = this.config();
    const agents = this.roster.current().agents;
    const c = this.cache;
    if (c && c.config === config && c.agents === agents) return c;
    const membership = resolveQueueMembership(config, agents);
    const byId = new Map(agents.map((a) => [a.id, a]));
    const byQueue = new Map<string, Agent[]>();
    for (const [queue, ids] of membership.byQueue) {
      byQueue.set(
        queue,
        ids.map((id) => byId.get(id)).filter((a): a is Agent => a !== undefined),
      );
    }
    this.cache = { config, agents, membership, byQueue };
    return this.cache;
  }
}
