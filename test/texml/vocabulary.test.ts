import { describe, expect, it } from 'vitest';
import { FALLBACK_VOICEMAIL_TEXML, fallbackVoicemailTexml, loadFlows } from '../../src/texml/flows.js';
import { TEXML_VOCABULARY, vocabularyProblems, waitUrlProblems } from '../../src/texml/texml-vocabulary.js';

const BASE = 'https://sb.example.com';
const targets = [
  { name: 'Ann', sip: 'sip:ann@sip.telnyx.com' },
  { name: 'Bob', sip: 'sip:bob@sip.telnyx.com' },
];

/** Every branch of every shipped template, plus the hand-written fallbacks. */
function renderedDocuments(): Array<[string, string]> {
  const f = loadFlows();
  const round = (attempt: number, callerId?: string) => ({ attempt, targets, timeoutSeconds: 20, callerId });
  return [
    ['inbound, ring round', f.inbound({ base: BASE, round: round(1, '+13125550100') })],
    ['inbound, no caller id', f.inbound({ base: BASE, round: round(1) })],
    ['inbound, nobody online', f.inbound({ base: BASE, round: null })],
    ['next round', f.nextRound({ base: BASE, round: round(2) })],
    ['next round, nobody left', f.nextRound({ base: BASE, round: { ...round(2), targets: [] } })],
    ['voicemail no-answer', f.voicemail({ base: BASE, reason: 'no-answer' })],
    ['voicemail no-agents', f.voicemail({ base: BASE, reason: 'no-agents' })],
    ['thanks', f.thanks({ base: BASE })],
    ['answered', f.answered({ base: BASE })],
    ['outbound', f.outbound({ base: BASE, to: '+13125550123', callerId: '+18005550199' })],
    ...queueDocuments(),
    ['queue enqueue', f.enqueue({ base: BASE, queue: 'support' })],
    ['queue dial', f.queueDial({ base: BASE, round: round(1) })],
    ['fallback voicemail', fallbackVoicemailTexml(BASE)],
    ['fallback voicemail without URL', FALLBACK_VOICEMAIL_TEXML],
  ];
}

/** The documents played inside `<Enqueue>`: the waitUrl document and the replies to its Gather. */
function queueDocuments(): Array<[string, string]> {
  const f = loadFlows();
  const announce = { position: 2, wait: 'one minute' };
  return [
    ['queue wait, leave', f.queueWait({ base: BASE, leave: true, callback: false })],
    ['queue wait, announce', f.queueWait({ base: BASE, leave: false, announce, callback: false })],
    ['queue wait, music', f.queueWait({ base: BASE, leave: false, callback: false })],
    ['queue wait, press 1', f.queueWait({ base: BASE, leave: false, announce, callback: true })],
    ['queue wait, press 1 no announce', f.queueWait({ base: BASE, leave: false, callback: true })],
    ['callback requested', f.callbackRequested({ base: BASE })],
  ];
}

describe('TeXML vocabulary (only what Telnyx documents)', () => {
  it.each(queueDocuments())('%s uses only the verbs a waitUrl document may', (_label, xml) => {
    expect(waitUrlProblems(xml)).toEqual([]);
  });

  it('refuses a verb a waitUrl document may not use', () => {
    expect(waitUrlProblems('<Response><Say>x</Say><Record/></Response>')).toEqual([
      '<Record> is not allowed in a waitUrl document',
    ]);
  });

  it('offers the callback with a Gather of one digit posting to /texml/queue/callback', () => {
    const xml = loadFlows().queueWait({ base: BASE, leave: false, callback: true });
    expect(xml).toMatch(/<Gather action="https:\/\/sb\.example\.com\/texml\/queue\/callback" numDigits="1"/);
  });

  it.each(renderedDocuments())('%s uses only documented verbs and attributes', (_label, xml) => {
    expect(vocabularyProblems(xml)).toEqual([]);
  });

  it('refuses <Record recordingStatusCallbackEvent> (documented for <Dial>, not <Record>)', () => {
    const xml =
      '<Response><Record action="https://x/v" recordingStatusCallbackEvent="completed absent"/></Response>';
    expect(vocabularyProblems(xml)).toEqual([
      expect.stringContaining('<Record recordingStatusCallbackEvent>: not an attribute Telnyx documents'),
    ]);
    expect(
      vocabularyProblems(
        '<Response><Dial recordingStatusCallbackEvent="completed"><Sip>sip:a@b</Sip></Dial></Response>',
      ),
    ).toEqual([]);
  });

  it('refuses undocumented verbs, misplaced nouns and Twilio-only attributes', () => {
    expect(vocabularyProblems('<Response><Pay/></Response>')).toEqual([
      '<Pay> is not in the documented vocabulary',
    ]);
    expect(vocabularyProblems('<Response><Sip>sip:a@b</Sip></Response>')).toEqual([
      '<Sip> inside <Response>',
    ]);
    expect(
      vocabularyProblems('<Response><Dial answerOnBridge="true"><Number>+1</Number></Dial></Response>'),
    ).toEqual([expect.stringContaining('<Dial answerOnBridge>')]);
  });

  it('lists the verbs the queue work needs, each with its developers.telnyx.com page', () => {
    for (const verb of [
      'Enqueue',
      'Leave',
      'Gather',
      'Redirect',
      'Pause',
      'Play',
      'Say',
      'Dial',
      'Record',
      'Hangup',
    ]) {
      expect(TEXML_VOCABULARY[verb]?.doc).toMatch(
        /^https:\/\/developers\.telnyx\.com\/docs\/voice\/programmable-voice\/texml-verbs\//,
      );
    }
    expect(TEXML_VOCABULARY.Enqueue?.attributes).toContain('waitUrl');
  });
});
