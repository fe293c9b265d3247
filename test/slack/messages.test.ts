import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { formatDuration, maskPhoneNumber } from '../../src/slack/humanize.js';
import {
  alertLogLine,
  buildSlackMessage,
  messageBuilders,
  type SlackMessage,
} from '../../src/slack/messages.js';
import { clip, escapeMrkdwn, truncateMrkdwn } from '../../src/slack/mrkdwn.js';
import { AT, AT_EPOCH, allSampleAlerts, sampleAlerts, withEveryString } from '../alerts/sample-alerts.js';
import { slackKind } from '../support/slack-kind.js';

/** Just enough of Block Kit's shape to inspect any block. */
interface LooseText {
  type: string;
  text: string;
  verbatim?: boolean;
}
interface LooseBlock {
  type: string;
  text?: LooseText;
  fields?: LooseText[];
  elements?: LooseText[];
}

/** Every mrkdwn / plain_text string in the message, with its Block Kit limit. */
function textsWithLimits(message: SlackMessage): Array<{ text: string; max: number }> {
  const out: Array<{ text: string; max: number }> = [{ text: message.text, max: 3000 }];
  for (const block of message.blocks as LooseBlock[]) {
    if (block.type === 'header') out.push({ text: block.text?.text ?? '', max: 150 });
    if (block.type === 'section') {
      if (block.text) out.push({ text: block.text.text, max: 3000 });
      for (const field of block.fields ?? []) out.push({ text: field.text, max: 2000 });
    }
    if (block.type === 'context')
      for (const el of block.elements ?? []) out.push({ text: el.text, max: 3000 });
  }
  return out;
}

function expectWithinLimits(message: SlackMessage): void {
  expect(message.blocks.length).toBeGreaterThan(0);
  expect(message.blocks.length).toBeLessThanOrEqual(50);
  for (const block of message.blocks as LooseBlock[]) {
    if (block.type === 'section' && block.fields) expect(block.fields.length).toBeLessThanOrEqual(10);
    if (block.type === 'context') expect((block.elements ?? []).length).toBeLessThanOrEqual(10);
  }
  for (const { text, max } of textsWithLimits(message)) {
    expect(text.length).toBeGreaterThanOrEqual(1);
    expect(text.length).toBeLessThanOrEqual(max);
    expect(text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/); // no half emoji
  }
}

/** All text of the message, one string. */
const allText = (message: SlackMessage): string =>
  textsWithLimits(message)
    .map((t) => t.text)
    .join('\n');

/** `<…>` tokens that are ours: date tokens and the recording link. Anything else would be a caller's. */
const OUR_TOKENS =
  /<!date\^\d+\^\{date_short_pretty\} \{time_secs\}\|[0-9: -]+UTC>|<https?:\/\/[^|<>\s]+\|Listen to the recording>/g;

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [45, '45s'],
    [59, '59s'],
    [60, '1m 00s'],
    [185, '3m 05s'],
    [3599, '59m 59s'],
    [3600, '1h 00m'],
    [3720, '1h 02m'],
    [90_000, '25h 00m'],
    [44.6, '45s'],
    [-3, '0s'],
    [Number.NaN, '0s'],
  ])('%s seconds → %s', (seconds, expected) => {
    expect(formatDuration(seconds)).toBe(expected);
  });
});

describe('maskPhoneNumber', () => {
  it('keeps only the last four digits', () => {
    expect(maskPhoneNumber('+13125550100')).toBe('+•••••••0100');
    expect(maskPhoneNumber('+44 20 7183 8750')).toBe('+•• •• •••• 8750');
  });
  it('keeps words such as anonymous', () => {
    expect(maskPhoneNumber('anonymous')).toBe('anonymous');
  });
});

describe('escaping and cutting', () => {
  it('escapes exactly &, < and >', () => {
    expect(escapeMrkdwn('a & b <!channel> <http://evil|click> *x*')).toBe(
      'a &amp; b &lt;!channel&gt; &lt;http://evil|click&gt; *x*',
    );
  });
  it('never splits an emoji, an entity or a link token', () => {
    expect(clip('ab😀cd', 4)).toBe('ab…');
    expect(truncateMrkdwn('abc &amp; def', 7)).toBe('abc …');
    expect(truncateMrkdwn('see <https://x.example/a|Listen> now', 20)).toBe('see …');
  });
});

describe('buildSlackMessage', () => {
  it.each(allSampleAlerts().map((a) => [a.type, a] as const))(
    '%s: header, fallback text, within limits',
    (_, alert) => {
      const message = buildSlackMessage(alert);
      expect(message.blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
      expect(message.text.length).toBeGreaterThan(0);
      expectWithinLimits(message);
      expect(messageBuilders[alert.type](alert as never)).toEqual(message);
    },
  );

  it('shows what an agent needs at a glance', () => {
    const cases: Array<[Alert, string[]]> = [
      [sampleAlerts.incoming, ['📞', '+13125550100', 'JANE DOE', 'Alice, Bob']],
      [sampleAlerts.answered, ['✅', '+13125550100', 'Alice', '45s']],
      [sampleAlerts.missed, ['❌', '+13125550100', '25s', 'no agent answered']],
      [sampleAlerts.voicemail, ['📩', '+13125550100', '1h 02m', '|Listen to the recording>']],
      [sampleAlerts.completed, ['☎️', '+13125550100', 'Alice', '3m 05s', '45s']],
      [sampleAlerts['outbound-ringing'], ['📤', 'Bob', '+442071838750', 'ringing']],
      [sampleAlerts['outbound-answered'], ['📤', 'Bob', '+442071838750', 'answered']],
      [sampleAlerts['outbound-completed'], ['Bob', '+442071838750', '1m 02s']],
      [sampleAlerts['roster-changed'], ['Carol, Dave', 'Eve', 'Added', 'Removed']],
      [sampleAlerts['low-balance'], ['12.50 USD', '80 USD']],
      [sampleAlerts['balance-recovered'], ['120.00 USD', '80 USD']],
      [sampleAlerts['job-failing'], ['roster-sync', 'Telnyx API answered 503']],
      [sampleAlerts['job-recovered'], ['roster-sync', '3']],
    ];
    for (const [alert, expected] of cases) {
      const text = allText(buildSlackMessage(alert));
      for (const part of expected) expect(text, `${alert.type} shows ${part}`).toContain(part);
    }
  });

  it('a summary of the backlog gives the counts and the time span', () => {
    const text = allText(buildSlackMessage(sampleAlerts.backlog));
    for (const part of ['390', '312 incoming', '40 answered', '38 completed', '<!date^']) {
      expect(text).toContain(part);
    }
    expect(buildSlackMessage(sampleAlerts.backlog).text).toMatch(/^🗂️ 390 call alerts summarized/);
  });

  it('folded earlier alerts of the call show as one escaped context line each (block id folded)', () => {
    const incoming = { ...sampleAlerts.incoming, callerName: '<!channel>' };
    const message = buildSlackMessage(sampleAlerts.completed, { folded: [incoming, sampleAlerts.answered] });
    expectWithinLimits(message);
    const block = message.blocks.find((b) => b.block_id === 'folded') as {
      elements: Array<{ text: string }>;
    };
    expect(block.elements.map((e) => slackKind(e.text))).toEqual(['incoming', 'answered']);
    expect(block.elements[0]!.text).toContain('&lt;!channel&gt;');
    expect(message.text.startsWith('☎️')).toBe(true);
    expect(alertLogLine(sampleAlerts.completed, [incoming])).toMatch(
      /^\[slack\] ☎️ .*\(earlier: 📞 Incoming call/,
    );
  });

  it("tells a queue callback's attempt in call-center words, not as a click-to-call", () => {
    const callback = { callSid: 'v3:caller-1', queue: 'support', attempt: 2, attempts: 3 };
    const ringing = buildSlackMessage({ ...sampleAlerts['outbound-ringing'], agent: 'Alice', callback });
    expect(ringing.text).toBe(
      '📞 Callback to +442071838750 for queue support, attempt 2 of 3 — ringing agent Alice',
    );
    expect(ringing.blocks[0]).toMatchObject({ text: { text: '📞 Callback ringing' } });
    const fields = JSON.stringify(ringing.blocks);
    for (const part of [
      '*Caller*\\n+442071838750',
      '*Queue*\\nsupport',
      '*Attempt*\\n2 of 3',
      '*Agent*\\nAlice',
    ])
      expect(fields).toContain(part);
    // Both calls named: this attempt's, and the caller's own (the one `callback-failed` names).
    expect(fields).toContain('call `v3:out-1` · callback of call `v3:caller-1`');
    expect(allText(ringing)).not.toMatch(/Outbound|Customer|📤/);

    const answered = buildSlackMessage({ ...sampleAlerts['outbound-answered'], agent: 'Alice', callback });
    expect(answered.text).toBe(
      '✅ Callback to +442071838750 for queue support, attempt 2 of 3 — answered, agent Alice',
    );
    expect(answered.blocks[0]).toMatchObject({ text: { text: '✅ Callback answered' } });

    const ended = buildSlackMessage({ ...sampleAlerts['outbound-completed'], agent: 'Alice', callback });
    expect(ended.text).toBe(
      '☎️ Callback to +442071838750 for queue support, attempt 2 of 3 — ended after 1m 02s, agent Alice',
    );
    expect(ended.blocks[0]).toMatchObject({ text: { text: '☎️ Callback ended' } });
    const missed = buildSlackMessage({
      ...sampleAlerts['outbound-completed'],
      answered: false,
      talkSeconds: 0,
      callback: { ...callback, attempt: 3 },
    });
    expect(missed.text).toBe(
      '☎️ Callback to +442071838750 for queue support, attempt 3 of 3 — ended without reaching the caller, agent Bob',
    );
    // A call state stored before the number of attempts was kept: the attempt alone.
    const { attempts: _, ...unknownTotal } = callback;
    expect(buildSlackMessage({ ...sampleAlerts['outbound-ringing'], callback: unknownTotal }).text).toContain(
      'for queue support, attempt 2 — ringing agent Bob',
    );
    // Within Block Kit's limits; a queue name is escaped like any other name; the log masks the number.
    const hostile = { ...callback, queue: '<!channel> & co' };
    const message = buildSlackMessage({ ...sampleAlerts['outbound-completed'], callback: hostile });
    expectWithinLimits(message);
    expect(message.text).toContain('for queue &lt;!channel&gt; &amp; co,');
    expect(alertLogLine({ ...sampleAlerts['outbound-ringing'], callback })).toMatch(
      /^\[slack\] 📞 Callback to \+•+8750 for queue support, attempt 2 of 3 — ringing agent Bob$/u,
    );
  });

  it('says when an outbound call was not answered, and marks a balance reminder', () => {
    const unanswered = buildSlackMessage({
      ...sampleAlerts['outbound-completed'],
      answered: false,
      talkSeconds: 0,
    });
    expect(allText(unanswered)).toContain('not answered');
    const reminder = buildSlackMessage({ ...sampleAlerts['low-balance'], reminder: true });
    expect(reminder.blocks[0]).toMatchObject({ text: { text: '⚠️ Telnyx balance still low' } });
  });

  it('shows the queue of a call, and a voicemail or missed call that came in while its queue was closed', () => {
    expect(JSON.stringify(buildSlackMessage(sampleAlerts.incoming).blocks)).toContain('*Queue*\\nsales');
    const vm = buildSlackMessage({
      ...sampleAlerts.voicemail,
      queue: 'sales',
      closed: { reason: 'holiday', detail: 'Christmas <!channel> & <http://evil|day>' },
    });
    expect(vm.text).toContain(
      'left while queue sales was closed (holiday: Christmas &lt;!channel&gt; &amp; &lt;http://evil|day&gt;)',
    );
    expect(JSON.stringify(vm.blocks)).toContain('New voicemail (while closed)');
    expect(JSON.stringify(vm.blocks)).toContain('*Left while closed*');
    const missed = buildSlackMessage({
      ...sampleAlerts.missed,
      reason: 'closed',
      queue: 'support',
      closed: { reason: 'manual' },
    });
    expect(missed.text).toMatch(
      /^❌ Missed call from .* while queue support was closed \(closed by hand\); no message left$/u,
    );
    expect(alertLogLine({ ...sampleAlerts.voicemail, closed: { reason: 'after-hours' } })).toContain(
      'left while the line was closed (after hours)',
    );
  });

  it('time stamps come from the alert, as a Slack date token', () => {
    const text = allText(buildSlackMessage(sampleAlerts.missed));
    expect(text).toContain(`<!date^${AT_EPOCH}^{date_short_pretty} {time_secs}|2023-11-14 22:13:20 UTC>`);
    expect(AT).toBe(new Date(AT_EPOCH * 1000).toISOString());
  });

  it('shows <!channel> and <http://evil|click> in a caller ID literally, in every field of every alert', () => {
    for (const alert of allSampleAlerts()) {
      for (const evil of ['<!channel>', '<http://evil|click>', '<@U123>', 'a & b']) {
        const message = buildSlackMessage(withEveryString(alert, evil));
        const text = allText(message);
        const escaped = escapeMrkdwn(evil);
        expect(text).toContain(escaped);
        expect(text.replace(OUR_TOKENS, '')).not.toMatch(/[<>]/);
        expectWithinLimits(message);
      }
    }
  });

  it('mrkdwn is verbatim, so Slack does not auto-link URLs typed into a caller name', () => {
    const message = buildSlackMessage({ ...sampleAlerts.incoming, callerName: 'http://evil.example' });
    for (const block of message.blocks as LooseBlock[]) {
      for (const t of [block.text, ...(block.fields ?? []), ...(block.elements ?? [])]) {
        if (t?.type === 'mrkdwn') expect(t.verbatim).toBe(true);
      }
    }
  });

  it('a stored time that only Date.parse would read ("50") is text, not a date token', () => {
    // Found by the property below (seed -358167286): "50" parsed as 1950 and became <!date^…>.
    const message = buildSlackMessage(withEveryString(sampleAlerts.backlog, '50'));
    expect(allText(message).replace(OUR_TOKENS, '')).not.toMatch(/[<>]/);
  });

  it('no arbitrary caller-controlled string can add a mention or a link', () => {
    fc.assert(
      fc.property(fc.constantFrom(...allSampleAlerts()), fc.string({ maxLength: 300 }), (alert, value) => {
        const message = buildSlackMessage(withEveryString(alert, value));
        expectWithinLimits(message);
        expect(allText(message).replace(OUR_TOKENS, '')).not.toMatch(/[<>]/);
      }),
      { numRuns: 300 },
    );
  });

  it('cuts a 10,000-character caller name to fit', () => {
    const name = 'A'.repeat(10_000);
    for (const alert of [
      { ...sampleAlerts.incoming, callerName: name, from: name },
      { ...sampleAlerts['roster-changed'], added: Array.from({ length: 500 }, (_, i) => `Agent ${i}`) },
      { ...sampleAlerts['job-failing'], error: '<&>'.repeat(5000) },
    ] satisfies Alert[]) {
      const message = buildSlackMessage(alert);
      expectWithinLimits(message);
      expect(allText(message)).toContain('…');
    }
  });

  it('links the recording only on a Telnyx host, and the URL cannot break out of the link', () => {
    const link = (url: string, recordingUrlPrefixes?: string[]) =>
      allText(buildSlackMessage({ ...sampleAlerts.voicemail, recordingUrl: url }, { recordingUrlPrefixes }));

    expect(link('https://api.telnyx.com/rec.mp3?a=1&b=2')).toContain(
      '<https://api.telnyx.com/rec.mp3?a=1&amp;b=2|Listen to the recording>',
    );
    expect(link('https://s3.amazonaws.com/telephony-recorder-prod/a/b.wav?X-Amz-Expires=600')).toContain(
      '<https://s3.amazonaws.com/telephony-recorder-prod/a/b.wav?X-Amz-Expires=600|Listen to the recording>',
    );
    const breakout = link('https://api.telnyx.com/a|b>c<d?q=|<!channel>');
    expect(breakout).toContain(
      '<https://api.telnyx.com/a%7Cb%3Ec%3Cd?q=%7C%3C!channel%3E|Listen to the recording>',
    );
    expect(breakout).not.toContain('<!channel>');

    // Another host is shown as text, never behind "Listen to the recording".
    for (const other of [
      'https://rec.example/x.mp3',
      'http://api.telnyx.com/rec.mp3',
      'https://api.telnyx.com.evil.example/rec.mp3',
      'https://api.telnyx.com@evil.example/rec.mp3',
      'https://s3.amazonaws.com/attacker-bucket/rec.mp3',
      'https://s3.amazonaws.com/telephony-recorder-prod-evil/rec.mp3',
    ]) {
      const text = link(other);
      expect(text, other).not.toContain('Listen to the recording');
      expect(text, other).toContain('not linked');
      expect(text.replace(OUR_TOKENS, ''), other).not.toMatch(/[<>]/);
    }
    expect(link('https://rec.example/x.mp3')).toContain('`https://rec.example/x.mp3`');
    // RECORDING_URL_PREFIXES adds a host (path-prefix exact: /recordings/ is not /recordings-evil/).
    expect(link('https://rec.example/recordings/x.mp3', ['https://rec.example/recordings'])).toContain(
      '<https://rec.example/recordings/x.mp3|Listen to the recording>',
    );
    expect(
      link('https://rec.example/recordings-evil/x.mp3', ['https://rec.example/recordings']),
    ).not.toContain('Listen to the recording');

    for (const bad of [
      'javascript:alert(1)',
      'ftp://rec.example/x.mp3',
      'not a url',
      '',
      'data:text/html,hi',
    ]) {
      const text = link(bad);
      expect(text, bad).not.toContain('Listen to the recording');
      expect(text.replace(OUR_TOKENS, '')).not.toMatch(/[<>]/);
    }
    expect(link('')).toContain('not a web link');
  });

  it('flattens CR/LF, other control characters and bidi overrides in caller fields to one line', () => {
    for (const alert of allSampleAlerts()) {
      const evil = 'Bob\r\n*URGENT*\tcall\u0000back\u2028now\u202Eevil';
      const message = buildSlackMessage(withEveryString(alert, evil));
      const text = allText(message);
      for (const control of ['\r', '\t', '\u0000', '\u2028', '\u202E']) expect(text).not.toContain(control);
      if (text.includes('*URGENT*')) expect(text).toContain('Bob *URGENT* call back now evil');
      // Our own line breaks between parts of a block are untouched: no part starts with the forged line.
      expect(text).not.toMatch(/\n\*URGENT\*/);
    }
  });
});

describe('alertLogLine', () => {
  it('is one readable line with the number masked', () => {
    expect(alertLogLine(sampleAlerts.missed)).toBe(
      '[slack] ❌ Missed call from +•••••••0100 after 25s (no agent answered)',
    );
    expect(alertLogLine({ ...sampleAlerts.missed, reason: 'caller-hung-up', waitSeconds: 12 })).toBe(
      '[slack] 📵 Abandoned call from +•••••••0100 — hung up after 12s waiting',
    );
    expect(alertLogLine(sampleAlerts.answered)).toBe('[slack] ✅ Alice answered +•••••••0100 after 45s');
    expect(alertLogLine(sampleAlerts['balance-recovered'])).toBe(
      '[slack] 💰 Telnyx balance recovered: 120.00 USD available, above the 80 USD threshold',
    );
  });

  it('leaves out the caller name and masks numbers inside free text', () => {
    expect(alertLogLine(sampleAlerts.incoming)).toBe(
      '[slack] 📞 Incoming call from +•••••••0100 — ringing Alice, Bob',
    );
    expect(
      alertLogLine({ ...sampleAlerts['job-failing'], error: 'dial to +1 (312) 555-0100 failed: 422' }),
    ).toBe('[slack] 🚨 Job roster-sync is failing: dial to +• (•••) •••-0100 failed: 422');
  });

  it('never contains the recording URL, a full number or a line break', () => {
    for (const alert of allSampleAlerts()) {
      const line = alertLogLine(withEveryString(alert, 'x\ny\r\u2028+13125550100'));
      expect(line).not.toMatch(/[\n\r\u2028]/);
      expect(line).not.toContain('13125550100');
      expect(line).not.toContain('X-Amz-Signature');
      expect(line.startsWith('[slack] ')).toBe(true);
    }
    expect(alertLogLine(sampleAlerts.voicemail)).not.toContain('https://');
  });
});
