import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENTS, eventually, startServer, type TestServer } from '../helper.js';
import { useFakeSlack } from '../support/fake-slack.js';
import { slackTexts } from '../support/slack-kind.js';
import { anyText, FORM, NASTY_STRINGS } from './hostile-input.js';

/**
 * docs/interface.md §3 "Escaping" on the Slack side, end to end: random and hostile caller numbers,
 * caller names, recording URLs and agent names go through real calls into real webhook posts.
 * Slack (the fake checks Block Kit's limits) must accept every message, and no caller- or
 * roster-controlled text may open a `<…>` token (link, mention, `<!channel>`) or a raw entity.
 */

const RUNS = Math.ceil(Number(process.env.PROPERTY_RUNS ?? 150) / 3);
const HOSTILE_AGENT = 'Eve <!channel> & *Mallory* <https://evil.example|x>';

/** The `<…>` tokens our own message builders write: Slack dates and the recording link. */
const OWN_TOKENS = [
  /<!date\^\d+\^\{date_short_pretty\} \{time_secs\}\|[^<>]*>/g,
  /<https?:\/\/[^\s|<>]+\|Listen to the recording>/g,
];

/** Every mrkdwn/plain text string of a posted message. */
function texts(message: { text: string; blocks?: unknown[] }): string[] {
  const out = [message.text];
  for (const block of (message.blocks ?? []) as Array<Record<string, unknown>>) {
    const text = block.text as { text?: string } | undefined;
    if (text?.text) out.push(text.text);
    for (const f of (block.fields as Array<{ text?: string }> | undefined) ?? [])
      if (f.text) out.push(f.text);
    for (const e of (block.elements as Array<{ text?: string }> | undefined) ?? [])
      if (e.text) out.push(e.text);
  }
  return out;
}

/** Why a string is not safely escaped mrkdwn, or undefined. */
function unsafe(text: string): string | undefined {
  let rest = text;
  for (const token of OWN_TOKENS) rest = rest.replace(token, '');
  if (/[<>]/.test(rest)) return `raw < or > in ${JSON.stringify(text.slice(0, 300))}`;
  if (/&(?!(amp|lt|gt);)/.test(rest)) return `raw & in ${JSON.stringify(text.slice(0, 300))}`;
  return undefined;
}

describe('Slack text under hostile caller and roster input', () => {
  let server: TestServer;
  // One app for the whole property run, so one fake Slack for it too.
  const slack = useFakeSlack({ scope: 'all' });
  beforeAll(async () => {
    server = await startServer({
      env: {
        SLACK_WEBHOOK_URL: slack.url,
        PUBLIC_URL: 'https://sb.example.com',
        AGENTS: `${AGENTS},${HOSTILE_AGENT}=sip:eve@sip.telnyx.com`,
      },
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  const post = (path: string, params: Record<string, string>) =>
    server.app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': FORM },
      payload: new URLSearchParams(params).toString(),
    });

  const caller = fc.record({
    from: fc.oneof(anyText, fc.constantFrom('+13125550100', ...NASTY_STRINGS)),
    name: fc.oneof(anyText, fc.constantFrom(...NASTY_STRINGS)),
    recordingUrl: fc.oneof(
      fc.constantFrom(
        'https://api.telnyx.com/v2/recordings/abc.mp3',
        'https://evil.example/x>|<!channel>',
        'https://evil.example/a&b<c>d|e',
        'http://evil.example/"onmouseover="x',
        `https://evil.example/${'long'.repeat(700)}`,
        'javascript:alert(1)',
      ),
      anyText.map((s) => `https://evil.example/${s}`),
    ),
    voicemail: fc.boolean(),
  });

  it('every alert reaches Slack, and caller or roster text never becomes a link, mention or command', async () => {
    let expected = 0;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(caller, async (c) => {
        const sid = `v3:slack${process.pid}n${++n}`;
        const base = { CallSid: sid, From: c.from, To: '+18005550199', CallerId: c.name };
        expect((await post('/texml/inbound', base)).statusCode).toBe(200);
        if (c.voicemail) {
          // Every ring round unanswered, until the voicemail <Record> (the round count is in the store).
          for (let round = 0; round < 10; round++) {
            const res = await post('/texml/dial-result', { ...base, DialCallStatus: 'no-answer' });
            expect(res.statusCode).toBe(200);
            if (res.body.includes('<Record')) break;
          }
          const rec = {
            ...base,
            RecordingStatus: 'completed',
            RecordingUrl: c.recordingUrl,
            RecordingDuration: '7',
          };
          expect((await post('/texml/recording', rec)).statusCode).toBe(200);
          // A URL that is not http(s) is no recording: the caller hung up, a missed call.
          expect((await post('/texml/status', { ...base, CallStatus: 'completed' })).statusCode).toBe(200);
        } else {
          expect((await post('/texml/status', { ...base, CallStatus: 'completed' })).statusCode).toBe(200);
        }
        expected += 2; // incoming, then voicemail or missed
      }),
      { numRuns: RUNS },
    );
    // Once Slack is behind, a call's later alert carries its unsent earlier one (src/alerts/outbox.ts).
    await eventually(
      () => expect(slack.accepted().flatMap(slackTexts).length).toBeGreaterThanOrEqual(expected),
      15_000,
    );
    const refused = slack.requests.filter((r) => r.status !== 200);
    expect(
      refused.map((r) => `${r.status} ${r.response}: ${r.raw.slice(0, 300)}`),
      'Slack refused these',
    ).toEqual([]);
    expect(await server.app.services.outbox.deadLetters()).toEqual([]);
    const problems = slack
      .accepted()
      .flatMap((m) => texts(m))
      .map(unsafe)
      .filter(Boolean);
    expect(problems).toEqual([]);
    // the hostile agent name was rung and shown (escaped), so the check above covered it
    expect(slack.accepted().some((m) => m.text.includes('Eve &lt;!channel&gt; &amp; *Mallory*'))).toBe(true);
  });
});
