/**
 * The queue and agent KPIs of one local day, computed from the call-center event log alone
 * (docs/interface.md §6 `/api/stats`, §7 "Every KPI … derives from it"). Pure: events in, numbers
 * out, the way Asterisk's queue reports are derived from `queue_log`
 * (https://docs.asterisk.org/Operation/Logging/Queue-Logs/).
 *
 * The definitions follow the README's "Call records and KPIs" section (service level = answered
 * within `SERVICE_LEVEL_SECONDS`, inclusive, over answered + abandoned; short abandons, under
 * `SHORT_ABANDON_SECONDS`, are counted apart and left out of both) so `/api/stats` means the same
 * whether it reads call records or the log. What the log adds:
 * - **Which day:** an event counts on the local day it happened (`at`); a call that connects
 *   after midnight is answered on the new day (as in queue_log reports).
 * - **Callbacks** are counted apart (requested, connected, failed); a callback is not an abandon
 *   (Amazon Connect: "Contacts queued for callback are not counted as abandoned") and not in the
 *   service level.
 * - **Average handle time** = talk + wrap-up of each completed call (the conventional definition:
 *   talk + hold + after-call work; Switchboard has no hold). `averageTalkTime` is talk alone, the
 *   call records' "AHT".
 * - **Occupancy** per agent = time on calls or in wrap-up ÷ time logged in, where logged in =
 *   status `available`, or busy with a call or its wrap-up whatever the status (an agent who goes
 *   on break mid-call is still working). Idle available time counts only in the denominator.
 *   An agent's status before their first `status-change` of the day is that event's `from`; with
 *   none that day it is `available`, a new agent's status (docs/interface.md §5).
 */

import type { CallCenterEvent } from '../events/call-center-event.js';
import { clip, type Interval, measure } from './intervals.js';
import { dayWindow } from './time-zone.js';

export interface QueueStatsOptions {
  /** Local calendar day, `YYYY-MM-DD`. */
  date: string;
  timeZone: string;
  serviceLevelSeconds: number;
  shortAbandonSeconds: number;
  /** The current time: time-based KPIs of today stop here (default: the end of the day). */
  now?: number;
  /**
   * The queues of the call-center file: each is in `perQueue` even on a day without events (all
   * zeros), so a quiet queue shows as quiet rather than missing.
   */
  queues?: readonly string[];
}

export interface CallbackCounts {
  requested: number;
  connected: number;
  failed: number;
}

export interface QueueKpis {
  /** Distinct calls that entered the queue (`enter-queue`). */
  offered: number;
  /** Calls an agent answered (`connect`). */
  answered: number;
  answeredWithinServiceLevel: number;
  /** Hung up while waiting, after at least `shortAbandonSeconds`. */
  abandoned: number;
  /** Hung up sooner: in `offered`, nowhere else. */
  shortAbandoned: number;
  /** Left after `maxWaitSeconds` (`exit-timeout`). */
  timedOut: number;
  /** Left because the queue closed or nobody was signed in (`exit-closed`). */
  closed: number;
  voicemails: number;
  /** Callers who reached the queue while it was closed (docs/interface.md §9): in `voicemails` too. */
  closedOnArrival: number;
  callbacks: CallbackCounts;
  /** Offers that rang out (agents who did not pick up). */
  noAnswers: number;
  /** answeredWithinServiceLevel / (answered + abandoned), 0..1, 4 places; null when both are 0. */
  serviceLevel: number | null;
  /** Mean wait of answered calls, whole seconds; null when none. */
  averageSpeedOfAnswer: number | null;
  /** Mean talk time of completed calls (callbacks included), whole seconds; null when none. */
  averageTalkTime: number | null;
  /** Mean talk + wrap-up of completed calls (callbacks included), whole seconds; null when none. */
  averageHandleTime: number | null;
  /** Longest a caller waited in line: answered, abandoned, timed out, closed or asking for a callback. */
  longestWait: number;
}

export interface QueueDayStats extends QueueKpis {
  queue: string;
}

export interface AgentDayStats {
  agent: string;
  /** Calls offered (rung): queue offers and callback attempts. */
  offered: number;
  /** Queue calls answered (`connect`). */
  answered: number;
  /** Callbacks that reached the caller (`callback-connected`). */
  callbacks: number;
  noAnswers: number;
  /** Talk of the calls this agent completed that day, seconds. */
  talkSeconds: number;
  /** Wrap-up time within the day, seconds. */
  wrapUpSeconds: number;
  /** Mean talk + wrap-up of completed calls, whole seconds; null when none. */
  averageHandleTime: number | null;
  /** Available, or busy with a call or wrap-up, within the day (up to `now`), seconds. */
  loggedInSeconds: number;
  /** On a call or in wrap-up within the day, seconds. */
  busySeconds: number;
  /** busySeconds / loggedInSeconds, 0..1, 4 places; null when never logged in. */
  occupancy: number | null;
}

export interface QueueStatsReport {
  date: string;
  timeZone: string;
  from: string;
  to: string;
  serviceLevelSeconds: number;
  shortAbandonSeconds: number;
  /** Every queue together. */
  total: QueueKpis;
  /** Queues with any event that day, by name. */
  perQueue: QueueDayStats[];
  /** Agents with any event that day, by id. */
  perAgent: AgentDayStats[];
}

interface QueueAcc {
  entered: Set<string>;
  connected: Set<string>;
  withinSl: number;
  waitSum: number;
  abandonedCalls: Set<string>;
  abandoned: number;
  shortAbandoned: number;
  timedOut: Set<string>;
  closed: Set<string>;
  voicemails: Set<string>;
  closedOnArrival: Set<string>;
  callbacks: { requested: Set<string>; connected: Set<string>; failed: Set<string> };
  noAnswers: number;
  completes: Array<{ callSid: string; agent: string; talk: number }>;
  longestWait: number;
}

const newQueue = (): QueueAcc => ({
  entered: new Set(),
  connected: new Set(),
  withinSl: 0,
  waitSum: 0,
  abandonedCalls: new Set(),
  abandoned: 0,
  shortAbandoned: 0,
  timedOut: new Set(),
  closed: new Set(),
  voicemails: new Set(),
  closedOnArrival: new Set(),
  callbacks: { requested: new Set(), connected: new Set(), failed: new Set() },
  noAnswers: 0,
  completes: [],
  longestWait: 0,
});

interface AgentAcc {
  offered: number;
  answered: number;
  callbacks: number;
  noAnswers: number;
  completes: Array<{ callSid: string; talk: number }>;
  /** Status changes in log order. */
  statuses: Array<{ at: number; from: string; to: string }>;
  /** callSid → connect time. */
  connects: Map<string, number>;
  onCall: Interval[];
  /** callSid → wrap-up start and planned end. */
  wrapStarts: Map<string, { at: number; until: number }>;
  wrapUps: Interval[];
  /** callSid → wrap-up seconds (for AHT). */
  wrapSeconds: Map<string, number>;
}

const newAgent = (): AgentAcc => ({
  offered: 0,
  answered: 0,
  callbacks: 0,
  noAnswers: 0,
  completes: [],
  statuses: [],
  connects: new Map(),
  onCall: [],
  wrapStarts: new Map(),
  wrapUps: [],
  wrapSeconds: new Map(),
});

const mean = (sum: number, n: number): number | null => (n === 0 ? null : Math.round(sum / n));
const ratio = (a: number, b: number): number | null =>
  b === 0 ? null : Math.round((a / b) * 10_000) / 10_000;
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function getOrAdd<T>(map: Map<string, T>, key: string, make: () => T): T {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/**
 * The KPIs of the events that HAPPENED on local day `date` in `timeZone`, per queue, for all
 * queues together, and per agent. Events outside the day are ignored, so the caller may pass a
 * wider range (e.g. `eventsBetween` with its margin). Pass the events in log order.
 */
export function computeQueueStats(
  events: readonly CallCenterEvent[],
  options: QueueStatsOptions,
): QueueStatsReport {
  const { fromMs, toMs } = dayWindow(options.date, options.timeZone);
  const endMs = Math.max(fromMs, Math.min(toMs, options.now ?? toMs));
  const sl = options.serviceLevelSeconds;
  const shortAbandon = options.shortAbandonSeconds;
  const queues = new Map<string, QueueAcc>();
  const agents = new Map<string, AgentAcc>();
  const total = newQueue();
  const queueAccs = (queue: string | undefined): QueueAcc[] =>
    queue === undefined ? [total] : [total, getOrAdd(queues, queue, newQueue)];
  const agentAcc = (agent: string) => getOrAdd(agents, agent, newAgent);
  for (const queue of options.queues ?? []) getOrAdd(queues, queue, newQueue);

  for (const e of events) {
    if (!(e.at >= fromMs && e.at < toMs)) continue;
    switch (e.type) {
      case 'enter-queue':
        for (const q of queueAccs(e.queue)) q.entered.add(e.callSid);
        break;
      case 'offer':
        queueAccs(e.queue);
        agentAcc(e.agent).offered += 1;
        break;
      case 'no-answer':
        for (const q of queueAccs(e.queue)) q.noAnswers += 1;
        agentAcc(e.agent).noAnswers += 1;
        break;
      case 'connect': {
        const accs = queueAccs(e.queue);
        if (accs[1]?.connected.has(e.callSid)) break;
        for (const q of accs) {
          q.connected.add(e.callSid);
          q.waitSum += e.wait;
          if (e.wait <= sl) q.withinSl += 1;
          q.longestWait = Math.max(q.longestWait, e.wait);
        }
        const a = agentAcc(e.agent);
        a.answered += 1;
        a.connects.set(e.callSid, e.at);
        break;
      }
      case 'complete': {
        for (const q of queueAccs(e.queue))
          q.completes.push({ callSid: e.callSid, agent: e.agent, talk: e.talk });
        const a = agentAcc(e.agent);
        a.completes.push({ callSid: e.callSid, talk: e.talk });
        const started = a.connects.get(e.callSid) ?? e.at - e.talk * 1000;
        a.onCall.push({ from: started, to: e.at });
        a.connects.delete(e.callSid);
        break;
      }
      case 'abandon': {
        const accs = queueAccs(e.queue);
        if (accs[1]?.abandonedCalls.has(e.callSid)) break;
        for (const q of accs) {
          q.abandonedCalls.add(e.callSid);
          if (e.wait < shortAbandon) q.shortAbandoned += 1;
          else q.abandoned += 1;
          q.longestWait = Math.max(q.longestWait, e.wait);
        }
        break;
      }
      case 'exit-timeout':
      case 'exit-closed':
        for (const q of queueAccs(e.queue)) {
          (e.type === 'exit-timeout' ? q.timedOut : q.closed).add(e.callSid);
          q.longestWait = Math.max(q.longestWait, e.wait);
        }
        break;
      case 'callback-requested':
        for (const q of queueAccs(e.queue)) {
          q.callbacks.requested.add(e.callSid);
          q.longestWait = Math.max(q.longestWait, e.wait);
        }
        break;
      case 'callback-connected': {
        for (const q of queueAccs(e.queue)) q.callbacks.connected.add(e.callSid);
        const a = agentAcc(e.agent);
        a.callbacks += 1;
        a.connects.set(e.callSid, e.at);
        break;
      }
      case 'callback-failed':
        for (const q of queueAccs(e.queue)) q.callbacks.failed.add(e.callSid);
        break;
      case 'voicemail':
        for (const q of queueAccs(e.queue)) {
          q.voicemails.add(e.callSid);
          if (e.reason === 'closed') q.closedOnArrival.add(e.callSid);
        }
        break;
      case 'status-change':
        agentAcc(e.agent).statuses.push({ at: e.at, from: e.from, to: e.to });
        break;
      case 'wrap-up-start':
        agentAcc(e.agent).wrapStarts.set(e.callSid, { at: e.at, until: e.until });
        break;
      case 'wrap-up-end': {
        const a = agentAcc(e.agent);
        const start = a.wrapStarts.get(e.callSid);
        const from = start?.at ?? fromMs;
        a.wrapUps.push({ from, to: e.at });
        a.wrapSeconds.set(e.callSid, Math.max(0, Math.round((e.at - from) / 1000)));
        a.wrapStarts.delete(e.callSid);
        break;
      }
      case 'callback-attempt':
        // The agent is rung first (docs/interface.md §7): an offer like any other.
        agentAcc(e.agent).offered += 1;
        break;
    }
  }

  // Calls and wrap-ups still open when the events end: they last until their planned end or now.
  for (const a of agents.values()) {
    for (const at of a.connects.values()) a.onCall.push({ from: at, to: endMs });
    for (const [callSid, w] of a.wrapStarts) {
      const to = Math.min(w.until, endMs);
      a.wrapUps.push({ from: w.at, to });
      a.wrapSeconds.set(callSid, Math.max(0, Math.round((to - w.at) / 1000)));
    }
  }

  const wrapOf = (agent: string, callSid: string): number => agents.get(agent)?.wrapSeconds.get(callSid) ?? 0;
  const kpis = (q: QueueAcc): QueueKpis => {
    const talk = q.completes.reduce((sum, c) => sum + c.talk, 0);
    const handle = q.completes.reduce((sum, c) => sum + c.talk + wrapOf(c.agent, c.callSid), 0);
    return {
      offered: q.entered.size,
      answered: q.connected.size,
      answeredWithinServiceLevel: q.withinSl,
      abandoned: q.abandoned,
      shortAbandoned: q.shortAbandoned,
      timedOut: q.timedOut.size,
      closed: q.closed.size,
      voicemails: q.voicemails.size,
      closedOnArrival: q.closedOnArrival.size,
      callbacks: {
        requested: q.callbacks.requested.size,
        connected: q.callbacks.connected.size,
        failed: q.callbacks.failed.size,
      },
      noAnswers: q.noAnswers,
      serviceLevel: ratio(q.withinSl, q.connected.size + q.abandoned),
      averageSpeedOfAnswer: mean(q.waitSum, q.connected.size),
      averageTalkTime: mean(talk, q.completes.length),
      averageHandleTime: mean(handle, q.completes.length),
      longestWait: q.longestWait,
    };
  };

  const perAgent: AgentDayStats[] = [...agents.entries()]
    .sort(([x], [y]) => byName(x, y))
    .map(([agent, a]) => {
      const window = (list: Interval[]) =>
        list.map((i) => clip(i, fromMs, endMs)).filter((i): i is Interval => i !== undefined);
      const busy = window([...a.onCall, ...a.wrapUps]);
      const loggedIn = [...busy, ...window(availableIntervals(a.statuses, fromMs, endMs))];
      const busyMs = measure(busy);
      const loggedInMs = measure(loggedIn);
      const talk = a.completes.reduce((sum, c) => sum + c.talk, 0);
      const handle = a.completes.reduce((sum, c) => sum + c.talk + (a.wrapSeconds.get(c.callSid) ?? 0), 0);
      return {
        agent,
        offered: a.offered,
        answered: a.answered,
        callbacks: a.callbacks,
        noAnswers: a.noAnswers,
        talkSeconds: talk,
        wrapUpSeconds: Math.round(measure(window(a.wrapUps)) / 1000),
        averageHandleTime: mean(handle, a.completes.length),
        loggedInSeconds: Math.round(loggedInMs / 1000),
        busySeconds: Math.round(busyMs / 1000),
        occupancy: ratio(busyMs, loggedInMs),
      };
    });

  return {
    date: options.date,
    timeZone: options.timeZone,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    serviceLevelSeconds: sl,
    shortAbandonSeconds: shortAbandon,
    total: kpis(total),
    perQueue: [...queues.entries()]
      .sort(([x], [y]) => byName(x, y))
      .map(([queue, q]) => ({ queue, ...kpis(q) })),
    perAgent,
  };
}

/** When the agent's status was `available` within `[fromMs, endMs)`, from its changes in order. */
function availableIntervals(
  changes: ReadonlyArray<{ at: number; from: string; to: string }>,
  fromMs: number,
  endMs: number,
): Interval[] {
  const out: Interval[] = [];
  let status = changes[0]?.from ?? 'available';
  let since = fromMs;
  for (const c of changes) {
    if (status === 'available') out.push({ from: since, to: c.at });
    status = c.to;
    since = c.at;
  }
  if (status === 'available') out.push({ from: since, to: endMs });
  return out;
}
