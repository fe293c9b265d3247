/**
 * Yesterday's KPIs as one Slack message, sent on DAILY_SUMMARY_CRON (default 08:00 in TZ).
 */

import type { HeaderBlock, KnownBlock, SectionBlock } from '@slack/types';
import type { CallRecordStore } from '../records/call-record-store.js';
import { formatDuration } from '../slack/humanize.js';
import { clip, SLACK_LIMITS, slackDate, truncateMrkdwn, untrusted } from '../slack/mrkdwn.js';
import { computeStats, type DayStats } from './call-stats.js';
import { addDays, dayWindow, localDate } from './time-zone.js';

/** The alert (an `Alert` variant): plain data; agent names stay raw here and are escaped when rendered. */
export interface DailySummaryAlert {
  type: 'daily-summary';
  /** The local day summarized, `YYYY-MM-DD`, and its zone. */
  date: string;
  timeZone: string;
  offered: number;
  answered: number;
  missed: number;
  abandoned: number;
  shortAbandoned: number;
  voicemails: number;
  /** 0..1, null when nothing was answered or abandoned. */
  serviceLevel: number | null;
  serviceLevelSeconds: number;
  averageSpeedOfAnswer: number | null;
  averageHandleTime: number | null;
  longestWait: number;
  busiestHour: { hour: number; offered: number } | null;
  outboundPlaced: number;
  /** Agents who answered or placed calls, most answered first (at most {@link MAX_SUMMARY_AGENTS}). */
  agents: Array<{ agent: string; answered: number; talkSeconds: number; outbound: number }>;
  /** When the summary was made, ISO. */
  at: string;
}

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

const pct = (ratio: number | null): string => (ratio === null ? '—' : `${Math.round(ratio * 1000) / 10}%`);
const secs = (s: number | null): string => (s === null ? '—' : formatDuration(s));
const hh = (h: number): string => `${String(h).padStart(2, '0')}:00`;
const hourSpan = (h: number): string => `${hh(h)}–${hh((h + 1) % 24)}`;
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The date as text; anything but `YYYY-MM-DD` (a corrupted stored alert) is not echoed. */
const day = (alert: DailySummaryAlert): string =>
  /^\d{4}-\d{2}-\d{2}$/.test(alert.date) ? alert.date : 'unknown day';

/** Header text. */
export function dailySummaryTitle(alert: DailySummaryAlert): string {
  return `📊 Daily summary for ${day(alert)}`;
}

/**
 * The one-line summary: Slack's notification fallback, and the log line. It holds only numbers
 * and the date (no agent name, no caller), so the same text is safe in Slack and in the log.
 */
export function dailySummaryLine(alert: DailySummaryAlert): string {
  const busiest = alert.busiestHour ? `, busiest ${hourSpan(alert.busiestHour.hour)}` : '';
  return (
    `📊 ${day(alert)}: ${plural(alert.offered, 'call')} offered, ${alert.answered} answered, ` +
    `${alert.missed + alert.abandoned} missed or abandoned, ${plural(alert.voicemails, 'voicemail')}, ` +
    `service level ${pct(alert.serviceLevel)} within ${alert.serviceLevelSeconds}s${busiest}`
  );
}

const mrkdwn = (text: string, max: number = SLACK_LIMITS.sectionText) => ({
  type: 'mrkdwn' as const,
  text: truncateMrkdwn(text, max),
  verbatim: true,
});

/** The blocks under the header: totals, speed, busiest hour, agents, and when. */
export function dailySummaryBlocks(alert: DailySummaryAlert): KnownBlock[] {
  const totals: SectionBlock = {
    type: 'section',
    fields: [
      ['Offered', String(alert.offered)],
      ['Answered', String(alert.answered)],
      ['Missed', String(alert.missed)],
      [
        'Abandoned',
        alert.shortAbandoned
          ? `${alert.abandoned} (+${alert.shortAbandoned} short)`
          : String(alert.abandoned),
      ],
      ['Voicemails', String(alert.voicemails)],
      [`Service level (${alert.serviceLevelSeconds}s)`, pct(alert.serviceLevel)],
      ['Avg. speed of answer', secs(alert.averageSpeedOfAnswer)],
      ['Avg. handle time', secs(alert.averageHandleTime)],
      ['Longest wait', formatDuration(alert.longestWait)],
      [
        'Busiest hour',
        alert.busiestHour
          ? `${hourSpan(alert.busiestHour.hour)} (${plural(alert.busiestHour.offered, 'call')})`
          : '—',
      ],
    ].map(([label, value]) => mrkdwn(`*${label}*\n${value}`, SLACK_LIMITS.fieldText)),
  };
  const blocks: KnownBlock[] = [totals];
  if (alert.agents.length) {
    const lines = alert.agents.map((a) => {
      const parts = [`${a.answered} answered`];
      if (a.outbound) parts.push(`${a.outbound} outbound`);
      parts.push(`${formatDuration(a.talkSeconds)} talk`);
      return `• ${untrusted(a.agent, 80)} — ${parts.join(', ')}`;
    });
    blocks.push({ type: 'section', text: mrkdwn(`*Agents*\n${lines.join('\n')}`) });
  }
  if (alert.outboundPlaced) {
    blocks.push({ type: 'section', text: mrkdwn(`*Outbound calls:* ${alert.outboundPlaced}`) });
  }
  blocks.push({
    type: 'context',
    elements: [
      mrkdwn(`${untrusted(alert.date, 10)} in ${untrusted(alert.timeZone, 64)} · ${slackDate(alert.at)}`),
    ],
  });
  return blocks;
}

/** The whole message: `text` fallback and Block Kit `blocks`. */
export function dailySummaryMessage(alert: DailySummaryAlert): { text: string; blocks: KnownBlock[] } {
  const header: HeaderBlock = {
    type: 'header',
    text: { type: 'plain_text', text: clip(dailySummaryTitle(alert), SLACK_LIMITS.headerText), emoji: true },
  };
  return {
    text: clip(dailySummaryLine(alert), SLACK_LIMITS.fallbackText),
    blocks: [header, ...dailySummaryBlocks(alert)],
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
