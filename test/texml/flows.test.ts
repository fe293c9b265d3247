import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TEXML_DIR, type DialRound, type DialTarget, loadFlows } from '../../src/texml/flows.js';
import { validateTexml } from '../../src/texml/texml-document.js';
import { allElements, count, type El, parseXml } from './xml-tree.js';

const BASE = 'https://sb.example.com';
const STATUS_EVENTS = 'initiated ringing answered completed';
const flows = loadFlows();

const targets: DialTarget[] = [
  { name: 'Alice', sip: 'sip:alice@sip.telnyx.com' },
  { name: 'Bob', sip: 'sip:bob@sip.telnyx.com' },
];
const round = (over: Partial<DialRound> = {}): DialRound => ({
  attempt: 1,
  targets,
  timeoutSeconds: 20,
  ...over,
});

/** Parses a reply after checking it is TeXML Telnyx runs. */
function reply(xml: string): El {
  expect(validateTexml(xml)).toBeNull();
  return parseXml(xml);
}

const verbs = (root: El) => root.children.map((c) => c.name);
const only = (root: El, name: string): El => {
  const found = allElements(root).filter((e) => e.name === name);
  expect(found).toHaveLength(1);
  return found[0]!;
};

/** Every URL a reply makes Telnyx fetch or call. */
function urls(root: El): string[] {
  const out: string[] = [];
  for (const el of allElements(root)) {
    for (const attr of ['action', 'statusCallback', 'recordingStatusCallback', 'url']) {
      if (el.attrs[attr] !== undefined) out.push(el.attrs[attr]);
    }
    if (el.name === 'Play' || el.name === 'Redirect') out.push(el.text.trim());
  }
  return out;
}

function expectAbsoluteUrls(root: El): void {
  const list = urls(root);
  expect(list.length).toBeGreaterThan(0);
  for (const url of list) {
    expect(url.startsWith(`${BASE}/`)).toBe(true);
    expect(url.slice(BASE.length)).not.toContain('//');
  }
}

function expectPromptsSafe(root: El): void {
  for (const play of allElements(root).filter((e) => e.name === 'Play')) {
    expect(play.attrs.continueOnError).toBe('true');
  }
}

function expectRingRound(dial: El, _attempt: number, sips: string[]): void {
  // Whatever the round, the same action URL: the round is kept under the CallSid, never in a
  // query string (Telnyx's signature would not cover it).
  expect(dial.attrs.action).toBe(`${BASE}/texml/dial-result`);
  expect(dial.attrs.method).toBe('POST');
  expect(dial.children.map((c) => c.name)).toEqual(sips.map(() => 'Sip'));
  expect(dial.children.map((c) => c.text)).toEqual(sips);
  for (const sip of dial.children) {
    expect(sip.attrs).toMatchObject({
      statusCallback: `${BASE}/texml/status`,
      statusCallbackEvent: STATUS_EVENTS,
      statusCallbackMethod: 'POST',
    });
  }
}

function expectVoicemailRecord(root: El, prompt: string): void {
  expect(verbs(root)).toEqual(['Play', 'Record', 'Hangup']);
  expect(root.children[0]!.text).toBe(`${BASE}/audio/${prompt}.mp3`);
  expect(root.children[1]!.attrs).toEqual({
    action: `${BASE}/texml/voicemail`,
    method: 'POST',
    maxLength: '120',
    playBeep: 'true',
    finishOnKey: '#',
    channels: 'single',
    recordingStatusCallback: `${BASE}/texml/recording`,
    recordingStatusCallbackMethod: 'POST',
  });
}

describe('inbound', () => {
  it('greets, then rings every target at once with per-leg status callbacks', () => {
    const root = reply(flows.inbound({ base: BASE, round: round({ callerId: '+13125550100' }) }));
    expect(root.name).toBe('Response');
    expect(verbs(root)).toEqual(['Play', 'Dial']);
    expect(root.children[0]!.text).toBe(`${BASE}/audio/greeting.mp3`);
    const dial = only(root, 'Dial');
    expectRingRound(dial, 1, ['sip:alice@sip.telnyx.com', 'sip:bob@sip.telnyx.com']);
    expect(dial.attrs.timeout).toBe('20');
    expect(dial.attrs.callerId).toBe('+13125550100');
    expectAbsoluteUrls(root);
    expectPromptsSafe(root);
  });

  it('leaves callerId out when the round has none', () => {
    const dial = only(reply(flows.inbound({ base: BASE, round: round() })), 'Dial');
    expect(dial.attrs).not.toHaveProperty('callerId');
  });

  it('goes straight to voicemail when nobody is online', () => {
    for (const r of [null, round({ targets: [] })]) {
      const root = reply(flows.inbound({ base: BASE, round: r }));
      expect(count(root, 'Dial')).toBe(0);
      expectVoicemailRecord(root, 'no-agents');
      expectAbsoluteUrls(root);
      expectPromptsSafe(root);
    }
  });

  it('never doubles the slash after a base URL ending in /', () => {
    const xml = flows.inbound({ base: `${BASE}//`, round: round() });
    expectAbsoluteUrls(reply(xml));
    expect(xml).not.toContain('.com//');
  });

  it('keeps the ring time within the 5–120 s Telnyx accepts', () => {
    expect(
      only(reply(flows.inbound({ base: BASE, round: round({ timeoutSeconds: 1 }) })), 'Dial').attrs.timeout,
    ).toBe('5');
    expect(
      only(reply(flows.inbound({ base: BASE, round: round({ timeoutSeconds: 500 }) })), 'Dial').attrs.timeout,
    ).toBe('120');
  });
});

describe('nextRound', () => {
  it('plays the try-again prompt and rings the round, with its attempt in the action URL', () => {
    const root = reply(
      flows.nextRound({
        base: BASE,
        round: round({ attempt: 2, targets: [targets[1]!], timeoutSeconds: 30 }),
      }),
    );
    expect(verbs(root)).toEqual(['Play', 'Dial']);
    expect(root.children[0]!.text).toBe(`${BASE}/audio/try-again.mp3`);
    const dial = only(root, 'Dial');
    expectRingRound(dial, 2, ['sip:bob@sip.telnyx.com']);
    expect(dial.attrs.timeout).toBe('30');
    expectAbsoluteUrls(root);
    expectPromptsSafe(root);
  });

  it('falls back to voicemail when the round has nobody to ring', () => {
    expectVoicemailRecord(reply(flows.nextRound({ base: BASE, round: round({ targets: [] }) })), 'no-agents');
  });
});

describe('voicemail, thanks, answered', () => {
  it('picks the prompt by reason and records with callbacks', () => {
    const noAnswer = reply(flows.voicemail({ base: BASE, reason: 'no-answer' }));
    expectVoicemailRecord(noAnswer, 'voicemail');
    expectAbsoluteUrls(noAnswer);
    expectPromptsSafe(noAnswer);
    expectVoicemailRecord(reply(flows.voicemail({ base: BASE, reason: 'no-agents' })), 'no-agents');
  });

  it('thanks the caller and hangs up', () => {
    const root = reply(flows.thanks({ base: BASE }));
    expect(verbs(root)).toEqual(['Play', 'Hangup']);
    expect(root.children[0]!.text).toBe(`${BASE}/audio/thanks.mp3`);
    expectPromptsSafe(root);
  });

  it('hangs up after an answered call', () => {
    expect(verbs(reply(flows.answered({ base: BASE })))).toEqual(['Hangup']);
  });
});

describe('outbound', () => {
  it('dials the customer with the hotline as caller ID and status callbacks on the leg', () => {
    const root = reply(flows.outbound({ base: BASE, to: '+13125550123', callerId: '+13125550100' }));
    expect(verbs(root)).toEqual(['Dial', 'Hangup']);
    const dial = only(root, 'Dial');
    expect(dial.attrs).toMatchObject({
      callerId: '+13125550100',
      action: `${BASE}/texml/dial-result`,
      method: 'POST',
    });
    const number = only(root, 'Number');
    expect(number.text).toBe('+13125550123');
    expect(number.attrs).toMatchObject({
      statusCallback: `${BASE}/texml/status`,
      statusCallbackEvent: STATUS_EVENTS,
      statusCallbackMethod: 'POST',
    });
    expectAbsoluteUrls(root);
  });
});

describe('escaping', () => {
  // The injection from the issue: a value that closes the <Dial> and dials a premium number.
  const EVIL = `Eve"><Number>+19005551234</Number></Dial><Dial x="`;

  it('keeps an injected target sip as text inside its own <Sip>', () => {
    const root = reply(
      flows.inbound({ base: BASE, round: round({ targets: [{ name: EVIL, sip: EVIL }, targets[0]!] }) }),
    );
    expect(count(root, 'Dial')).toBe(1);
    expect(count(root, 'Number')).toBe(0);
    expect(count(root, 'Sip')).toBe(2);
    expect(only(root, 'Dial').children[0]!.text).toBe(EVIL);
  });

  it('keeps an injected caller ID inside its attribute', () => {
    for (const xml of [
      flows.inbound({ base: BASE, round: round({ callerId: EVIL }) }),
      flows.nextRound({ base: BASE, round: round({ attempt: 2, callerId: EVIL }) }),
    ]) {
      const root = reply(xml);
      expect(count(root, 'Dial')).toBe(1);
      expect(count(root, 'Number')).toBe(0);
      expect(only(root, 'Dial').attrs.callerId).toBe(EVIL);
    }
  });

  it('keeps an injected outbound number and caller ID in place', () => {
    const root = reply(flows.outbound({ base: BASE, to: EVIL, callerId: EVIL }));
    expect(count(root, 'Dial')).toBe(1);
    expect(count(root, 'Number')).toBe(1);
    expect(only(root, 'Number').text).toBe(EVIL);
    expect(only(root, 'Dial').attrs.callerId).toBe(EVIL);
  });

  it('keeps an injected base URL inside the URLs', () => {
    for (const xml of [
      flows.inbound({ base: EVIL, round: round() }),
      flows.inbound({ base: EVIL, round: null }),
      flows.voicemail({ base: EVIL, reason: 'no-answer' }),
      flows.thanks({ base: EVIL }),
      flows.outbound({ base: EVIL, to: '+13125550123', callerId: '+13125550100' }),
    ]) {
      const root = reply(xml);
      expect(count(root, 'Dial')).toBeLessThanOrEqual(1);
      expect(count(root, 'Number')).toBeLessThanOrEqual(1);
      for (const url of urls(root)) expect(url.startsWith(EVIL)).toBe(true);
    }
  });

  it('escapes a target name an operator template puts in an attribute', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-texml-'));
    try {
      cpSync(DEFAULT_TEXML_DIR, dir, { recursive: true });
      writeFileSync(
        join(dir, 'partials', 'dial.xml'),
        '  <Dial action="{{base}}/texml/dial-result?attempt={{attempt}}">\n' +
          '{{#targets}}\n' +
          '    <Sip statusCallback="{{base}}/texml/status?agent={{name}}">{{sip}}</Sip>\n' +
          '{{/targets}}\n' +
          '  </Dial>\n',
      );
      const root = reply(
        loadFlows(dir).inbound({ base: BASE, round: round({ targets: [{ name: EVIL, sip: EVIL }] }) }),
      );
      expect(count(root, 'Dial')).toBe(1);
      expect(count(root, 'Number')).toBe(0);
      expect(only(root, 'Sip').attrs.statusCallback).toBe(`${BASE}/texml/status?agent=${EVIL}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('renders any roster values as well-formed TeXML with one <Sip> per target', () => {
    // XML 1.0 cannot carry most control characters or lone surrogates: those are dropped.
    const xmlSafe = (s: string) => s.replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '');
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            name: fc.string({ unit: 'binary', maxLength: 40 }),
            sip: fc.string({ unit: 'binary', maxLength: 40 }),
          }),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        fc.option(fc.string({ unit: 'binary', maxLength: 40 }), { nil: undefined }),
        (list, callerId) => {
          const root = reply(flows.inbound({ base: BASE, round: round({ targets: list, callerId }) }));
          expect(count(root, 'Dial')).toBe(1);
          expect(only(root, 'Dial').children.map((c) => c.text)).toEqual(list.map((t) => xmlSafe(t.sip)));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('queueWait', () => {
  const base = 'https://sb.example.com';
  const gatherOf = (xml: string) => allElements(parseXml(xml)).find((e) => e.name === 'Gather');

  it('offers "press 1" with the queue\'s own prompt: its MP3, else its words, else the default words', () => {
    const mp3 = flows.queueWait({
      base,
      leave: false,
      callback: true,
      callbackOffer: { play: `${base}/audio/sales-callback.mp3`, say: 'x' },
    });
    expect(gatherOf(mp3)?.children.map((c) => [c.name, c.text])).toEqual([
      ['Play', `${base}/audio/sales-callback.mp3`],
      ['Play', `${base}/audio/hold-music.mp3`],
    ]);
    const words = flows.queueWait({
      base,
      leave: false,
      callback: true,
      callbackOffer: { say: 'Press 1, sales.' },
    });
    expect(gatherOf(words)?.children.map((c) => [c.name, c.text])[0]).toEqual(['Say', 'Press 1, sales.']);
    const plain = flows.queueWait({ base, leave: false, callback: true });
    expect(gatherOf(plain)?.children.map((c) => [c.name, c.text])[0]).toEqual([
      'Say',
      'To be called back instead of waiting, press 1.',
    ]);
    // No callback offered: no Gather, and no offer prompt.
    const none = flows.queueWait({ base, leave: false, callback: false, callbackOffer: { say: 'Press 1' } });
    expect(gatherOf(none)).toBeUndefined();
    expect(none).not.toContain('Press 1');
  });
});
