/**
 * The two moments where queues and agents meet (docs/interface.md §5 and §7), as the call flow
 * will call them:
 * - an inbound call arrives: `offerableAgents` says who may be rung now (the routing strategy then
 *   picks among them), and each ring is committed with `transitionAgent(... 'offer' ...)`;
 * - an agent becomes free (wrap-up over, break ended, phone registered): `offerNextCaller` claims
 *   the longest-waiting caller of the agent's queues and marks the agent offered, or neither.
 * `endDueWrapUps` is the periodic tick that frees agents whose wrap-up deadline has come.
 *
 * Nothing here talks to Telnyx or logs: the results say what was committed (and which events to
 * log), and the flow redirects the call and appends the events.
 */

import {
  type AgentRecord,
  type AgentRules,
  type AgentTransition,
  isOfferable,
  SYSTEM,
} from '../agents/agent-state.js';
import { type AgentStateStore, transitionAgent } from '../agents/agent-state-store.js';
import type { QueueEntry } from './queue-entry.js';
import type { QueueStore } from './queue-store.js';

/**
 * The agents among `agentIds` that may be offered a call now (available, idle, registered),
 * longest idle first (the order `longest-idle` routing wants; ties by id). One store read.
 */
export async function offerableAgents(
  store: AgentStateStore,
  agentIds: readonly string[],
  registered: (agentId: string) => boolean,
): Promise<AgentRecord[]> {
  const records = await store.getMany(agentIds);
  return [...records.values()]
    .filter((r) => isOfferable(r, registered(r.agentId)))
    .sort((a, b) => a.stateAt - b.stateAt || (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
}

export interface OfferNextCallerRequest {
  agentId: string;
  /** The queues this agent serves. */
  queues: readonly string[];
  /** The agent's phone is registered now. */
  registered: boolean;
  now: number;
  /** This agent's rules (wrap-up seconds, max no-answer): not used by an offer, passed through. */
  rules?: Omit<AgentRules, 'now'>;
}

export interface OfferedCaller {
  /** The caller now offered to the agent (their entry, with `offeredTo`). */
  entry: QueueEntry;
  /** The agent's committed `offer` transition. */
  agent: AgentTransition;
}

/**
 * Claims the longest-waiting caller of the agent's queues (a caller held for this agent by sticky
 * routing first; callers held for another agent are passed over, docs/interface.md §5.1) and
 * commits the offer on the agent, so
 * both sides agree: the caller is offered to this agent only, and the agent has this one offer.
 * If the agent cannot take it after all (another replica offered them a call a moment earlier,
 * a break was just set), the caller is released at the same place and nothing is offered. A
 * concurrent dispatch for the same agent gets nothing: the store lets one claim per agent be
 * pending at a time (`QueueStore.claimNext`).
 * Undefined when the agent is not offerable or nobody waits. The flow then redirects the
 * caller's call to ring the agent, and logs `offer` (or `callback-attempt` for a callback entry).
 */
export async function offerNextCaller(
  agents: AgentStateStore,
  queues: QueueStore,
  request: OfferNextCallerRequest,
): Promise<OfferedCaller | undefined> {
  const { agentId, now } = request;
  // Cheap check first, so an agent who is busy does not claim (and release) a caller for nothing.
  if (!isOfferable(await agents.get(agentId), request.registered)) return undefined;
  // The claim also keeps any other dispatch for this agent from claiming until it is settled
  // below, so the caller who commits the agent is always the one claimed first.
  const entry = await queues.claimNext(request.queues, agentId, now);
  if (!entry) return undefined;
  try {
    const agent = await transitionAgent(
      agents,
      agentId,
      { type: 'offer', callSid: entry.callSid, queue: entry.queue, registered: request.registered },
      { ...request.rules, now },
    );
    if (agent.outcome !== 'applied') {
      await queues.release(entry.callSid, agentId);
      return undefined;
    }
    return { entry, agent };
  } finally {
    // Left unsettled (Redis failing now), the claim lapses after `claimGuardSeconds`.
    await queues.settleClaim(agentId, entry.callSid).catch(() => undefined);
  }
}

/**
 * Ends every wrap-up whose deadline has come (the periodic tick; any replica may run it, the
 * compare-and-set makes each end happen once). Returns the transitions this call committed: log
 * their events, then try `offerNextCaller` for each freed agent.
 */
export async function endDueWrapUps(
  store: AgentStateStore,
  now: number,
  rulesFor: (agentId: string) => Omit<AgentRules, 'now'> = () => ({}),
  limit = 100,
): Promise<AgentTransition[]> {
  const out: AgentTransition[] = [];
  for (const agentId of await store.dueWrapUps(now, limit)) {
    const t = await transitionAgent(
      store,
      agentId,
      { type: 'wrap-up-ended', by: SYSTEM },
      { ...rulesFor(agentId), now },
    );
    if (t.outcome === 'applied') out.push(t);
  }
  return out;
}
