import type { RoutingStrategy } from '../config.js';

/**
 * Which agents ring in one round of one call (docs/interface.md §5). Everything here is a pure function
 * of its input: the history, idle times, busy flags and the round-robin counter are read by the
 * caller (see `routing-store.ts`), and the RNG is injected, so a decision can be replayed exactly.
 */

/** An agent as routing sees it: roster fields plus presence from the routing store. */
export interface RoutingAgent {
  id: string;
  name: string;
  sip: string;
  online: boolean;
  /** ms epoch at which the agent's last leg ended; undefined = never rung, idle forever. */
  idleSince?: number;
  /** On a call right now (a leg answered and not yet ended), or otherwise not offerable now. */
  busy?: boolean;
  /**
   * Busy with a call (offered, on it, or in wrap-up) while available and registered: free again
   * soon. Only then does sticky routing hold the caller in the queue for this agent (§5.1).
   */
  engaged?: boolean;
}

export interface RoutingInput<A extends RoutingAgent = RoutingAgent> {
  /** The caller's number as Telnyx sent it (`From`); withheld or missing numbers never use history. */
  caller: string | undefined;
  /** agentId → this caller's answered calls, every agent the caller has talked to (online or not). */
  history: Readonly<Record<string, number>>;
  /** The roster with presence; ids are assumed unique (the roster guarantees it). */
  agents: readonly A[];
  strategy: RoutingStrategy;
  /** 1-based ring round of this call. */
  round: number;
  /** Agent ids already rung earlier in this call. */
  alreadyRung: readonly string[];
  /** Value of the shared round-robin counter for this decision (any integer; only used by round-robin). */
  rotation: number;
  /**
   * agentId → inbound calls the agent answered today (only used by fewest-calls); an agent not in
   * it answered none. Undefined or empty when unknown: fewest-calls then orders as longest-idle.
   */
  answeredToday?: Readonly<Record<string, number>>;
  /** `STICKY_ROUTING` */
  sticky: boolean;
  /** `STICKY_THRESHOLD`: the preferred agent holds strictly more than this share of the answered calls. */
  threshold: number;
  /** `DIAL_MAX_TARGETS`: most agents one ring-all round rings. */
  maxTargets: number;
  /** Uniform in [0, 1); only used by the random strategy. */
  rng: () => number;
}

/**
 * `targets` empty means nobody rings now: nobody is online (`no-agent-online`), everyone online
 * is on a call right now (`all-agents-busy`), or the caller's preferred agent is engaged and the
 * caller should wait in the queue for them (`preferred-busy`, with `preferred`). The call flow then
 * queues the caller, or sends them to voicemail when there is no queue.
 */
export type RoutingReason = 'sticky' | 'strategy' | 'no-agent-online' | 'all-agents-busy' | 'preferred-busy';

export interface RoutingDecision<A extends RoutingAgent = RoutingAgent> {
  targets: A[];
  reason: RoutingReason;
  /** With `preferred-busy`: the agent the caller is held for (docs/interface.md §5.1). */
  preferred?: A;
}

/** What carriers and Telnyx put in `From` when the number is hidden (compared case-insensitively). */
const WITHHELD = new Set(['', 'anonymous', 'restricted', 'private', 'unknown']);

/**
 * True when the caller's number is hidden: missing, empty, `anonymous`, `restricted`, `private` or
 * `unknown` in any letter case, also as the user part of a SIP URI (`sip:anonymous@anonymous.invalid`,
 * RFC 3261 §8.1.1.3). Such callers share one "number", so history must neither be read nor written.
 */
export function isWithheld(caller: string | null | undefined): boolean {
  if (caller == null) return true;
  let value = caller.trim().toLowerCase();
  if (value.startsWith('sip:') || value.startsWith('sips:')) {
    const at = value.indexOf('@');
    value = value.slice(value.indexOf(':') + 1, at === -1 ? undefined : at);
  }
  return WITHHELD.has(value);
}

/**
 * The agent holding strictly more than `threshold` of the caller's answered calls, all agents
 * counted (offline and removed ones too); undefined when there is none or the top count is tied.
 * One pass over the history.
 */
export function preferredAgent(
  history: Readonly<Record<string, number>>,
  threshold: number,
): string | undefined {
  let total = 0;
  let best: string | undefined;
  let bestCount = 0;
  let tied = false;
  for (const id of Object.keys(history)) {
    const count = history[id]!;
    if (!(count > 0) || !Number.isFinite(count)) continue;
    total += count;
    if (count > bestCount) {
      best = id;
      bestCount = count;
      tied = false;
    } else if (count === bestCount) {
      tied = true;
    }
  }
  if (best === undefined || tied) return undefined;
  // Divide rather than multiply: count/total and a decimal threshold are both correctly rounded,
  // so an exact share (3 of 5 against 0.6) compares equal and is not sticky.
  return bestCount / total > threshold ? best : undefined;
}

/**
 * Picks the agents to ring in this round.
 *
 * 1. Nobody online → `no-agent-online`; everyone online busy → `all-agents-busy` (both: voicemail).
 *    Busy agents are skipped by every strategy, ring-all included, as FreeSWITCH mod_callcenter
 *    does: ringing a phone that is already on a call only shows a call-waiting beep.
 * 2. Round 1, sticky on, caller not withheld: the preferred agent alone, if online and free
 *    (the call flow rings this round for `STICKY_RING_SECONDS`). If the preferred agent is
 *    `engaged` (busy with a call but available), no target and `preferred-busy`: the caller waits
 *    in the queue, held for that agent for `STICKY_RING_SECONDS` (docs/interface.md §5.1).
 * 3. Otherwise the strategy, over free agents not yet rung in this call; once every free agent
 *    has been rung, over all free agents again.
 *
 * O(n log n) in agents (ring-all and round-robin sort), O(h) in history entries.
 *
 * `fewest-calls` rings the free agent with the fewest answered calls today (`answeredToday`), ties
 * by longest idle, then name: FreeSWITCH mod_callcenter's `agent-with-fewest-calls`, counted per day.
 */
export function routeCall<A extends RoutingAgent>(input: RoutingInput<A>): RoutingDecision<A> {
  let anyOnline = false;
  const free: A[] = [];
  for (const agent of input.agents) {
    if (!agent.online) continue;
    anyOnline = true;
    if (!agent.busy) free.push(agent);
  }
  if (!anyOnline) return { targets: [], reason: 'no-agent-online' };

  const rung = new Set(input.alreadyRung);
  if (input.sticky && input.round === 1 && !isWithheld(input.caller)) {
    const id = preferredAgent(input.history, input.threshold);
    if (id !== undefined && !rung.has(id)) {
      const agent = input.agents.find((a) => a.id === id);
      if (agent?.online && !agent.busy) return { targets: [agent], reason: 'sticky' };
      if (agent?.online && agent.engaged) return { targets: [], reason: 'preferred-busy', preferred: agent };
    }
  }
  if (free.length === 0) return { targets: [], reason: 'all-agents-busy' };

  const untried = rung.size === 0 ? free : free.filter((a) => !rung.has(a.id));
  const pool = untried.length > 0 ? untried : free;

  switch (input.strategy) {
    case 'round-robin':
      return { targets: [nextInRotation(free, rung, input.rotation)], reason: 'strategy' };
    case 'longest-idle':
      return { targets: [longestIdle(pool)], reason: 'strategy' };
    case 'fewest-calls':
      return { targets: [fewestCalls(pool, input.answeredToday ?? {})], reason: 'strategy' };
    case 'random': {
      const index = Math.min(pool.length - 1, Math.max(0, Math.floor(input.rng() * pool.length)));
      return { targets: [pool[index]!], reason: 'strategy' };
    }
    default: {
      // ring-all, and any unknown name (FreeSWITCH also falls back rather than failing).
      const cap = Number.isFinite(input.maxTargets) ? Math.max(1, Math.floor(input.maxTargets)) : pool.length;
      const ordered = pool.length > 1 ? [...pool].sort(byIdleThenName) : pool;
      return { targets: ordered.slice(0, cap), reason: 'strategy' };
    }
  }
}

/** Adds the store's idle times and busy flags to roster agents, for `routeCall`. O(n). */
export function withPresence<A extends Omit<RoutingAgent, 'idleSince' | 'busy'>>(
  agents: readonly A[],
  presence: { idle: Readonly<Record<string, number>>; busy: ReadonlySet<string> },
): (A & { idleSince: number | undefined; busy: boolean })[] {
  // Object.assign, not spread: spreading an object with extra properties measured 10× slower on
  // Node 20 (bench/RESULTS-routing.md), and this runs for every agent on every decision.
  return agents.map((agent) =>
    Object.assign({}, agent, {
      idleSince: Object.hasOwn(presence.idle, agent.id) ? presence.idle[agent.id] : undefined,
      busy: presence.busy.has(agent.id),
    }),
  );
}

/** Never-rung agents first (idle forever), then the oldest leg end; ties by name, then id. */
function byIdleThenName(a: RoutingAgent, b: RoutingAgent): number {
  const ia = a.idleSince ?? Number.NEGATIVE_INFINITY;
  const ib = b.idleSince ?? Number.NEGATIVE_INFINITY;
  if (ia !== ib) return ia < ib ? -1 : 1;
  return byName(a, b);
}

/** Code-unit order, not `localeCompare`: the same on every replica whatever its ICU data. */
function byName(a: RoutingAgent, b: RoutingAgent): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return 0;
}

function longestIdle<A extends RoutingAgent>(pool: readonly A[]): A {
  let best = pool[0]!;
  for (let i = 1; i < pool.length; i++) {
    if (byIdleThenName(pool[i]!, best) < 0) best = pool[i]!;
  }
  return best;
}

/** The agent with the fewest answered calls today; ties by longest idle, then name (one pass). */
function fewestCalls<A extends RoutingAgent>(
  pool: readonly A[],
  answered: Readonly<Record<string, number>>,
): A {
  const countOf = (a: A) => {
    const n = Object.hasOwn(answered, a.id) ? answered[a.id]! : 0;
    return Number.isFinite(n) ? n : 0;
  };
  let best = pool[0]!;
  let bestCount = countOf(best);
  for (let i = 1; i < pool.length; i++) {
    const agent = pool[i]!;
    const count = countOf(agent);
    if (count < bestCount || (count === bestCount && byIdleThenName(agent, best) < 0)) {
      best = agent;
      bestCount = count;
    }
  }
  return best;
}

/**
 * Free agents in name order form the ring; start at `rotation mod n` and take the first one not
 * yet rung in this call (or the start itself once all have been rung). Every replica sees the
 * same ring for the same roster, so the shared counter spreads calls evenly across replicas.
 */
function nextInRotation<A extends RoutingAgent>(
  free: readonly A[],
  rung: ReadonlySet<string>,
  rotation: number,
): A {
  const ring = [...free].sort(byName);
  const n = ring.length;
  const start = ((Math.trunc(rotation) % n) + n) % n || 0;
  for (let i = 0; i < n; i++) {
    const agent = ring[(start + i) % n]!;
    if (!rung.has(agent.id)) return agent;
  }
  return ring[start]!;
}
