/**
 * The call-center core as the call flow uses it (docs/interface.md §5 and §7): who may be offered
 * a call now, the offer / answer / ring-out / wrap-up life of each agent, and the event log and
 * Slack alerts each step owes. One object, built once in app.ts and handed to `CallFlow`, so the
 * flow never touches the stores directly.
 *
 * Every method is safe to call from any replica: agent transitions go through
 * `transitionAgent` (read, reduce, compare-and-set), so only the replica that committed a step
 * logs it and alerts about it. Failures of the event log or of Slack are logged and never thrown:
 * the caller's TeXML reply must not depend on them.
 */

import type { Logger } from 'pino';
import type { Agent, Roster } from '../agents/agent.js';
import {
  type AgentEvent,
  type AgentRecord,
  type AgentRules,
  type AgentTransition,
  isOfferable,
  SYSTEM,
} from '../agents/agent-state.js';
import { type AgentStateStore, type AgentStateView, transitionAgent } from '../agents/agent-state-store.js';
import {
  type AgentStatus,
  type AgentStatusService,
  type AgentStatusView,
  changerName,
  type StatusChanger,
} from '../agents/agent-status-service.js';
import type { Notifier } from '../alerts/alert.js';
import type { RoutingStrategy } from '../config.js';
import { Errors } from '../errors.js';
import type { CallCenterEvent } from '../events/call-center-event.js';
import type { EventLog } from '../events/event-log.js';
import { release } from '../routing/router.js';

export interface AgentStateSettings {
  /** WRAP_UP_SECONDS */
  wrapUpSeconds: number;
  /** AGENT_WRAP_UP_SECONDS: agent name or id → seconds. */
  wrapUpOverrides: Readonly<Record<string, number>>;
  /** MAX_NO_ANSWER */
  maxNoAnswer: number;
  /** DIAL_TIMEOUT_SECONDS: an offer with no news for much longer than this was lost. */
  dialTimeoutSeconds: number;
}

export interface CallCenterOptions {
  agents: AgentStateStore;
  /**
   * A queue's own after-call work time (the call-center file's `wrapUpSeconds`, docs/interface.md
   * §9); undefined: WRAP_UP_SECONDS. An agent's own AGENT_WRAP_UP_SECONDS entry wins over both.
   */
  queueWrapUpSeconds?: (queue: string | undefined) => number | undefined;
  events: EventLog;
  notifier: Notifier;
  roster: Roster;
  log: Logger;
  settings: AgentStateSettings;
  now?: () => number;
}

/** How a leg of an offered call ended, as the call state saw it. */
export interface LegEnd {
  /** The agent answered this leg (its end starts the wrap-up). */
  answered: boolean;
  /** Telnyx's final status of the leg. */
  status?: string;
  /** The call's queue: its `wrapUpSeconds` applies to the wrap-up. */
  queue?: string;
}

/** An offer with no answer, ring-out or cancel after this long was lost (a callback never came). */
const OFFER_GRACE_MS = 60_000;
/**
 * An agent on a call with no end for this long: its `completed` was lost. Telnyx ends a `<Dial>`
 * leg at `timeLimit`, 14 400 s by default
 * (https://developers.telnyx.com/docs/voice/programmable-voice/texml-verbs/dial).
 */
const ON_CALL_MAX_MS = 14_400_000;

/**
 * Agent ids that may be offered a call, with the version of the agent states they were judged on
 * and the agents whose state changed since an earlier version (null: not known, start over).
 */
export class OfferableAgents extends Set<string> {
  version?: string;
  changedSince?: (version: string) => readonly string[] | null;
}

/** A leg status that means the agent did not pick up (rather than: the call went elsewhere). */
const RANG_OUT = new Set(['no-answer', 'busy']);

export class CallCenter {
  readonly now: () => number;
  /** Called (not awaited) with each agent who just became offerable; the queue dispatch hooks in here. */
  onFreed?: (agentId: string) => void;

  /** The last live offerable set, for the roster snapshot it was derived from. */
  #offerable?: { agents: readonly Agent[]; index: Map<string, number>; set: OfferableAgents };
  /** Roster agents by id, for the roster snapshot they came from. */
  #byId?: { agents: readonly Agent[]; map: Map<string, Agent> };

  constructor(private readonly o: CallCenterOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The call-center event log (for `GET /api/events`, stats and the PostgreSQL copy). */
  get events(): EventLog {
    return this.o.events;
  }

  get agentStates(): AgentStateStore {
    return this.o.agents;
  }

  /** Presence: the roster says the phone is registered (static agents always), and Telnyx can reach it. */
  registered(agentId: string): boolean {
    const agent = this.agent(agentId);
    return agent !== undefined && agent.online && !agent.unreachable;
  }

  agent(agentId: string): Agent | undefined {
    const agents = this.o.roster.current().agents;
    if (this.#byId?.agents !== agents) this.#byId = { agents, map: new Map(agents.map((a) => [a.id, a])) };
    return this.#byId.map.get(agentId);
  }

  /**
   * This agent's rules: its wrap-up override (by id, then name), else the wrap-up of the call's
   * `queue` from the call-center file, else WRAP_UP_SECONDS.
   */
  rulesFor(agentId: string, queue?: string): Omit<AgentRules, 'now'> {
    const { wrapUpOverrides, wrapUpSeconds, maxNoAnswer } = this.o.settings;
    const name = this.agent(agentId)?.name;
    const override = Object.hasOwn(wrapUpOverrides, agentId)
      ? wrapUpOverrides[agentId]
      : name !== undefined && Object.hasOwn(wrapUpOverrides, name)
        ? wrapUpOverrides[name]
        : undefined;
    return {
      wrapUpSeconds: override ?? this.o.queueWrapUpSeconds?.(queue) ?? wrapUpSeconds,
      maxNoAnswer,
    };
  }

  /** The records of `agentIds` in one read (new agents get the default record). */
  records(agentIds: readonly string[]): Promise<Map<string, AgentRecord>> {
    return this.o.agents.getMany(agentIds);
  }

  /** Roster agents that may be offered a call now: available, idle and registered. One store read. */
  async offerable(agents: readonly Agent[]): Promise<Set<string>> {
    return new Set(await this.liveOfferable(agents));
  }

  /**
   * Who may be offered a call now (available, idle, registered: `liveOfferable`), and who is
   * `engaged` — available and registered but offered a call, on one or in wrap-up, so free again
   * soon (sticky routing waits for such a preferred agent, docs/interface.md §5.1).
   */
  async availability(
    agents: readonly Agent[],
  ): Promise<{ offerable: OfferableAgents; engaged: Set<string> }> {
    const store = this.o.agents;
    // One read: the view the offerable set was judged on tells who is engaged too (a second view
    // cost a Redis command per inbound, bench/RESULTS.md wave 3, and could disagree with the first).
    const { set: offerable, view } = await this.#liveOfferable(agents);
    const ids = agents.filter((a) => !offerable.has(a.id)).map((a) => a.id);
    const records = view ? undefined : await store.getMany(ids);
    const engaged = new Set<string>();
    for (const a of agents) {
      if (offerable.has(a.id)) continue;
      const r = view ? view.record(a.id) : records?.get(a.id);
      if (r && a.online && !a.unreachable && r.status === 'available' && r.state !== 'idle')
        engaged.add(a.id);
    }
    return { offerable, engaged };
  }

  /**
   * The same as `offerable`, as a live set the router reads right after it resolves (later calls
   * update it in place) and that names its version: with a store that keeps a view
   * (`AgentStateStore.view`), only the agents whose record changed since the last call are
   * re-judged, so routing is O(changed agents), not O(roster) (bench/RESULTS.md, issue 18).
   */
  async liveOfferable(agents: readonly Agent[]): Promise<OfferableAgents> {
    return (await this.#liveOfferable(agents)).set;
  }

  /** `liveOfferable`, with the view it was judged on (undefined: a store without views). */
  async #liveOfferable(agents: readonly Agent[]): Promise<{ set: OfferableAgents; view?: AgentStateView }> {
    const store = this.o.agents;
    const judge = (a: Agent, r: AgentRecord | undefined) =>
      r !== undefined && isOfferable(r, a.online && !a.unreachable);
    if (!store.view) {
      const records = await store.getMany(agents.map((a) => a.id));
      const out = new OfferableAgents();
      for (const a of agents) if (judge(a, records.get(a.id))) out.add(a.id);
      return { set: out };
    }
    const view = await store.view();
    const last = this.#offerable;
    const changed = last?.agents === agents ? view.changedSince(last.set.version as string) : null;
    if (last && changed) {
      for (const id of changed) {
        const i = last.index.get(id);
        const a = i === undefined ? undefined : agents[i];
        if (!a) continue;
        if (judge(a, view.record(id))) last.set.add(id);
        else last.set.delete(id);
      }
      last.set.version = view.version;
      last.set.changedSince = view.changedSince;
      return { set: last.set, view };
    }
    const set = new OfferableAgents();
    const index = new Map<string, number>();
    agents.forEach((a, i) => {
      index.set(a.id, i);
      if (judge(a, view.record(a.id))) set.add(a.id);
    });
    set.version = view.version;
    set.changedSince = view.changedSince;
    this.#offerable = { agents, index, set };
    return { set, view };
  }

  /** Status `available` whatever the state: "signed in" (docs/interface.md §5, §7). */
  async signedIn(agents: readonly Agent[]): Promise<Agent[]> {
    const records = await this.o.agents.getMany(agents.map((a) => a.id));
    return agents.filter((a) => records.get(a.id)?.status === 'available' && a.online && !a.unreachable);
  }

  /**
   * Commits one offer per agent (in parallel): the agents whose offer committed, in the order
   * given. An agent another replica offered a call a moment ago is refused and left out, so on two
   * replicas one agent gets one offer. Logs `offer` for each.
   *
   * `after`: events to append right after the `offer` events, in the same log write, when an
   * offer commits — the inbound's `enter-queue`, one event-log command instead of two
   * (bench/RESULTS.md, issue 18 wave 3). They are taken out of the array (whoever empties it
   * logs them, so a caller that gave up waiting and logs them itself never logs them twice), and
   * get the time they are logged as `at`, as when the call flow appended them after the offers.
   */
  async offer(
    callSid: string,
    agentIds: readonly string[],
    queue: string,
    after?: CallCenterEvent[],
  ): Promise<string[]> {
    const at = this.now();
    const results = await Promise.all(
      agentIds.map(async (agentId) => {
        const t = await transitionAgent(
          this.o.agents,
          agentId,
          { type: 'offer', callSid, queue, registered: this.registered(agentId) },
          { ...this.rulesFor(agentId), now: at },
        );
        // `ignored` = already offered this very call (a repeated request): still offered.
        return t.outcome === 'refused' ? undefined : { agentId, applied: t.outcome === 'applied' };
      }),
    );
    const offered = results.filter((r) => r !== undefined);
    const events: CallCenterEvent[] = offered
      .filter((r) => r.applied)
      .map((r) => ({ type: 'offer' as const, at, queue, callSid, agent: r.agentId }));
    if (events.length && after?.length) {
      const now = this.now();
      for (const e of after.splice(0)) events.push({ ...e, at: now });
    }
    // Sent now, not waited for: the caller's reply waits on the offers, not on the log (one round
    // trip less per inbound, bench/RESULTS.md issue 18 wave 4). `log` reports its own failures,
    // and the append goes out on this process's connection before anything the reply leads to.
    void this.log(events);
    return offered.map((r) => r.agentId);
  }

  /** An agent's leg of `callSid` was answered. */
  answered(agentId: string, callSid: string): Promise<AgentTransition | undefined> {
    return this.step(agentId, { type: 'offer-answered', callSid });
  }

  /** An agent's leg of `callSid` ended: wrap-up after a talk, a no-answer after a ring-out, else freed. */
  legEnded(agentId: string, callSid: string, end: LegEnd): Promise<AgentTransition | undefined> {
    if (end.answered) return this.step(agentId, { type: 'call-ended', callSid }, end.queue);
    if (end.status && RANG_OUT.has(end.status))
      return this.step(agentId, { type: 'offer-rang-out', callSid });
    return this.step(agentId, { type: 'offer-cancelled', callSid });
  }

  /**
   * A ring round of `callSid` ended (the `<Dial>` action) before the legs' own callbacks may have
   * come: unanswered with `no-answer`/`busy` = every agent still offered rang out; answered = the
   * others are cancelled. The reducer ignores agents no longer offered this call, so the legs'
   * callbacks arriving later count nothing twice.
   */
  async roundEnded(callSid: string, agentIds: readonly string[], dialStatus: string, answeredBy?: string) {
    const answered = dialStatus === 'completed' || dialStatus === 'answered' || answeredBy !== undefined;
    await Promise.all(
      agentIds
        .filter((id) => id !== answeredBy)
        .map((id) =>
          this.step(id, {
            type: !answered && RANG_OUT.has(dialStatus) ? 'offer-rang-out' : 'offer-cancelled',
            callSid,
          }),
        ),
    );
  }

  /** The caller's call ended: agents still offered it are freed, the one on it starts the wrap-up. */
  async callEnded(callSid: string, agentIds: readonly string[], queue?: string): Promise<void> {
    await Promise.all(agentIds.map((id) => this.step(id, { type: 'call-ended', callSid }, queue)));
  }

  /**
   * The periodic tick (any replica; the compare-and-set makes each step happen once): ends due
   * wrap-ups, and frees agents whose offer or call lost its callbacks.
   */
  async tick(limit = 100): Promise<number> {
    const now = this.now();
    let changed = 0;
    for (const agentId of await this.o.agents.dueWrapUps(now, limit)) {
      if (await this.step(agentId, { type: 'wrap-up-ended', by: SYSTEM })) changed++;
    }
    const lostOfferMs = this.o.settings.dialTimeoutSeconds * 1000 + OFFER_GRACE_MS;
    for (const r of await this.o.agents.all()) {
      if (r.state === 'offered' && r.callSid && r.stateAt < now - lostOfferMs) {
        this.o.log.warn({ agent: r.agentId, callSid: r.callSid }, 'offer lost its callbacks; agent freed');
        if (await this.step(r.agentId, { type: 'offer-cancelled', callSid: r.callSid })) changed++;
      } else if (r.state === 'on-call' && r.callSid && r.stateAt < now - ON_CALL_MAX_MS) {
        this.o.log.warn({ agent: r.agentId, callSid: r.callSid }, 'call end never reported; agent freed');
        if (await this.step(r.agentId, { type: 'call-ended', callSid: r.callSid })) changed++;
      }
    }
    return changed;
  }

  /** The console's and the admin API's view of the agents' status (docs/interface.md §8). */
  statusService(): AgentStatusService {
    return {
      get: async (agentId) => {
        if (!this.agent(agentId)) return null;
        return toView(await this.o.agents.get(agentId));
      },
      setStatus: async (agentId, status, reason, by) => this.setStatus(agentId, status, reason, by),
      endWrapUp: async (agentId) => {
        if (!this.agent(agentId)) throw new Errors.NotFound(`no agent ${agentId}`);
        const t = await this.commit(agentId, { type: 'wrap-up-ended', by: 'supervisor' });
        if (t.outcome !== 'applied') throw new Errors.AgentRefused(`agent ${agentId} is not in wrap-up`);
        return toView(t.record);
      },
    };
  }

  async setStatus(
    agentId: string,
    status: AgentStatus,
    reason: string | undefined,
    by: StatusChanger,
  ): Promise<AgentStatusView> {
    if (!this.agent(agentId)) throw new Errors.NotFound(`no agent ${agentId}`);
    const t = await this.commit(agentId, { type: 'status-set', status, reason, by: changerName(by) });
    if (t.outcome === 'refused') throw new Errors.AgentRefused(`agent ${agentId}: ${t.refusal}`);
    return toView(t.record);
  }

  /** Appends call-center events; a log outage is logged, never thrown (nothing waits on it). */
  async log(events: readonly CallCenterEvent[]): Promise<void> {
    if (!events.length) return;
    try {
      await this.o.events.appendMany(events);
    } catch (err) {
      this.o.log.warn({ err, types: events.map((e) => e.type) }, 'call-center events not logged');
    }
  }

  /** One agent step that must not throw (callbacks, ticks): a store failure is logged. */
  private async step(
    agentId: string,
    event: AgentEvent,
    queue?: string,
  ): Promise<AgentTransition | undefined> {
    try {
      const t = await this.commit(agentId, event, queue);
      return t.outcome === 'applied' ? t : undefined;
    } catch (err) {
      this.o.log.warn({ err, agent: agentId, event: event.type }, 'agent state not updated');
      return undefined;
    }
  }

  /** Commits one agent event, then logs its events, sends its alerts and reports a freed agent. */
  private async commit(agentId: string, event: AgentEvent, queue?: string): Promise<AgentTransition> {
    const t = await transitionAgent(this.o.agents, agentId, event, {
      ...this.rulesFor(agentId, queue),
      now: this.now(),
    });
    if (t.outcome !== 'applied') return t;
    await this.log(t.events);
    for (const alert of t.alerts) {
      const name = this.agent(alert.agentId)?.name ?? alert.agentId;
      await this.o.notifier
        .enqueue(`agent:${alert.agentId}:auto-paused:${alert.at}`, {
          type: 'agent-auto-paused',
          agent: name,
          noAnswers: alert.noAnswers,
          at: new Date(alert.at).toISOString(),
        })
        .catch((err) => this.o.log.warn({ err, agent: agentId }, 'auto-pause alert not queued'));
    }
    if (this.onFreed && isOfferable(t.record, this.registered(agentId))) this.onFreed(agentId);
    return t;
  }
}

export function toView(r: AgentRecord): AgentStatusView {
  return {
    status: r.status,
    ...(r.reason ? { reason: r.reason } : {}),
    state: r.state,
    stateSince: new Date(r.stateAt).toISOString(),
    ...(r.statusAt ? { statusSince: new Date(r.statusAt).toISOString() } : {}),
    ...(r.state !== 'idle' && r.callSid ? { callSid: r.callSid } : {}),
    ...(r.state !== 'idle' && r.callSid && r.queue ? { queue: r.queue } : {}),
  };
}

/** What `offeringPicker` routes with: the router of src/routing/router.ts. */
export interface OfferRouter {
  route(request: {
    caller: string | undefined;
    agents: readonly Agent[];
    round: number;
    alreadyRung: readonly string[];
    /** May be a promise: the router reads its own state meanwhile (one round trip less to wait for). */
    offerable?: ReadonlySet<string> | Promise<ReadonlySet<string> | undefined>;
    engaged?: ReadonlySet<string> | Promise<ReadonlySet<string> | undefined>;
    /** The queue's own strategy; undefined: ROUTING_STRATEGY. */
    strategy?: RoutingStrategy;
    /** Agents other decisions are offering now; the router counts this decision's targets in. */
    reserved?: Map<string, number>;
  }): Promise<{ targets: Agent[]; reason: string; preferred?: Agent }>;
}

/** The agents and strategy of each queue (a `QueueDirectory` fits). */
export interface QueueAgents {
  agentsOf(queue: string): readonly Agent[];
  strategy(queue: string): RoutingStrategy | undefined;
}

/**
 * Routing through the agent state (docs/interface.md §5): only agents that are available, idle
 * and registered are handed to the strategy, and each target gets its offer committed before it
 * rings, so an agent on a call, in wrap-up or offered by another replica is never rung. When the
 * agent state store fails, it routes as before (the roster with the routing store's busy flags):
 * the caller is never dropped for it.
 *
 * Sticky routing (§5.1): `sticky` when the round rings the caller's preferred agent alone (the call
 * flow gives it `STICKY_RING_SECONDS`); `preferred` when that agent is engaged (or was offered
 * another call a moment ago by another replica), so the caller waits in the queue for them —
 * only when `waitForPreferred` is set (the call flow clears it when the queue cannot hold the
 * caller, and routes again).
 */
export function offeringPicker(
  center: CallCenter,
  router: OfferRouter,
  queues: QueueAgents,
  log: Logger,
): (input: {
  callSid: string;
  caller: string;
  round: number;
  alreadyRung: readonly string[];
  waitForPreferred?: boolean;
  queue: string;
  logWithOffers?: CallCenterEvent[];
}) => Promise<{ agents: Agent[]; sticky?: boolean; preferred?: string }> {
  // Agents this process is offering a call right now (the router's `reserved`): callers arriving
  // together pick different agents, instead of all but one losing the same agent's offer and
  // waiting in the queue while others are free (bench/RESULTS.md, issue 18 wave 4).
  const reserved = new Map<string, number>();
  return async ({ callSid, caller, round, alreadyRung, waitForPreferred, queue, logWithOffers }) => {
    // Per-queue routing (docs/interface.md §7): the queue's agents, with its own strategy.
    const agents = queues.agentsOf(queue);
    if (!agents.length) return { agents: [] };
    const strategy = queues.strategy(queue);
    // An agent another call's offer took between our read and our offer is refused: route again
    // (the next read brings that change), rather than queue a caller while agents are free.
    for (let attempt = 1; ; attempt++) {
      // Read while the router reads its own state: the two reads overlap instead of queueing.
      // Who is engaged is only needed when the caller may wait for their preferred agent.
      const pending = (
        waitForPreferred
          ? center.availability(agents)
          : center.liveOfferable(agents).then((offerable) => ({ offerable, engaged: undefined }))
      ).catch((err: unknown): undefined => {
        log.warn({ err, callSid }, 'agent states unavailable: routing on the roster alone');
        return undefined;
      });
      const decision = await router.route({
        caller,
        agents,
        round,
        alreadyRung,
        offerable: pending.then((p) => p?.offerable),
        engaged: pending.then((p) => p?.engaged),
        reserved,
        ...(strategy ? { strategy } : {}),
      });
      // The router reserved the decision's targets; they are free for other decisions again once
      // their offers settled (committed: the agent state says so; refused: someone else has them).
      try {
        const offerable = (await pending)?.offerable;
        const sticky = decision.reason === 'sticky';
        if (decision.reason === 'preferred-busy' && decision.preferred)
          return { agents: [], preferred: decision.preferred.id };
        if (!offerable || !decision.targets.length) return { agents: decision.targets, sticky };
        let offered: Set<string>;
        try {
          offered = new Set(
            await center.offer(
              callSid,
              decision.targets.map((a) => a.id),
              queue,
              logWithOffers,
            ),
          );
        } catch (err) {
          log.warn({ err, callSid }, 'offers not committed: ringing the routed agents anyway');
          return { agents: decision.targets, sticky };
        }
        const targets = decision.targets.filter((a) => offered.has(a.id));
        // The preferred agent was offered another call a moment ago: wait for them as if engaged.
        if (sticky && !targets.length && waitForPreferred)
          return { agents: [], preferred: decision.targets[0]!.id };
        if (targets.length || attempt >= OFFER_ATTEMPTS) return { agents: targets, sticky };
      } finally {
        release(reserved, decision.targets);
      }
    }
  };
}

/** Routing decisions per ring round when every chosen agent was just taken by another call. */
const OFFER_ATTEMPTS = 3;
