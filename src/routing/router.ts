import type { Logger } from 'pino';
import type { Config, RoutingStrategy } from '../config.js';
import { withTimeout } from '../with-timeout.js';
import { type RoutingAgent, type RoutingDecision, routeCall, withPresence } from './route-call.js';
import type { RoutingState, RoutingStore } from './routing-store.js';

/** A roster agent before presence is added (an `Agent` from `src/agents/agent.ts` fits). */
export type RosterAgent = Omit<RoutingAgent, 'idleSince' | 'busy'>;

export interface RouteRequest<A extends RosterAgent> {
  /** `From` of the caller's call. */
  caller: string | undefined;
  /** The current roster snapshot's agents. */
  agents: readonly A[];
  /** 1-based ring round. */
  round: number;
  /** Agent ids rung in earlier rounds of this call. */
  alreadyRung: readonly string[];
  /**
   * The agents that may be offered the call now (available, idle and registered, from the agent
   * state store: docs/interface.md §5). When given, it replaces the routing store's busy flags:
   * every other agent counts as busy. Undefined (the state store is down): the busy flags decide.
   */
  offerable?: ReadonlySet<string>;
  /**
   * With `offerable`: the agents busy with a call (offered, on it, or in wrap-up) while available
   * and registered. A preferred agent among them makes the decision `preferred-busy` (the caller
   * waits in the queue for them, docs/interface.md §5.1). Undefined: never wait for anyone.
   */
  engaged?: ReadonlySet<string>;
  /** The call's queue has its own strategy (docs/interface.md §9); default ROUTING_STRATEGY. */
  strategy?: RoutingStrategy;
}

export type RoutedAgent<A extends RosterAgent> = A & {
  idleSince: number | undefined;
  busy: boolean;
  engaged?: boolean;
};

export interface Router {
  /** Never rejects: without routing state it routes by the strategy alone. */
  route<A extends RosterAgent>(request: RouteRequest<A>): Promise<RoutingDecision<RoutedAgent<A>>>;
}

export interface RouterOptions {
  store: RoutingStore;
  settings: Pick<Config['routing'], 'strategy' | 'sticky' | 'stickyThreshold' | 'maxTargets'>;
  logger: Logger;
  /** Default `Math.random`. */
  rng?: () => number;
  /**
   * How long the TeXML reply may wait for the store before routing without it. Default 500 ms:
   * Telnyx waits a few seconds for a TeXML document, and the caller hears silence meanwhile.
   */
  loadTimeoutMs?: number;
}

/**
 * The edge between the store and the pure `routeCall`: one store round trip per decision, then
 * the decision. When the store fails or is slow, history, idle times and busy flags are treated
 * as unknown (no sticky agent, everyone idle forever and free) and round-robin falls back to a
 * counter local to this replica, because the caller's TeXML reply depends on the answer.
 */
export function createRouter(options: RouterOptions): Router {
  const { store, settings, logger } = options;
  const rng = options.rng ?? Math.random;
  const loadTimeoutMs = options.loadTimeoutMs ?? 500;
  let localRotation = 0;
  // The roster with presence of the last decision, kept while the roster snapshot and the store's
  // presence objects stay the same: the next decision rebuilds only the agents whose idle time or
  // busy flag changed since (O(changed), not O(roster): 1,000 agents cost ~0.2 ms to rebuild).
  // Entries are replaced, never changed, so the targets of an earlier decision stay as they were.
  let last:
    | {
        agents: readonly RosterAgent[];
        idle: RoutingState['idle'];
        busy: RoutingState['busy'];
        version: string;
        routed: RoutedAgent<RosterAgent>[];
        index: Map<string, number>;
      }
    | undefined;

  function rosterWithPresence<A extends RosterAgent>(
    agents: readonly A[],
    state: RoutingState,
  ): RoutedAgent<A>[] {
    const p = state.presence;
    if (!p) return withPresence(agents, state);
    if (last && last.agents === agents && last.idle === state.idle && last.busy === state.busy) {
      const changed = last.version === p.version ? [] : p.changedSince(last.version);
      if (changed) {
        // Copy-on-write: an earlier decision may still hold the previous array.
        const routed = changed.length ? last.routed.slice() : last.routed;
        for (const id of changed) {
          const i = last.index.get(id);
          if (i !== undefined) routed[i] = withPresence([agents[i]!], state)[0]!;
        }
        last = { ...last, version: p.version, routed };
        return routed as RoutedAgent<A>[];
      }
    }
    const routed = withPresence(agents, state);
    const index = new Map<string, number>();
    for (const [i, a] of agents.entries()) index.set(a.id, i);
    last = { agents, idle: state.idle, busy: state.busy, version: p.version, routed, index };
    return routed;
  }

  async function loadOrNothing(caller: string | undefined, strategy: RoutingStrategy): Promise<RoutingState> {
    const withRotation = strategy === 'round-robin';
    try {
      return await withTimeout(
        store.load(caller, { withRotation }),
        loadTimeoutMs,
        `routing store did not answer in ${loadTimeoutMs} ms`,
      );
    } catch (err) {
      logger.warn({ err }, 'routing state unavailable: routing by strategy alone');
      return { history: {}, idle: {}, busy: new Set() };
    }
  }

  return {
    async route<A extends RosterAgent>(request: RouteRequest<A>): Promise<RoutingDecision<RoutedAgent<A>>> {
      const strategy = request.strategy ?? settings.strategy;
      const state = await loadOrNothing(request.caller, strategy);
      const offerable = request.offerable;
      // With the agent state store (docs/interface.md §5) the offerable set decides who is free;
      // without it, the routing store's presence (cached and read as a delta).
      const engaged = request.engaged;
      const agents: RoutedAgent<A>[] = offerable
        ? withPresence(request.agents, {
            idle: state.idle,
            busy: new Set(request.agents.filter((a) => !offerable.has(a.id)).map((a) => a.id)),
          }).map((a) => (engaged?.has(a.id) ? Object.assign(a, { engaged: true }) : a))
        : rosterWithPresence(request.agents, state);
      try {
        return routeCall({
          caller: request.caller,
          history: state.history,
          agents,
          strategy,
          round: request.round,
          alreadyRung: request.alreadyRung,
          rotation: state.rotation ?? ++localRotation,
          sticky: settings.sticky,
          threshold: settings.stickyThreshold,
          maxTargets: settings.maxTargets,
          rng,
        });
      } catch (err) {
        // Only a bug (or a throwing rng) gets here; ringing everyone beats dropping the caller.
        logger.error({ err }, 'routing failed: ringing all online agents');
        const online = agents.filter((a) => a.online).slice(0, Math.max(1, settings.maxTargets));
        return { targets: online, reason: online.length ? 'strategy' : 'no-agent-online' };
      }
    },
  };
}
