import type { Roster } from '../agents/agent.js';
import type { CallStore } from '../calls/call-store.js';
import { type CallState, isTerminal } from '../calls/call-types.js';
import type { CallRecord } from '../records/call-record.js';
import type { CallRecordStore } from '../records/call-record-store.js';
import { computeStats, type DayStats } from '../stats/call-stats.js';
import { dayWindow } from '../stats/time-zone.js';
import type { AgentStatusService, AgentStatusView } from './agent-status.js';

/**
 * Everything the console and the wallboard show, behind one server-side interface
 * (docs/interface.md §8): the roster with presence, the calls in progress (the call store),
 * today's KPIs (exactly `/api/stats`' computation, `computeStats`), and the agents' status/state
 * and the queues once those stores are wired in (until then `null`, shown as "not yet available",
 * never as made-up numbers). `subscribe` tells the pages' server-sent-event streams when
 * something they show has changed.
 */

/** The queues of docs/interface.md §7 as the wallboard shows them. */
export interface QueueView {
  name: string;
  waiting: Array<{ position: number; waitSeconds: number; callbackRequested: boolean }>;
  longestWaitSeconds: number;
}

/** Where the queues come from once the queue store exists. */
export interface QueueSource {
  list(): Promise<QueueView[]>;
  /** Changes whenever any queue changes (cheap; polled). */
  fingerprint(): Promise<string>;
}

export interface CallSummary {
  sid: string;
  direction: 'inbound' | 'outbound';
  /** The caller's number (inbound) or the customer's (outbound). */
  number: string;
  callerName?: string;
  status: string;
  phase: string;
  startedAt: string;
  answeredAt?: string;
  /** Agents rung or talking, with their leg's status. */
  agents: Array<{ id: string; name: string; leg: string }>;
  /**
   * The call's queue (docs/interface.md §7): from the call state when it records one, else from
   * the agent offered or talking to the call; null when neither knows yet.
   */
  queue: string | null;
  /** The caller's menu choice (docs/interface.md §9), when the call state records one; else null. */
  menuChoice: string | null;
}

export interface RosterEntryView {
  id: string;
  name: string;
  /** Registered at the last presence check (static agents always). */
  online: boolean;
  /** The call this agent is offered or talking on, if any. */
  call?: { sid: string; state: 'offered' | 'on-call'; since: string; number: string };
}

export interface WallboardView {
  generatedAt: string;
  roster: RosterEntryView[];
  calls: CallSummary[];
  stats: DayStats;
  /**
   * The day's service level as it stood at the end of each local hour (index 0 = 00:00–01:00),
   * by the same `computeStats` over the calls started by then; null where no call counted yet
   * and for hours still to come.
   */
  serviceLevelByHour: Array<number | null>;
  /** Per agent id; null = the agent status store is not wired in yet. */
  agentStates: Record<string, AgentStatusView> | null;
  /** null = the queue store is not wired in yet. */
  queues: QueueView[] | null;
}

export interface HistoryEntry {
  sid: string;
  startedAt: string;
  agent?: string;
  outcome: CallRecord['outcome'];
  waitSeconds: number;
  talkSeconds: number;
  voicemailUrl?: string;
}

export interface ConsoleView {
  generatedAt: string;
  agent: { id: string; name: string; online: boolean };
  /** null = the agent status store is not wired in yet. */
  status: AgentStatusView | null;
  /** The call being offered to this agent, or the one they are on. */
  call?: CallSummary & { state: 'offered' | 'on-call' };
  /** Previous calls of this call's caller (newest first), from the call records. */
  history: HistoryEntry[];
}

export interface LiveViewOptions {
  roster: Roster;
  calls: CallStore;
  records: Pick<CallRecordStore, 'range'>;
  stats: { serviceLevelSeconds: number; shortAbandonSeconds: number; timeZone: string };
  agentStatus?: AgentStatusService;
  queues?: QueueSource;
  now?: () => number;
  /** How often the change detector looks (default 500 ms). */
  pollMs?: number;
  /** Days of call records searched for a caller's history (default 30). */
  historyDays?: number;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const DAY_MS = 86_400_000;

export function localDate(ms: number, timeZone: string): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(ms);
}

/** A non-empty string field of the call state that this version may not know (read tolerantly). */
function text(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' && value.trim() ? value.trim().slice(0, 100) : null;
}

/**
 * The call's queue and menu choice as the call state may record them (`queue`, and `menuChoice`,
 * or `menu` as text or `{ label | name | choice | digit }`): optional fields written by the call
 * flow of docs/interface.md §9; a state without them answers null.
 */
export function queueAndMenu(c: CallState): { queue: string | null; menuChoice: string | null } {
  const extra = c as unknown as Record<string, unknown>;
  let menuChoice = text(extra.menuChoice);
  const menu = extra.menu;
  if (menuChoice === null && menu && typeof menu === 'object') {
    const m = menu as Record<string, unknown>;
    menuChoice = text(m.label) ?? text(m.name) ?? text(m.choice) ?? text(m.digit);
  } else if (menuChoice === null) menuChoice = text(menu);
  return { queue: text(extra.queue), menuChoice };
}

export function summarize(c: CallState): CallSummary {
  const agents: CallSummary['agents'] = [];
  if (c.direction === 'outbound' && c.agent) {
    agents.push({
      id: c.agent.id,
      name: c.agent.name,
      leg: c.phase === 'agent-leg' ? c.status : 'in-progress',
    });
  }
  const withLeg = new Set<string>();
  for (const leg of Object.values(c.legs)) {
    if (!leg.agentId) continue;
    withLeg.add(leg.agentId);
    agents.push({ id: leg.agentId, name: leg.agentName ?? leg.agentId, leg: leg.status });
  }
  if (c.direction === 'inbound' && c.phase === 'ringing-agents') {
    for (const a of c.rungAgents)
      if (!withLeg.has(a.id)) agents.push({ id: a.id, name: a.name, leg: 'queued' });
  }
  return {
    sid: c.sid,
    direction: c.direction,
    number: c.direction === 'inbound' ? c.from : (c.customer ?? c.to),
    ...(c.callerName && { callerName: c.callerName }),
    status: c.status,
    phase: c.phase,
    startedAt: new Date(c.startedAt).toISOString(),
    ...(c.answeredAt !== undefined && { answeredAt: iso(c.answeredAt) }),
    agents,
    ...queueAndMenu(c),
  };
}

/** Fills in a call's queue from an agent offered or talking to it, when the call state has none. */
function withAgentQueue(
  call: CallSummary,
  states: Readonly<Record<string, AgentStatusView>> | null,
  agentIds: readonly string[] = call.agents.map((a) => a.id),
): CallSummary {
  if (call.queue !== null || !states) return call;
  for (const id of agentIds) {
    const v = states[id];
    if (v?.callSid === call.sid && v.queue) return { ...call, queue: v.queue };
  }
  return call;
}

/** This agent's part in a call: talking (answered leg not ended), offered (ringing), or none. */
export function agentPart(
  c: CallState,
  agentId: string,
): { state: 'offered' | 'on-call'; since: number } | undefined {
  if (c.phase === 'ended' || isTerminal(c.status)) return undefined;
  if (c.direction === 'outbound') {
    return c.agent?.id === agentId ? { state: 'on-call', since: c.startedAt } : undefined;
  }
  const legs = Object.values(c.legs).filter((l) => l.agentId === agentId);
  const talking = legs.find((l) => l.answeredAt !== undefined && !isTerminal(l.status));
  if (talking) return { state: 'on-call', since: talking.answeredAt ?? c.startedAt };
  if (c.phase !== 'ringing-agents') return undefined;
  const ringing = legs.find((l) => !isTerminal(l.status));
  if (ringing) return { state: 'offered', since: ringing.ringingAt ?? c.startedAt };
  // Rung in this round but no callback about the leg yet.
  if (legs.length === 0 && c.rungAgents.some((a) => a.id === agentId))
    return { state: 'offered', since: c.updatedAt };
  return undefined;
}

export class LiveView {
  readonly #o: LiveViewOptions;
  readonly #now: () => number;
  readonly #listeners = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #lastPrint = '';
  #polling = false;

  constructor(options: LiveViewOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  get agentStatusAvailable(): boolean {
    return this.#o.agentStatus !== undefined;
  }

  async wallboard(): Promise<WallboardView> {
    const now = this.#now();
    const [active, { stats, serviceLevelByHour }, agentStates, queues] = await Promise.all([
      this.#o.calls.active(500),
      this.#dayStats(now),
      this.#agentStates(),
      this.#o.queues ? this.#o.queues.list() : Promise.resolve(null),
    ]);
    const roster = this.#o.roster.current().agents.map((a): RosterEntryView => {
      const entry: RosterEntryView = { id: a.id, name: a.name, online: a.online };
      for (const c of active) {
        const part = agentPart(c, a.id);
        if (part) {
          entry.call = {
            sid: c.sid,
            state: part.state,
            since: new Date(part.since).toISOString(),
            number: summarize(c).number,
          };
          if (part.state === 'on-call') break;
        }
      }
      return entry;
    });
    return {
      generatedAt: new Date(now).toISOString(),
      roster,
      calls: active.map((c) => withAgentQueue(summarize(c), agentStates)),
      stats,
      serviceLevelByHour,
      agentStates,
      queues,
    };
  }

  async #dayStats(now: number): Promise<{ stats: DayStats; serviceLevelByHour: Array<number | null> }> {
    const date = localDate(now, this.#o.stats.timeZone);
    const { fromMs, toMs } = dayWindow(date, this.#o.stats.timeZone);
    const records = await this.#o.records.range(fromMs, toMs);
    const options = { date, ...this.#o.stats };
    const stats = computeStats(records, options);
    const serviceLevelByHour: Array<number | null> = [];
    const sorted = records.map((r) => ({ r, at: Date.parse(r.startedAt) })).sort((a, b) => a.at - b.at);
    let i = 0;
    for (let hour = 0; hour < 24; hour++) {
      // Hour ends by local hour count from the day's start (a 23- or 25-hour day is cut at 24).
      const end = Math.min(fromMs + (hour + 1) * 3_600_000, toMs);
      if (fromMs + hour * 3_600_000 > now) {
        serviceLevelByHour.push(null);
        continue;
      }
      while (i < sorted.length && (sorted[i]?.at ?? Infinity) < end) i++;
      serviceLevelByHour.push(
        computeStats(
          sorted.slice(0, i).map((x) => x.r),
          options,
        ).serviceLevel,
      );
    }
    return { stats, serviceLevelByHour };
  }

  /** Today's KPIs in the configured zone: the same records and `computeStats` as `/api/stats`. */
  async stats(now = this.#now()): Promise<DayStats> {
    return (await this.#dayStats(now)).stats;
  }

  /** The console of one agent; undefined when the agent is not (or no longer) on the roster. */
  async console(agentId: string): Promise<ConsoleView | undefined> {
    const agent = this.#o.roster.current().agents.find((a) => a.id === agentId);
    if (!agent) return undefined;
    const now = this.#now();
    const [active, status] = await Promise.all([
      this.#o.calls.active(500),
      this.#o.agentStatus ? this.#o.agentStatus.get(agentId) : Promise.resolve(null),
    ]);
    let call: ConsoleView['call'];
    for (const c of active) {
      const part = agentPart(c, agentId);
      if (part && (!call || part.state === 'on-call')) {
        const own = status ? { [agentId]: status } : null;
        call = { ...withAgentQueue(summarize(c), own, [agentId]), state: part.state };
      }
    }
    const history =
      call && call.direction === 'inbound' ? await this.history(call.number, call.sid, now) : [];
    return {
      generatedAt: new Date(now).toISOString(),
      agent: { id: agent.id, name: agent.name, online: agent.online },
      status,
      ...(call && { call }),
      history,
    };
  }

  /**
   * A caller's previous calls, newest first (at most 20), from the last `historyDays` of call
   * records. A withheld or empty number has no history.
   */
  async history(number: string, exceptSid: string, now = this.#now()): Promise<HistoryEntry[]> {
    if (!/^\+?\d{3,}$/.test(number)) return [];
    const days = this.#o.historyDays ?? 30;
    const records = await this.#o.records.range(now - days * DAY_MS, now + 1);
    return records
      .filter((r) => r.direction === 'inbound' && r.caller === number && r.sid !== exceptSid)
      .sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt))
      .slice(0, 20)
      .map((r) => ({
        sid: r.sid,
        startedAt: r.startedAt,
        ...(r.agent && { agent: r.agent }),
        outcome: r.outcome,
        waitSeconds: r.waitSeconds,
        talkSeconds: r.talkSeconds,
        ...(r.recordingUrl && { voicemailUrl: r.recordingUrl }),
      }));
  }

  /**
   * Calls `listener` after anything the pages show may have changed (a call moved, the roster or
   * presence changed, an agent's status or a queue changed), and once more 1.5 s later so a call
   * record written just after its call ended reaches the KPIs. Polls only while someone listens.
   */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.#poll(), this.#o.pollMs ?? 500);
      this.#timer.unref();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = undefined;
        this.#lastPrint = '';
      }
    };
  }

  close(): void {
    this.#listeners.clear();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const print = await this.#fingerprint();
      // The first look counts as a change too: something may have moved since a stream sent
      // its first view and this poll; one view too many is harmless, one too few is not.
      if (print !== this.#lastPrint) {
        this.#lastPrint = print;
        this.#emit();
        setTimeout(() => this.#emit(), 1_500).unref();
      }
    } catch {
      // A store is unreachable: the pages keep their last view; the next poll tries again.
    } finally {
      this.#polling = false;
    }
  }

  #emit(): void {
    for (const l of this.#listeners) {
      try {
        l();
      } catch {
        // One broken stream must not stop the others.
      }
    }
  }

  async #fingerprint(): Promise<string> {
    const snap = this.#o.roster.current();
    const active = await this.#o.calls.active(500);
    const calls = active
      .map(
        (c) =>
          `${c.sid}:${c.status}:${c.phase}:${c.seq}:${Object.values(c.legs)
            .map((l) => l.status)
            .join(',')}`,
      )
      .join('|');
    const states = await this.#agentStates();
    const queues = this.#o.queues ? await this.#o.queues.fingerprint() : '';
    const day = localDate(this.#now(), this.#o.stats.timeZone);
    return `${day}#${snap.version}#${calls}#${JSON.stringify(states)}#${queues}`;
  }

  async #agentStates(): Promise<Record<string, AgentStatusView> | null> {
    const svc = this.#o.agentStatus;
    if (!svc) return null;
    const out: Record<string, AgentStatusView> = {};
    const agents = this.#o.roster.current().agents;
    const views = await Promise.all(agents.map((a) => svc.get(a.id)));
    agents.forEach((a, i) => {
      const v = views[i];
      if (v) out[a.id] = v;
    });
    return out;
  }
}
