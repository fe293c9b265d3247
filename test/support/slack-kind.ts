/** Which event a Slack message is, from the emoji its fallback text starts with (src/slack/messages.ts). */
export function slackKind(text: string): string {
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
  ];
  return kinds.find(([emoji]) => text.startsWith(emoji))?.[1] ?? text;
}
