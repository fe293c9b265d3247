/**
 * Yesterday's KPIs as one alert (rendered for Slack by src/slack/daily-summary-message.ts), sent on DAILY_SUMMARY_CRON (default 08:00 in TZ).
 */

import type { DailySummaryAlert } from '../alerts/alert.js';
import type { CallRecordStore } from '../records/call-record-store.js';
import { computeStats, type DayStats } from './call-stats.js';
import { addDays, dayWindow, localDate } from './time-zone.js';

export const MAX_SUMMARY_AGENTS = 10;

/** The summary of a day's stats. */
export function buildDailySummary(stats: DayStats, at: number): DailySummaryAlert {
  return {
    type: 'daily-summary',
    date: stats.date,
    timeZone: stats.timeZone,
    offered: stats.offered,
    answered: stats.answered,
    missed: stats.missed,
    abandoned: stats.abandoned,
    shortAbandoned: stats.shortAbandoned,
    voicemails: stats.voicemails,
    serviceLevel: stats.serviceLevel,
    serviceLevelSeconds: stats.serviceLevelSeconds,
    averageSpeedOfAnswer: stats.averageSpeedOfAnswer,
    averageHandleTime: stats.averageHandleTime,
    longestWait: stats.longestWait,
    busiestHour: stats.busiestHour,
    outboundPlaced: stats.outbound.placed,
    agents: stats.perAgent
      .filter((a) => a.answered > 0 || a.outbound.placed > 0)
      .slice(0, MAX_SUMMARY_AGENTS)
      .map((a) => ({
        agent: a.agent,
        answered: a.answered,
        talkSeconds: a.talkSeconds + a.outbound.talkSeconds,
        outbound: a.outbound.placed,
      })),
    at: new Date(at).toISOString(),
  };
}

export interface DailySummaryJobOptions {
  store: Pick<CallRecordStore, 'range'>;
  /** The outbox (`Notifier`): idempotent by key, so every replica may run the job. */
  notifier: { enqueue(key: string, alert: DailySummaryAlert): Promise<boolean> };
  /** TZ: "yesterday" and its hours are read in this zone. */
  timeZone: string;
  serviceLevelSeconds: number;
  shortAbandonSeconds: number;
  now?: () => number;
}

/**
 * Computes yesterday (in `timeZone`, relative to `now`) and enqueues its summary with key
 * `summary:<date>`: however many replicas or retries run it, Slack gets one message per day.
 */
export async function runDailySummary(
  options: DailySummaryJobOptions,
): Promise<{ date: string; enqueued: boolean; stats: DayStats }> {
  const now = (options.now ?? Date.now)();
  const date = addDays(localDate(now, options.timeZone), -1);
  const { fromMs, toMs } = dayWindow(date, options.timeZone);
  const stats = computeStats(await options.store.range(fromMs, toMs), {
    date,
    timeZone: options.timeZone,
    serviceLevelSeconds: options.serviceLevelSeconds,
    shortAbandonSeconds: options.shortAbandonSeconds,
  });
  const enqueued = await options.notifier.enqueue(`summary:${date}`, buildDailySummary(stats, now));
  return { date, enqueued, stats };
}
