/**
 * Making untrusted text safe inside Slack mrkdwn. Slack parses `<…>` as links, mentions and
 * `<!channel>`-style commands, so a caller ID such as `<!channel>` would page a whole channel if
 * posted raw. Slack asks for exactly three characters to be escaped:
 * https://docs.slack.dev/messaging/formatting-message-text#escaping
 */

/** Block Kit limits (https://api.slack.com/reference/block-kit/blocks, `@slack/types` JSDoc). */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  fields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  /** Slack truncates top-level `text` beyond 40,000 characters; we stay far below. */
  fallbackText: 3000,
} as const;

/** Escapes `&`, `<` and `>` so Slack shows the text instead of executing it. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Cuts plain text to at most `max` UTF-16 units, ending with `…` when cut, without splitting a
 * surrogate pair (half an emoji would make the payload invalid UTF-8 for Slack).
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let cut = text.slice(0, max - 1);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * Cuts finished mrkdwn to at most `max` characters like {@link clip}, and also never leaves half
 * an entity (`&am`) or half a `<…>` link/date token for Slack to misparse.
 */
export function truncateMrkdwn(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let cut = clip(text, max).slice(0, -1);
  const lastOpen = cut.lastIndexOf('<');
  if (lastOpen > cut.lastIndexOf('>')) cut = cut.slice(0, lastOpen);
  const lastAmp = cut.lastIndexOf('&');
  if (lastAmp >= 0 && lastAmp > cut.lastIndexOf(';') && cut.length - lastAmp < 6) cut = cut.slice(0, lastAmp);
  return `${cut}…`;
}

/**
 * Control characters (CR, LF, tab, NUL, …), the Unicode line/paragraph separators and the bidi
 * controls that reorder text on screen. A caller name such as `Bob\n*URGENT* call +1900…` would
 * otherwise start a line of its own in the message, and `\u202E` would show text reversed.
 */
const CONTROL = /[\p{Cc}\u2028\u2029\u200E\u200F\u202A-\u202E\u2066-\u2069]+/gu;

/** Untrusted text as one line: every run of control characters becomes one space. */
export function flatten(text: string): string {
  return text.replace(CONTROL, ' ');
}

/**
 * Untrusted text for mrkdwn: flattened to one line, cut to `maxRaw` characters, then escaped
 * (cut first, so no entity is split).
 */
export function untrusted(text: string, maxRaw: number): string {
  return escapeMrkdwn(clip(flatten(text), maxRaw));
}

/**
 * Whether a recording URL may be linked: https on a Telnyx host (api.telnyx.com, *.telnyx.com),
 * Telnyx's own recording bucket (https://s3.amazonaws.com/telephony-recorder-prod/, see
 * https://developers.telnyx.com/docs/voice/programmable-voice/storing-call-recordings), or under
 * one of `extraPrefixes` (RECORDING_URL_PREFIXES, e.g. your own storage bucket). Anything else
 * came from a request we cannot vouch for and is shown as text, never as a link.
 */
export const TELNYX_RECORDING_PREFIXES: readonly string[] = [
  'https://s3.amazonaws.com/telephony-recorder-prod/',
];

export function isTrustedRecordingUrl(raw: string, extraPrefixes: readonly string[] = []): boolean {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.port) return false;
  const host = url.hostname.toLowerCase();
  if (host === 'telnyx.com' || host.endsWith('.telnyx.com')) return true;
  return [...TELNYX_RECORDING_PREFIXES, ...extraPrefixes].some((prefix) => {
    const p = new URL(prefix);
    const base = p.href.endsWith('/') ? p.href : `${p.href}/`;
    return url.href.startsWith(base);
  });
}

/**
 * The URL as a safe mrkdwn link target, or undefined if it is not an absolute http(s) URL.
 * `|` would end the target and `<`/`>` would end the link, so they are percent-encoded (the URL
 * parser already encodes spaces, quotes and most control characters); `&` becomes `&amp;` as
 * Slack expects inside links.
 */
export function safeLinkTarget(raw: string, maxLength = 2500): string | undefined {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  const target = url.href
    .replace(/\|/g, '%7C')
    .replace(/</g, '%3C')
    .replace(/>/g, '%3E')
    .replace(/&/g, '&amp;');
  return target.length <= maxLength ? target : undefined;
}

/** `<url|label>` for an http(s) URL, or undefined when the URL cannot be linked safely. */
export function mrkdwnLink(rawUrl: string, label: string): string | undefined {
  const target = safeLinkTarget(rawUrl);
  return target === undefined ? undefined : `<${target}|${escapeMrkdwn(label)}>`;
}

/**
 * A Slack date token: every reader sees the time in their own time zone, with the ISO string as
 * the fallback for clients that cannot render it. https://docs.slack.dev/messaging/formatting-message-text#date-formatting
 */
export function slackDate(iso: string): string {
  // Only an ISO 8601 time (what alerts carry, from toISOString) becomes a token: Date.parse also
  // reads "50" or "May 1", and a stored value that odd is shown escaped, as text.
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(iso) ? Date.parse(iso) : Number.NaN;
  if (!Number.isFinite(ms)) return untrusted(iso, 64);
  const fallback = new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${fallback}>`;
}
