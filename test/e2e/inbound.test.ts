import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallState } from '../../src/calls/call-types.js';
import { playInbound } from '../../src/simulator/scenarios.js';
import { postRaw, startServer, type TestServer } from '../helper.js';
import { useFakeSlack } from '../support/fake-slack.js';
import { slackKind } from '../support/slack-kind.js';

describe.each(['redis', 'memory'] as const)('inbound calls end to end (%s store)', (store) => {
  let server: TestServer;
  const slack = useFakeSlack();
  const start = async (env: Record<string, string> = {}) => {
    server = await startServer({
      store,
      env: { SLACK_WEBHOOK_URL: slack.url, PUBLIC_URL: 'https://sb.example.com', ...env },
    });
  };
  afterEach(async () => {
    // Telnyx re-sends anything not answered 200 (texml-calls.yml): nothing may have failed.
    expect(server?.player.failedDeliveries ?? []).toEqual([]);
    await server?.close();
  });
  const state = (sid: string) => server.app.services.calls.get(sid) as Promise<CallState>;

  it('answered: greeting, ring-all, Hangup after the bridge; incoming, answered, completed in Slack once', async () => {
    await start();
    const r = await playInbound(server.player, { answerInRound: 1, answerAfter: 12, talkSeconds: 95 });
    const first = r.replies[0]!;
    expect(first.plays).toEqual(['https://sb.example.com/audio/greeting.mp3']);
    expect(first.dial?.action).toBe('https://sb.example.com/texml/dial-result');
    expect(first.dial?.timeout).toBe(20);
    expect(r.rounds[0]).toEqual([
      'sip:alice@sip.telnyx.com',
      'sip:bob@sip.telnyx.com',
      'sip:carol@sip.telnyx.com',
    ]);
    expect(r.replies.at(-1)?.hangup).toBe(true);

    const s = await state(r.callSid);
    expect(s).toMatchObject({ outcome: 'answered', phase: 'ended', attempts: 1 });
    expect(s.legs[s.answeredLeg as string]?.agentName).toBe('Alice');
    await slack.waitForAccepted(3);
    await new Promise((res) => setTimeout(res, 100)); // nothing more arrives
    const texts = slack.accepted().map((m) => m.text);
    expect(texts.map(slackKind)).toEqual(['incoming', 'answered', 'completed']);
    expect(texts[1], texts[1]).toMatch(/Alice answered .* after 12s/);
    expect(texts[2]).toMatch(/1m 35s call/);
  });

  it('duplicated and reordered callbacks change nothing: same state, each alert once', async () => {
    await start();
    const r = await playInbound(server.player, {
      answerInRound: 1,
      answerAfter: 10,
      talkSeconds: 30,
      chaos: true,
    });
    const s = await state(r.callSid);
    expect(s.outcome).toBe('answered');
    expect(Object.values(s.legs).find((l) => l.sid === s.answeredLeg)).toMatchObject({ status: 'completed' });
    await slack.waitForAccepted(3);
    await new Promise((res) => setTimeout(res, 150));
    expect(slack.accepted().map((m) => slackKind(m.text))).toEqual(['incoming', 'answered', 'completed']);
  });

  it('nobody answers: DIAL_ATTEMPTS rounds, then voicemail with a recording callback; voicemail alert with the link', async () => {
    await start({ DIAL_ATTEMPTS: '3', DIAL_TIMEOUT_SECONDS: '15' });
    const r = await playInbound(server.player, { voicemailSeconds: 24 });
    expect(r.rounds).toHaveLength(3);
    expect(r.replies[1]?.plays).toEqual(['https://sb.example.com/audio/try-again.mp3']);
    expect(r.replies[1]?.dial?.action).toBe('https://sb.example.com/texml/dial-result');
    expect(r.replies[1]?.dial?.timeout).toBe(15);
    const vm = r.replies[3]!;
    expect(vm.record).toEqual({
      action: 'https://sb.example.com/texml/voicemail',
      recordingStatusCallback: 'https://sb.example.com/texml/recording',
    });
    expect(r.replies[4]?.hangup).toBe(true); // thanks
    const s = await state(r.callSid);
    expect(s).toMatchObject({ outcome: 'voicemail', attempts: 3, recordingDuration: 24 });
    await slack.waitForAccepted(2);
    const texts = slack.accepted().map((m) => m.text);
    expect(texts.map(slackKind)).toEqual(['incoming', 'voicemail']);
    expect(JSON.stringify(slack.accepted()[1]?.blocks)).toContain(s.recordingUrl);
  });

  it('hang-up at the voicemail prompt is a missed call, decided from the <Record> action (RecordingDuration=0)', async () => {
    await start();
    const r = await playInbound(server.player, { voicemailSeconds: 0 });
    // Decided at once: no undocumented `absent` recording callback is needed.
    const s = await state(r.callSid);
    expect(s.outcome).toBe('missed');
    expect(s.recordingAbsent).toBe(true);
    await slack.waitForAccepted(2);
    expect(slack.accepted().map((m) => slackKind(m.text))).toEqual(['incoming', 'missed']);
  });

  it('hang-up at the prompt with nothing but the caller completed: the grace timer decides, on the server clock', async () => {
    await start();
    const r = await playInbound(server.player, { voicemailSeconds: 0, silentHangUp: 'nothing' });
    const s = await state(r.callSid);
    expect(s.outcome).toBeUndefined();
    // The timer runs on this server's clock, however far Telnyx's Timestamps are.
    expect(s.finalizeAt).toBeGreaterThan(Date.now() + 50_000);
    expect(s.finalizeAt).toBeLessThanOrEqual(Date.now() + 60_000);
    await server.app.services.flow.finalizeDue(); // not due yet
    expect((await state(r.callSid)).outcome).toBeUndefined();
  });

  it('caller hangs up while agents ring: abandoned, one alert that says abandoned', async () => {
    await start();
    const r = await playInbound(server.player, { hangUpAfter: 9 });
    expect((await state(r.callSid)).outcome).toBe('abandoned');
    await slack.waitForAccepted(2);
    expect(slack.accepted()[1]?.text).toMatch(/^📵 Abandoned call from .* — hung up after 9s waiting$/u);
  });

  it('no agent configured: voicemail at once', async () => {
    await start({ AGENTS: '' });
    const r = await playInbound(server.player, { voicemailSeconds: 5 });
    expect(r.rounds).toEqual([]);
    expect(r.replies[0]?.plays).toEqual(['https://sb.example.com/audio/no-agents.mp3']);
    expect(r.replies[0]?.record).toBeDefined();
    expect((await state(r.callSid)).outcome).toBe('voicemail');
  });

  it('escapes hostile caller input: well-formed TeXML with no extra verb', async () => {
    await start();
    const evil = 'Eve"><Number>+19005551234</Number></Dial><Dial x="';
    const res = await postRaw(
      `${server.url}/texml/inbound`,
      new URLSearchParams({ CallSid: 'v3:evil', From: evil, To: '+18005550199', CallerId: evil }).toString(),
    );
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/xml/);
    expect(XMLValidator.validate(res.body)).toBe(true);
    expect(res.body).not.toContain('+19005551234</Number>');
    const doc = new XMLParser({ ignoreAttributes: false }).parse(res.body);
    expect(JSON.stringify(doc)).not.toContain('Number');
    expect((await state('v3:evil')).from).toBe(evil);
  });
});
