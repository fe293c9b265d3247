import type { ContextBlock, HeaderBlock, KnownBlock, MrkdwnElement, SectionBlock } from '@slack/types';
import type { Alert, AlertType, CallbackAlertInfo, ClosedAlertInfo } from '../alerts/alert.js';
import { dailySummaryBlocks, dailySummaryLine, dailySummaryTitle } from './daily-summary-message.js';
import { formatDuration, maskPhoneNumber } from './humanize.js';
import {
  clip,
  flatten,
  isTrustedRecordingUrl,
  mrkdwnLink,
  SLACK_LIMITS,
  slackDate,
  truncateMrkdwn,
  untrusted,
} from './mrkdwn.js';

/** What is posted to the webhook: `text` is the notification / screen-reader fallback for `blocks`. */
export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/** How much of one untrusted value we show before cutting it (a caller name is never legitimately longer). */
const MAX_VALUE = 200;
/** Budget for lists of names and error texts, so escaping (up to 5× growth) stays within field limits. */
const MAX_LIST = 1500;
const MAX_ERROR = 500;

/**
 * How the summary line renders untrusted values: escaped mrkdwn for Slack, masked plain text for
 * the log. One summary per alert type serves both, so the console shows what Slack would.
 */
interface Voice {
  phone(value: string): string;
  /** A caller's display name (CNAM), or '' where it is personal data we do not repeat (the log). */
  callerName(value: string): string;
  name(value: string): string;
  list(values: readonly string[]): string;
  text(value: string, max: number): string;
}

const slackVoice: Voice = {
  phone: (v) => (v.trim() ? untrusted(v.trim(), MAX_VALUE) : 'a withheld number'),
  callerName: (v) => untrusted(v, MAX_VALUE),
  name: (v) => untrusted(v, MAX_VALUE),
  list: (vs) => untrusted(vs.join(', '), MAX_LIST),
  text: (v, max) => untrusted(v, max),
};

/**
 * Plain text for the log: control characters (a caller name could forge extra lines in a terminal)
 * become spaces, and anything that looks like a phone number is masked, wherever it appears.
 */
const plain = (v: string, max: number): string =>
  clip(
    v
      .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
      .replace(/\+?\d[\d\s().-]{4,}\d/g, (run) =>
        run.replace(/\D/g, '').length >= 7 ? maskPhoneNumber(run) : run,
      ),
    max,
  );

const logVoice: Voice = {
  phone: (v) => (v.trim() ? plain(maskPhoneNumber(v.trim()), MAX_VALUE) : 'a withheld number'),
  callerName: () => '',
  name: (v) => plain(v, 80),
  list: (vs) => plain(vs.join(', '), 300),
  text: (v, max) => plain(v, Math.min(max, 300)),
};

const MISSED_REASON: Record<AlertOf<'missed'>['reason'], string> = {
  'caller-hung-up': 'caller hung up while agents rang',
  'no-answer': 'no agent answered',
  'no-agents': 'no agent online',
  closed: 'closed',
};

/** Why the queue was closed, in words (docs/interface.md §9). */
const CLOSED_REASON: Record<ClosedAlertInfo['reason'], string> = {
  'after-hours': 'after hours',
  holiday: 'holiday',
  closure: 'closure',
  manual: 'closed by hand',
};

/** "holiday: Christmas Day", "after hours": the reason, and the file's or override's own words. */
const closedText = (c: ClosedAlertInfo, v: Voice): string =>
  `${CLOSED_REASON[c.reason] ?? 'closed'}${c.detail ? `: ${v.text(c.detail, MAX_VALUE)}` : ''}`;

/** The Queue field of a call message, when the call has a queue. */
const queueField = (a: { queue?: string }): Array<readonly [string, string]> =>
  a.queue ? [['Queue', v.name(a.queue)] as const] : [];

const money = (v: Voice, amount: string, currency: string): string =>
  `${v.text(amount, 40)} ${v.text(currency, 10)}`;

const mrkdwn = (text: string, max: number = SLACK_LIMITS.sectionText): MrkdwnElement => ({
  type: 'mrkdwn',
  text: truncateMrkdwn(text, max),
  // verbatim: Slack must not auto-link URLs or names that a caller put into their caller ID.
  verbatim: true,
});

const header = (text: string): HeaderBlock => ({
  type: 'header',
  text: { type: 'plain_text', text: clip(text, SLACK_LIMITS.headerText), emoji: true },
});

const section = (text: string): SectionBlock => ({ type: 'section', text: mrkdwn(text) });

const fields = (pairs: ReadonlyArray<readonly [label: string, value: string]>): SectionBlock => ({
  type: 'section',
  fields: pairs
    .slice(0, SLACK_LIMITS.fields)
    .map(([label, value]) => mrkdwn(`*${label}*\n${value}`, SLACK_LIMITS.fieldText)),
});

const context = (alert: Alert, extra?: string): ContextBlock => ({
  type: 'context',
  elements: [mrkdwn(extra ? `${slackDate(alert.at)} · ${extra}` : slackDate(alert.at))],
});

const callContext = (alert: Alert & { callSid: string }): ContextBlock =>
  context(alert, `call \`${untrusted(alert.callSid, 100)}\``);

const v = slackVoice;

/** "attempt 2 of 3", or "attempt 2" when the queue's number of attempts is unknown. */
const attemptText = (c: CallbackAlertInfo): string =>
  `attempt ${c.attempt}${c.attempts ? ` of ${c.attempts}` : ''}`;

/** "Callback to +1… for queue support, attempt 2 of 3": what a queue callback's message is about. */
const callbackPhrase = (a: { to: string }, c: CallbackAlertInfo, v: Voice): string =>
  `Callback to ${v.phone(a.to)} for queue ${v.name(c.queue)}, ${attemptText(c)}`;

const callbackFields = (c: CallbackAlertInfo | undefined): Array<readonly [string, string]> =>
  c
    ? [
        ['Queue', v.name(c.queue)],
        ['Attempt', attemptText(c).replace(/^attempt /, '')],
      ]
    : [];

/** The call's sid, and for a callback the caller's original call too (as `callback-failed` shows). */
const outboundContext = (a: Alert & { callSid: string; callback?: CallbackAlertInfo }): ContextBlock =>
  a.callback
    ? context(
        a,
        `call \`${untrusted(a.callSid, 100)}\` · callback of call \`${untrusted(a.callback.callSid, 100)}\``,
      )
    : callContext(a);

/** One alert type's presentation: header title, summary line (Slack fallback and log line), blocks. */
interface AlertView<A extends Alert> {
  title(alert: A): string;
  summary(alert: A, v: Voice): string;
  /** The blocks under the header. */
  body(alert: A, options: MessageOptions): KnownBlock[];
}

export interface MessageOptions {
  /** RECORDING_URL_PREFIXES: where a recording may be linked besides Telnyx's own hosts. */
  recordingUrlPrefixes?: readonly string[];
  /** Earlier alerts of the same call this message supersedes (the outbox folded them into it). */
  folded?: readonly Alert[];
}

type AlertOf<T extends AlertType> = Extract<Alert, { type: T }>;

const views: { [T in AlertType]: AlertView<AlertOf<T>> } = {
  incoming: {
    title: () => '📞 Incoming call',
    summary: (a, v) =>
      `📞 Incoming call from ${v.phone(a.from)}${a.callerName && v.callerName(a.callerName) ? ` (${v.callerName(a.callerName)})` : ''} — ${
        a.agents.length ? `ringing ${v.list(a.agents)}` : 'no agent online'
      }`,
    body: (a) => [
      fields([
        ['Caller', a.callerName ? `${v.phone(a.from)}\n${v.callerName(a.callerName)}` : v.phone(a.from)],
        ['Ringing', a.agents.length ? v.list(a.agents) : '_no agent online_'],
        ...queueField(a),
      ]),
      callContext(a),
    ],
  },
  answered: {
    title: () => '✅ Call answered',
    summary: (a, v) =>
      `✅ ${v.name(a.agent)} answered ${v.phone(a.from)} after ${formatDuration(a.waitSeconds)}`,
    body: (a) => [
      fields([
        ['Caller', v.phone(a.from)],
        ['Agent', v.name(a.agent)],
        ['Waited', formatDuration(a.waitSeconds)],
        ...queueField(a),
      ]),
      callContext(a),
    ],
  },
  // One event, two words as the README defines them: a caller who hung up while agents rang
  // *abandoned* the call; one nobody answered (and who left no voicemail) is *missed*.
  missed: {
    title: (a) => (a.reason === 'caller-hung-up' ? '📵 Abandoned call' : '❌ Missed call'),
    summary: (a, v) =>
      a.reason === 'caller-hung-up'
        ? `📵 Abandoned call from ${v.phone(a.from)} — hung up after ${formatDuration(a.waitSeconds)} waiting`
        : a.reason === 'closed'
          ? `❌ Missed call from ${v.phone(a.from)} while ${a.queue ? `queue ${v.name(a.queue)}` : 'the line'} was closed (${a.closed ? closedText(a.closed, v) : 'closed'}); no message left`
          : `❌ Missed call from ${v.phone(a.from)} after ${formatDuration(a.waitSeconds)} (${MISSED_REASON[a.reason]})`,
    body: (a) => [
      fields([
        ['Caller', v.phone(a.from)],
        ['Waited', formatDuration(a.waitSeconds)],
        [
          'Why',
          a.reason === 'closed' && a.closed
            ? `closed (${closedText(a.closed, v)})`
            : (MISSED_REASON[a.reason] ?? 'missed'),
        ],
        ...queueField(a),
      ]),
      callContext(a),
    ],
  },
  voicemail: {
    title: (a) => (a.closed ? '📩 New voicemail (while closed)' : '📩 New voicemail'),
    summary: (a, v) =>
      `📩 Voicemail from ${v.phone(a.from)} (${formatDuration(a.durationSeconds)})${
        a.closed
          ? `, left while ${a.queue ? `queue ${v.name(a.queue)}` : 'the line'} was closed (${closedText(a.closed, v)})`
          : ''
      }`,
    body: (a, o) => {
      // Only a URL on a Telnyx host (or a configured one) becomes a link; any other is shown as
      // text, so a forged callback cannot put a phishing link behind "Listen to the recording".
      const trusted = isTrustedRecordingUrl(a.recordingUrl, o.recordingUrlPrefixes);
      const link = trusted ? mrkdwnLink(a.recordingUrl, 'Listen to the recording') : undefined;
      const shown = flatten(a.recordingUrl).trim();
      return [
        fields([
          ['Caller', v.phone(a.from)],
          ['Length', formatDuration(a.durationSeconds)],
          ...queueField(a),
          ...(a.closed ? [['Left while closed', closedText(a.closed, v)] as const] : []),
        ]),
        section(
          link
            ? `🎧 ${link}`
            : shown && !trusted
              ? `🎧 _Recording at an unrecognised address (not linked; find it in the Telnyx portal):_ \`${untrusted(shown, 500).replace(/`/g, "'")}\``
              : '🎧 _The recording URL is not a web link; find it in the Telnyx portal._',
        ),
        callContext(a),
      ];
    },
  },
  completed: {
    title: () => '☎️ Call completed',
    summary: (a, v) =>
      `☎️ ${v.name(a.agent)} finished a ${formatDuration(a.talkSeconds)} call with ${v.phone(a.from)}`,
    body: (a) => [
      fields([
        ['Caller', v.phone(a.from)],
        ['Agent', v.name(a.agent)],
        ['Talk time', formatDuration(a.talkSeconds)],
        ['Waited', formatDuration(a.waitSeconds)],
        ...queueField(a),
      ]),
      callContext(a),
    ],
  },
  // A queue callback's attempt is an outbound call too; it is told as the callback it is.
  'outbound-ringing': {
    title: (a) => (a.callback ? '📞 Callback ringing' : '📤 Outbound call ringing'),
    summary: (a, v) =>
      a.callback
        ? `📞 ${callbackPhrase(a, a.callback, v)} — ringing agent ${v.name(a.agent)}`
        : `📤 Outbound call from ${v.name(a.agent)} to ${v.phone(a.to)} is ringing`,
    body: (a) => [
      fields([
        ['Agent', v.name(a.agent)],
        [a.callback ? 'Caller' : 'Customer', v.phone(a.to)],
        ...callbackFields(a.callback),
      ]),
      outboundContext(a),
    ],
  },
  'outbound-answered': {
    title: (a) => (a.callback ? '✅ Callback answered' : '📤 Outbound call answered'),
    summary: (a, v) =>
      a.callback
        ? `✅ ${callbackPhrase(a, a.callback, v)} — answered, agent ${v.name(a.agent)}`
        : `📤 Outbound call from ${v.name(a.agent)} to ${v.phone(a.to)} was answered`,
    body: (a) => [
      fields([
        ['Agent', v.name(a.agent)],
        [a.callback ? 'Caller' : 'Customer', v.phone(a.to)],
        ...callbackFields(a.callback),
      ]),
      outboundContext(a),
    ],
  },
  'outbound-completed': {
    title: (a) => (a.callback ? '☎️ Callback ended' : '☎️ Outbound call ended'),
    summary: (a, v) =>
      a.callback
        ? `☎️ ${callbackPhrase(a, a.callback, v)} — ${
            a.answered ? `ended after ${formatDuration(a.talkSeconds)}` : 'ended without reaching the caller'
          }, agent ${v.name(a.agent)}`
        : `☎️ Outbound call from ${v.name(a.agent)} to ${v.phone(a.to)} ended ${
            a.answered ? `after ${formatDuration(a.talkSeconds)}` : 'unanswered'
          }`,
    body: (a) => [
      fields([
        ['Agent', v.name(a.agent)],
        [a.callback ? 'Caller' : 'Customer', v.phone(a.to)],
        ...callbackFields(a.callback),
        ['Talk time', a.answered ? formatDuration(a.talkSeconds) : '_not answered_'],
      ]),
      outboundContext(a),
    ],
  },
  'roster-changed': {
    title: () => '👥 Agent roster changed',
    summary: (a, v) => {
      const parts = [
        a.added.length ? `added ${v.list(a.added)}` : '',
        a.removed.length ? `removed ${v.list(a.removed)}` : '',
      ].filter(Boolean);
      return `👥 Agent roster changed: ${parts.length ? parts.join('; ') : 'no changes'}`;
    },
    body: (a) => [
      fields([
        ['Added', a.added.length ? v.list(a.added) : '_nobody_'],
        ['Removed', a.removed.length ? v.list(a.removed) : '_nobody_'],
      ]),
      context(a),
    ],
  },
  'roster-unreachable': {
    title: () => '🚫 Agents Telnyx will not ring',
    summary: (a, v) =>
      a.agents.length
        ? `🚫 ${a.agents.length === 1 ? '1 agent' : `${a.agents.length} agents`} cannot be rung: ${v.list(a.agents)} (SIP URI calling is disabled on their Telnyx connection)`
        : `🚫 SIP URI calling enabled for ${v.list(a.enabled)}: they can be rung again`,
    body: (a) => [
      fields([
        ['Not rung', a.agents.length ? v.list(a.agents) : '_nobody_'],
        ['Fixed by Switchboard', a.enabled.length ? v.list(a.enabled) : '_nobody_'],
      ]),
      section(
        a.agents.length
          ? 'Telnyx refuses calls to `sip:user_name@sip.telnyx.com` while a credential connection has SIP URI calling disabled (its default). Fix: in the Telnyx portal open each SIP connection → Inbound → SIP URI calling and allow calls from your connections (`internal`), or set `AGENT_SIP_URI_CALLING=enable` and Switchboard sets it.'
          : 'Switchboard set `sip_uri_calling_preference` to `internal` on these connections (AGENT_SIP_URI_CALLING=enable).',
      ),
      context(a),
    ],
  },
  'low-balance': {
    title: (a) => (a.reminder ? '⚠️ Telnyx balance still low' : '⚠️ Low Telnyx balance'),
    summary: (a, v) =>
      `⚠️ ${a.reminder ? 'Still low' : 'Low'} Telnyx balance: ${money(v, a.amount, a.currency)} available, below the ${money(v, a.threshold, a.currency)} threshold`,
    body: (a) => [
      fields([
        ['Available', money(v, a.amount, a.currency)],
        ['Threshold', money(v, a.threshold, a.currency)],
      ]),
      context(a),
    ],
  },
  'balance-recovered': {
    title: () => '💰 Telnyx balance recovered',
    summary: (a, v) =>
      `💰 Telnyx balance recovered: ${money(v, a.amount, a.currency)} available, above the ${money(v, a.threshold, a.currency)} threshold`,
    body: (a) => [
      fields([
        ['Available', money(v, a.amount, a.currency)],
        ['Threshold', money(v, a.threshold, a.currency)],
      ]),
      context(a),
    ],
  },
  'job-failing': {
    title: () => '🚨 Scheduled job failing',
    summary: (a, v) => `🚨 Job ${v.name(a.job)} is failing: ${v.text(a.error, MAX_ERROR)}`,
    body: (a) => [
      fields([['Job', v.name(a.job)]]),
      section(`\`\`\`${v.text(a.error, MAX_ERROR)}\`\`\``),
      context(a),
    ],
  },
  'agent-auto-paused': {
    title: () => '⏸️ Agent put on break',
    summary: (a, v) =>
      `⏸️ ${v.name(a.agent)} was put on break after ${a.noAnswers} unanswered ${a.noAnswers === 1 ? 'offer' : 'offers'} in a row`,
    body: (a) => [
      fields([
        ['Agent', v.name(a.agent)],
        ['Unanswered offers', String(a.noAnswers)],
      ]),
      section('No more calls are offered to this agent until the status is set to available again.'),
      context(a),
    ],
  },
  'queue-abandoned': {
    title: () => '🚪 Caller left the queue',
    summary: (a, v) =>
      `🚪 ${v.phone(a.from)} hung up in queue ${v.name(a.queue)} after ${formatDuration(a.waitSeconds)} at position ${a.position}`,
    body: (a) => [
      fields([
        ['Caller', v.phone(a.from)],
        ['Queue', v.name(a.queue)],
        ['Waited', formatDuration(a.waitSeconds)],
        ['Position', String(a.position)],
      ]),
      callContext(a),
    ],
  },
  'service-level-breached': {
    title: () => '⏱️ Service level breached',
    summary: (a, v) =>
      `⏱️ A caller in queue ${v.name(a.queue)} has waited ${formatDuration(a.waitSeconds)}, over the service-level target`,
    body: (a) => [
      fields([
        ['Queue', v.name(a.queue)],
        ['Waiting', formatDuration(a.waitSeconds)],
      ]),
      callContext(a),
    ],
  },
  'no-agent-signed-in': {
    title: () => '🙈 No agent signed in',
    summary: (a, v) => `🙈 Callers are reaching queue ${v.name(a.queue)} but no agent of it is signed in`,
    body: (a) => [
      fields([['Queue', v.name(a.queue)]]),
      section('Callers go to voicemail until an agent of this queue sets the status to available.'),
      context(a),
    ],
  },
  'callback-failed': {
    title: () => '☎️ Callback failed',
    summary: (a, v) =>
      `📴 Callback to ${v.phone(a.from)} (queue ${v.name(a.queue)}) failed after ${a.attempts} ${a.attempts === 1 ? 'attempt' : 'attempts'}`,
    body: (a) => [
      fields([
        ['Caller', v.phone(a.from)],
        ['Queue', v.name(a.queue)],
        ['Attempts', String(a.attempts)],
      ]),
      callContext(a),
    ],
  },
  'job-recovered': {
    title: () => '🟢 Scheduled job recovered',
    summary: (a, v) =>
      `🟢 Job ${v.name(a.job)} recovered after ${a.failures} failed ${a.failures === 1 ? 'run' : 'runs'}`,
    body: (a) => [
      fields([
        ['Job', v.name(a.job)],
        ['Failed runs', String(a.failures)],
      ]),
      context(a),
    ],
  },
  backlog: {
    title: () => '🗂️ Calls summarized (Slack backlog)',
    summary: (a, v) =>
      `🗂️ ${backlogTotal(a)} call alerts summarized instead of posted one by one: ${backlogCounts(a, v)}`,
    body: (a) => [
      section(
        `*${backlogTotal(a)}* call alerts from ${slackDate(a.since)} to ${slackDate(a.until)} were not posted one by one, to keep urgent alerts on time: ${backlogCounts(a, v)}`,
      ),
      context(a),
    ],
  },
  // Numbers, the date and escaped agent names only: built in src/stats/daily-summary.ts.
  'daily-summary': {
    title: dailySummaryTitle,
    summary: (a) => dailySummaryLine(a),
    body: dailySummaryBlocks,
  },
};

const backlogTotal = (a: AlertOf<'backlog'>): number =>
  Object.values(a.counts).reduce((sum, n) => sum + (Number.isFinite(n) ? n : 0), 0);

const backlogCounts = (a: AlertOf<'backlog'>, v: Voice): string =>
  Object.entries(a.counts)
    .map(([kind, n]) => `${n} ${v.text(kind, 40)}`)
    .join(', ');

function viewOf(alert: Alert): AlertView<Alert> {
  const view = (views as Record<string, AlertView<Alert> | undefined>)[alert.type];
  if (!view) throw new Error(`unknown alert type ${JSON.stringify(alert.type)}`);
  return view;
}

/**
 * The Slack message for an alert: a short emoji header, the facts as fields, the time as a Slack
 * date token (each reader's own time zone). Every caller- or roster-supplied string is escaped and
 * cut to Block Kit's limits, so the payload is always valid and can never mention or link.
 */
export function buildSlackMessage(alert: Alert, options: MessageOptions = {}): SlackMessage {
  const view = viewOf(alert);
  const blocks = [
    header(view.title(alert)),
    ...view.body(alert, options),
    ...foldedBlocks(options.folded ?? []),
  ].slice(0, SLACK_LIMITS.blocks);
  return { text: truncateMrkdwn(view.summary(alert, slackVoice), SLACK_LIMITS.fallbackText), blocks };
}

/**
 * One pure builder per alert type (the same as {@link buildSlackMessage}, typed per alert), for
 * callers and tests that hold a specific alert type.
 */
export const messageBuilders = Object.fromEntries(
  Object.keys(views).map((type) => [type, (alert: Alert) => buildSlackMessage(alert)]),
) as { [T in AlertType]: (alert: AlertOf<T>) => SlackMessage };

/**
 * The alert as one readable console line, e.g. `[slack] ❌ Missed call from +•••••••0100 after 25s
 * (no agent answered)`: phone numbers masked to their last four digits, control characters removed,
 * no recording URL (it is a bearer link).
 */
export function alertLogLine(alert: Alert, folded: readonly Alert[] = []): string {
  const earlier = folded.map((a) => viewOf(a).summary(a, logVoice));
  return `[slack] ${viewOf(alert).summary(alert, logVoice)}${earlier.length ? ` (earlier: ${earlier.join('; ')})` : ''}`;
}

/**
 * The earlier alerts of the same call that the outbox folded into this one (Slack was behind):
 * one context line each, so the message tells the whole story. Block id `folded`.
 */
function foldedBlocks(folded: readonly Alert[]): KnownBlock[] {
  if (!folded.length) return [];
  return [
    {
      type: 'context',
      block_id: 'folded',
      // A context block holds at most 10 elements; a call's story has 2 or 3.
      elements: folded
        .slice(-SLACK_LIMITS.contextElements)
        .map((a) =>
          mrkdwn(`${viewOf(a).summary(a, slackVoice)} · ${slackDate(a.at)}`, SLACK_LIMITS.fieldText),
        ),
    },
  ];
}
