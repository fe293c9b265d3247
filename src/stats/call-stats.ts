/**
 * The contact-center KPIs of one local day, computed from call records (docs/interface.md §6).
 * Pure: records in, numbers out. The definitions are the ones docs/interface.md §6 and the README
 * state; change them together.
 */

import type { CallRecord } from '../records/call-record.js';
import { dayWindow, localHour } from './time-zone.js';

export interface StatsOptions {
  /** Local calendar day, `YYYY-MM-DD`. */
  date: string;
  /** IANA zone the day is read in. */
  timeZone: string;
  /** SERVICE_LEVEL_SECONDS: an answer within this many seconds (inclusive) meets the target. */
  serviceLevelSeconds: number;
  /** SHORT_ABANDON_SECONDS: callers who hang up before this many seconds are short abandons. */
  shortAbandonSeconds: number;
}

/**
 * A caller who hung up while agents rang, sooner than `shortAbandonSeconds`: a *short abandon*,
 * counted in offered only, never as abandoned (README "Call records and KPIs"). The one rule the
 * KPIs, the Prometheus metrics and the Slack wording share.
 */
export function isShortAbandon(
  r: Pick<CallRecord, 'outcome' | 'waitSeconds'>,
  shortAbandonSeconds: number,
): boolean {
  return r.outcome === 'abandoned' && r.waitSeconds < shortAbandonSeconds;
}

export interface AgentStats {
  agent: string;
  /** Inbound calls of the day that rang this agent (in any round). */
  offered: number;
  /** Inbound calls this agent answered. */
  answered: number;
  answeredWithinServiceLevel: number;
  /** Mean wait of the calls this agent answered, whole seconds; null when none. */
  averageSpeedOfAnswer: number | null;
  /** Mean talk time of the calls this agent answered, whole seconds; null when none. */
  averageHandleTime: number | null;
  /** Longest wait among the calls this agent answered, seconds. */
  longestWait: number;
  /** Total inbound talk time, seconds. */
  talkSeconds: number;
  outbound: OutboundStats;
}

export interface OutboundStats {
  /** Click-to-calls started that day. */
  placed: number;
  /** Of which the customer answered. */
  answered: number;
  talkSeconds: number;
}

export interface DayStats {
  date: string;
  timeZone: string;
  /** The day's window, ISO (a daylight-saving day lasts 23 or 25 hours). */
  from: string;
  to: string;
  serviceLevelSeconds: number;
  shortAbandonSeconds: number;
  /**
   * Inbound calls that reached the hotline: answered + missed + abandoned + shortAbandoned +
   * voicemails + callbacks.
   */
  offered: number;
  answered: number;
  /** Went to the voicemail flow and left no message (no agent answered, or none was online). */
  missed: number;
  /** Hung up while agents rang, after waiting at least `shortAbandonSeconds`. */
  abandoned: number;
  /** Hung up while agents rang, sooner than `shortAbandonSeconds`: in `offered`, nowhere else. */
  shortAbandoned: number;
  voicemails: number;
  /**
   * Callers who asked to be called back from the queue and hung up (docs/interface.md §7): not
   * abandoned; whether the callback reached them is in the queue KPIs (`callbacks`).
   */
  callbacks: number;
  /** Inbound calls that failed before ringing anyone (not in `offered`). */
  failed: number;
  answeredWithinServiceLevel: number;
  /** answeredWithinServiceLevel / (answered + abandoned), 0..1 rounded to 4 places; null when both are 0. */
  serviceLevel: number | null;
  /** Mean wait of answered calls, whole seconds; null when none was answered. */
  averageSpeedOfAnswer: number | null;
  /** Mean talk time of answered calls, whole seconds (no hold or wrap-up is tracked); null when none. */
  averageHandleTime: number | null;
  /** Longest wait of any offered call, answered or not, seconds. */
  longestWait: number;
  /** Offered calls per local hour, index 0 = 00:00–01:00. */
  hourly: number[];
  /** The local hour with the most offered calls (the earliest on a tie); null on a day without calls. */
  busiestHour: { hour: number; offered: number } | null;
  outbound: OutboundStats;
  /** Agents who were rung, answered, or placed a call that day; most answered first, then by name. */
  perAgent: AgentStats[];
}

const mean = (sum: number, n: number): number | null => (n === 0 ? null : Math.round(sum / n));

interface AgentAcc {
  offered: number;
  answered: number;
  withinSl: number;
  waitSum: number;
  talkSum: number;
  longestWait: number;
  outbound: OutboundStats;
}

const newAgent = (): AgentAcc => ({
  offered: 0,
  answered: 0,
  withinSl: 0,
  waitSum: 0,
  talkSum: 0,
  longestWait: 0,
  outbound: { placed: 0, answered: 0, talkSeconds: 0 },
});

/**
 * The KPIs of the calls that STARTED on local day `date` in `timeZone`. Records outside that day
 * are ignored, so a caller may pass a wider range. A call belongs to the day and hour its wait
 * began in, so a call across midnight counts once, on the day it rang.
 */
export function computeStats(records: readonly CallRecord[], options: StatsOptions): DayStats {
  const { fromMs, toMs } = dayWindow(options.date, options.timeZone);
  const sl = options.serviceLevelSeconds;
  const shortAbandon = options.shortAbandonSeconds;
  const hourly = new Array<number>(24).fill(0);
  const agents = new Map<string, AgentAcc>();
  const agent = (name: string): AgentAcc => {
    let acc = agents.get(name);
    if (!acc) {
      acc = newAgent();
      agents.set(name, acc);
    }
    return acc;
  };
  const stats = {
    offered: 0,
    answered: 0,
    missed: 0,
    abandoned: 0,
    shortAbandoned: 0,
    voicemails: 0,
    callbacks: 0,
    failed: 0,
    withinSl: 0,
    waitSum: 0,
    talkSum: 0,
    longestWait: 0,
  };
  const outbound: OutboundStats = { placed: 0, answered: 0, talkSeconds: 0 };

  const seen = new Set<string>();
  for (const r of records) {
    const started = Date.parse(r.startedAt);
    if (!(started >= fromMs && started < toMs) || seen.has(r.sid)) continue;
    seen.add(r.sid);

    if (r.direction === 'outbound') {
      outbound.placed += 1;
      if (r.outcome === 'answered') {
        outbound.answered += 1;
        outbound.talkSeconds += r.talkSeconds;
      }
      if (r.agent) {
        const a = agent(r.agent).outbound;
        a.placed += 1;
        if (r.outcome === 'answered') {
          a.answered += 1;
          a.talkSeconds += r.talkSeconds;
        }
      }
      continue;
    }

    if (r.outcome === 'failed') {
      stats.failed += 1;
      continue;
    }
    stats.offered += 1;
    const hour = localHour(started, options.timeZone);
    hourly[hour] = (hourly[hour] ?? 0) + 1;
    stats.longestWait = Math.max(stats.longestWait, r.waitSeconds);
    for (const name of new Set(r.rung)) agent(name).offered += 1;

    switch (r.outcome) {
      case 'answered': {
        stats.answered += 1;
        stats.waitSum += r.waitSeconds;
        stats.talkSum += r.talkSeconds;
        const within = r.waitSeconds <= sl;
        if (within) stats.withinSl += 1;
        if (r.agent) {
          const a = agent(r.agent);
          a.answered += 1;
          a.waitSum += r.waitSeconds;
          a.talkSum += r.talkSeconds;
          a.longestWait = Math.max(a.longestWait, r.waitSeconds);
          if (within) a.withinSl += 1;
        }
        break;
      }
      case 'abandoned':
        if (isShortAbandon(r, shortAbandon)) stats.shortAbandoned += 1;
        else stats.abandoned += 1;
        break;
      case 'missed':
        stats.missed += 1;
        break;
      case 'voicemail':
        stats.voicemails += 1;
        break;
      case 'callback':
        stats.callbacks += 1;
        break;
    }
  }

  let busiestHour: DayStats['busiestHour'] = null;
  for (let hour = 0; hour < 24; hour++) {
    const offered = hourly[hour] ?? 0;
    if (offered > (busiestHour?.offered ?? 0)) busiestHour = { hour, offered };
  }

  const slBase = stats.answered + stats.abandoned;
  const perAgent: AgentStats[] = [...agents.entries()]
    .map(([name, a]) => ({
      agent: name,
      offered: a.offered,
      answered: a.answered,
      answeredWithinServiceLevel: a.withinSl,
      averageSpeedOfAnswer: mean(a.waitSum, a.answered),
      averageHandleTime: mean(a.talkSum, a.answered),
      longestWait: a.longestWait,
      talkSeconds: a.talkSum,
      outbound: a.outbound,
    }))
    .sort((x, y) => y.answered - x.answered || (x.agent < y.agent ? -1 : x.agent > y.agent ? 1 : 0));

  return {
    date: options.date,
    timeZone: options.timeZone,
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    serviceLevelSeconds: sl,
    shortAbandonSeconds: shortAbandon,
    offered: stats.offered,
    answered: stats.answered,
    missed: stats.missed,
    abandoned: stats.abandoned,
    shortAbandoned: stats.shortAbandoned,
    voicemails: stats.voicemails,
    callbacks: stats.callbacks,
    failed: stats.failed,
    answeredWithinServiceLevel: stats.withinSl,
    serviceLevel: slBase === 0 ? null : Math.round((stats.withinSl / slBase) * 10_000) / 10_000,
    averageSpeedOfAnswer: mean(stats.waitSum, stats.answered),
    averageHandleTime: mean(stats.talkSum, stats.answered),
    longestWait: stats.longestWait,
    hourly,
    busiestHour,
    outbound,
    perAgent,
  };
}
