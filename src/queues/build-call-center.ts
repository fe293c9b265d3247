import type { Logger } from 'pino';
import type { Roster } from '../agents/agent.js';
import type { AgentStateStore } from '../agents/agent-state-store.js';
import type { Notifier } from '../alerts/alert.js';
import type { CallCenterConfigSource } from '../call-center/call-center-source.js';
import type { Config } from '../config.js';
import type { EventLog } from '../events/event-log.js';
import { intervalService, type Service } from '../service.js';
import { CallCenter } from './call-center.js';
import type { OfferDelivery } from './offer-delivery.js';
import { QueueDirectory } from './queue-directory.js';
import { type HoursCheck, QueueFlow } from './queue-flow.js';
import type { QueueSettings } from './queue-settings.js';
import type { QueueStore } from './queue-store.js';

export interface CallCenterDeps {
  config: Config;
  /** From the stores factory (src/stores.ts): Redis when configured, else this process. */
  stores: { agentStates: AgentStateStore; events: EventLog; queues: QueueStore };
  roster: Roster;
  notifier: Notifier;
  log: Logger;
  now: () => number;
  /** Overrides of the queue defaults (tests: short announce and callback times). */
  queueSettings?: Partial<QueueSettings>;
  /** The call-center file (docs/interface.md §9); default: one `support` queue of every agent. */
  callCenter?: CallCenterConfigSource;
  /** Opening hours, for callers whose queue closes while they wait. */
  hours?: HoursCheck;
  /** Moves an offered caller at once through Telnyx's call-update API (src/queues/offer-delivery.ts). */
  offerDelivery?: OfferDelivery;
}

/**
 * The call center's stores (shared through Redis when configured, else in this process) and the
 * `CallCenter` over them: one place, so app.ts wires it with one call.
 */
export function buildCallCenter(deps: CallCenterDeps): {
  center: CallCenter;
  queue: QueueFlow;
  directory: QueueDirectory;
} {
  const { config, now } = deps;
  const { agentStates, events } = deps.stores;
  const directory = new QueueDirectory({
    roster: deps.roster,
    source: deps.callCenter,
    overrides: deps.queueSettings,
  });
  const center = new CallCenter({
    agents: agentStates,
    queueWrapUpSeconds: (queue) => directory.wrapUpSeconds(queue),
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
    queues: deps.stores.queues,
    settings: (queue) => directory.settings(queue),
    directory,
    hours: deps.hours,
    notifier: deps.notifier,
    roster: deps.roster,
    log: deps.log,
    dialTimeoutSeconds: config.routing.dialTimeoutSeconds,
    dialAttempts: config.routing.dialAttempts,
    serviceLevelSeconds: config.stats.serviceLevelSeconds,
    stickyRingSeconds: config.routing.stickyRingSeconds,
    ...(deps.offerDelivery ? { delivery: deps.offerDelivery } : {}),
    now,
  });
  // An agent who just became free is offered the longest-waiting caller at once (within 2 s,
  // docs/interface.md §7); the tick catches any agent this misses.
  center.onFreed = (agentId) => {
    queue.dispatch(agentId).catch((err) => deps.log.warn({ err, agent: agentId }, 'queue dispatch failed'));
  };
  return { center, queue, directory };
}

/**
 * Runs `center.tick()` every `everyMs` on this replica (every replica runs it; the compare-and-set
 * makes each step happen once) while the store is connected; stopping waits for a running tick.
 */
export function callCenterTick(
  { center, queue }: { center: CallCenter; queue: QueueFlow },
  isReady: () => boolean,
  log: Logger,
  everyMs: number,
): Service {
  return intervalService({
    name: 'call-center tick',
    work: () => center.tick().then(() => queue.tick()),
    isReady,
    onError: (err) => log.warn({ err }, 'call-center tick failed; retrying'),
    everyMs,
  });
}
