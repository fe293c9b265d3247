/**
 * Which event a Slack message is, from the emoji its fallback text starts with (src/slack/messages.ts);
 * a queue callback's attempt (an outbound call) is told by its words: "📞 Callback to …".
 */
export function slackKind(text: string): string {
  const callback = /^(📞|✅|☎️) Callback to /u.exec(text);
  if (callback)
    return { '📞': 'callback-ringing', '✅': 'callback-answered', '☎️': 'callback-ended' }[callback[1]!]!;
  const kinds: Array<[string, string]> = [
    ['📞', 'incoming'],
    ['✅', 'answered'],
    ['❌', 'missed'],
    ['📵', 'abandoned'], // the `missed` event of a caller who hung up while agents rang
    ['📩', 'voicemail'],
    ['☎️', 'completed'],
    ['👥', 'roster-changed'],
    ['🚫', 'roster-unreachable'],
    ['🚨', 'job-failing'],
    ['🟢', 'job-recovered'],
    ['⚠️', 'low-balance'],
    ['💰', 'balance-recovered'],
    ['🗂️', 'backlog'],
    ['⏸️', 'agent-auto-paused'],
    ['🚪', 'queue-abandoned'],
    ['⏱️', 'service-level-breached'],
    ['🙈', 'no-agent-signed-in'],
    ['📴', 'callback-failed'],
  ];
  return kinds.find(([emoji]) => text.startsWith(emoji))?.[1] ?? text;
}

/**
 * Every event a posted Slack message stands for, in order: the earlier alerts of the call the
 * outbox folded into it (context block `folded`, src/slack/messages.ts) and then its own.
 */
export function slackEvents(message: { text: string; blocks?: unknown[] }): string[] {
  const folded = (
    message.blocks as Array<{ block_id?: string; elements?: Array<{ text?: string }> }> | undefined
  )?.find((b) => b.block_id === 'folded');
  return [...(folded?.elements ?? []).map((e) => slackKind(e.text ?? '')), slackKind(message.text)];
}

/** The fallback text of a posted message preceded by the lines of the alerts folded into it. */
export function slackTexts(message: { text: string; blocks?: unknown[] }): string[] {
  const folded = (
    message.blocks as Array<{ block_id?: string; elements?: Array<{ text?: string }> }> | undefined
  )?.find((b) => b.block_id === 'folded');
  return [...(folded?.elements ?? []).map((e) => e.text ?? ''), message.text];
}
