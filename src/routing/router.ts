import type { Logger } from 'pino';
import type { Config, RoutingStrategy } from '../config.js';
import { withTimeout } from '../with-timeout.js';
import { type RoutingAgent, type RoutingDecision, routeCall } from './route-call.js';
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
   * With a `version` and `changedSince` (a live set, `CallCenter.liveOfferable`), only the agents
   * changed since the last decision are re-derived. A promise of it is read alongside the
   * routing store, so neither waits for the other.
   */
  offerable?: Offerable | PromiseLike<Offerable | undefined>;
  /**
   * With `offerable`: the agents busy with a call (offered, on it, or in wrap-up) while available
   * and registered. A preferred agent among them makes the decision `preferred-busy` (the caller
   * waits in the queue for them, docs/interface.md §5.1). Undefined: never wait for anyone.
   */
  engaged?: ReadonlySet<string> | PromiseLike<ReadonlySet<string> | undefined>;
  /** The call's queue has its own strategy (docs/interface.md §9); default ROUTING_STRATEGY. */
  strategy?: RoutingStrategy;
  /**
   * Agents that this process's other decisions are offering right now (offers not committed
   * yet): counted as busy (and as engaged, when `engaged` is given), so callers arriving together
   * do not all pick the same agent, lose its offer to one of them, and end up in the queue while
   * other agents are free. Agent id → decisions holding it: each of this decision's targets is
   * counted in the same synchronous step the decision is made in (no other decision can pick them
   * in between); the caller releases them (`release`) once their offers settled.
   */
  reserved?: Map<string, number>;
}

/** Who may be offered a call now (see `RouteRequest.offerable`). */
export type Offerable = ReadonlySet<string> & {
  version?: string;
  changedSince?: (version: string) => readonly string[] | null;
};

export type RoutedAgent<A extends RosterAgent> = A & {
  idleSince: number | undefined;
  busy: boolean;
  engaged?: boolean;
};

/** Counts a decision's hold on its targets (`RouteRequest.reserved`). */
function hold(reserved: Map<string, number> | undefined, targets: readonly { id: string }[]): void {
  if (reserved) for (const { id } of targets) reserved.set(id, (reserved.get(id) ?? 0) + 1);
}

/** Gives back a decision's hold on its targets (`RouteRequest.reserved`). */
export function release(reserved: Map<string, number>, targets: readonly { id: string }[]): void {
  for (const { id } of targets) {
    const n = (reserved.get(id) ?? 0) - 1;
    if (n > 0) reserved.set(id, n);
    else reserved.delete(id);
  }
}

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
 * as unknown (no sticky agent, everyone idle forever and free, nobody answered a call today) and
 * round-robin falls back to a counter local to this replica, because the caller's TeXML reply depends on the answer.
 */
export function createRouter(options: RouterOptions): Router {
  const { store, settings, logger } = options;
  const rng = options.rng ?? Math.random;
  const loadTimeoutMs = options.loadTimeoutMs ?? 500;
  let localRotation = 0;
  // The roster with presence of the last decision, kept while the roster snapshot, the store's
  // presence objects and the offerable set stay the same: the next decision rebuilds only the
  // agents whose idle time, busy flag or offerability changed since (O(changed), not O(roster):
  // 1,000 agents cost ~0.2 ms to rebuild). Entries are replaced, never changed, so the targets of
  // an earlier decision stay as they were.
  let last:
    | {
        agents: readonly RosterAgent[];
        idle: RoutingState['idle'];
        busy: RoutingState['busy'];
        offerable: Offerable | undefined;
        version: string;
        offerableVersion: string | undefined;
        routed: RoutedAgent<RosterAgent>[];
        index: Map<string, number>;
      }
    | undefined;

  function rosterWithPresence<A extends RosterAgent>(
    agents: readonly A[],
    state: RoutingState,
    offerable: Offerable | undefined,
  ): RoutedAgent<A>[] {
    // With the offerable set, it decides who is free (docs/interface.md §5); else the busy flags.
    const one = (agent: A): RoutedAgent<A> =>
      Object.assign({}, agent, {
        idleSince: Object.hasOwn(state.idle, agent.id) ? state.idle[agent.id] : undefined,
        busy: offerable ? !offerable.has(agent.id) : state.busy.has(agent.id),
      });
    const p = state.presence;
    const offerableVersion = offerable?.version;
    const cacheable =
      p !== undefined && (!offerable || (offerableVersion !== undefined && offerable.changedSince));
    if (!cacheable) return agents.map(one);
    if (
      last &&
      last.agents === agents &&
      last.idle === state.idle &&
      last.busy === state.busy &&
      last.offerable === offerable
    ) {
      const presenceChanged = last.version === p.version ? [] : p.changedSince(last.version);
      const offerableChanged =
        !offerable || last.offerableVersion === offerableVersion
          ? []
          : (offerable.changedSince?.(last.offerableVersion as string) ?? null);
      if (presenceChanged && offerableChanged) {
        const changed = offerableChanged.length ? [...presenceChanged, ...offerableChanged] : presenceChanged;
        // Copy-on-write: an earlier decision may still hold the previous array.
        const routed = changed.length ? last.routed.slice() : last.routed;
        for (const id of changed) {
          const i = last.index.get(id);
          if (i !== undefined) routed[i] = one(agents[i] as A);
        }
        last = { ...last, version: p.version, offerableVersion, routed };
        return routed as RoutedAgent<A>[];
      }
    }
    const routed = agents.map(one);
    const index = new Map<string, number>();
    for (const [i, a] of agents.entries()) index.set(a.id, i);
    last = {
      agents,
      idle: state.idle,
      busy: state.busy,
      offerable,
      version: p.version,
      offerableVersion,
      routed: routed as RoutedAgent<RosterAgent>[],
      index,
    };
    return routed;
  }

  async function loadOrNothing(caller: string | undefined, strategy: RoutingStrategy): Promise<RoutingState> {
    const withRotation = strategy === 'round-robin';
    const withAnsweredToday = strategy === 'fewest-calls';
    try {
      return await withTimeout(
        store.load(caller, { withRotation, withAnsweredToday }),
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
      const [state, offerable, engagedNow] = await Promise.all([
        loadOrNothing(request.caller, strategy),
        Promise.resolve(request.offerable).catch((err: unknown) => {
          logger.warn({ err }, 'offerable agents unknown: routing on the busy flags');
          return undefined;
        }),
        Promise.resolve(request.engaged).catch(() => undefined),
      ]);
      const routed = rosterWithPresence(request.agents, state, offerable);
      // Engaged and reserved agents (§5.1, `reserved`) are marked on copies: the cached entries
      // are shared between decisions.
      const engaged = offerable ? engagedNow : undefined;
      const reserved = request.reserved;
      const agents =
        engaged?.size || reserved?.size
          ? routed.map((a) => {
              const isEngaged = engaged?.has(a.id) || (engaged !== undefined && reserved?.has(a.id));
              if (reserved?.has(a.id)) return { ...a, busy: true, ...(isEngaged ? { engaged: true } : {}) };
              return isEngaged ? { ...a, engaged: true } : a;
            })
          : routed;
      try {
        const decision = routeCall({
          caller: request.caller,
          history: state.history,
          agents,
          strategy,
          round: request.round,
          alreadyRung: request.alreadyRung,
          rotation: state.rotation ?? ++localRotation,
          ...(state.answeredToday ? { answeredToday: state.answeredToday } : {}),
          sticky: settings.sticky,
          threshold: settings.stickyThreshold,
          maxTargets: settings.maxTargets,
          rng,
        });
        hold(reserved, decision.targets);
        return decision;
      } catch (err) {
        // Only a bug (or a throwing rng) gets here; ringing everyone beats dropping the caller.
        logger.error({ err }, 'routing failed: ringing all online agents');
        const online = agents.filter((a) => a.online).slice(0, Math.max(1, settings.maxTargets));
        hold(reserved, online);
        return { targets: online, reason: online.length ? 'strategy' : 'no-agent-online' };
      }
    },
  };
}
