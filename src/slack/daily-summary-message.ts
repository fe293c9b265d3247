/**
 * The daily summary alert as a Slack message: header, totals, agents, and a one-line fallback
 * that is also the log line. The numbers are computed in src/stats/daily-summary.ts.
 */
import type { HeaderBlock, KnownBlock, SectionBlock } from '@slack/types';
import type { DailySummaryAlert } from '../alerts/alert.js';
import { formatDuration } from './humanize.js';
import { clip, SLACK_LIMITS, slackDate, truncateMrkdwn, untrusted } from './mrkdwn.js';

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
