import { afterEach, describe, expect, it } from 'vitest';
import type { LoggedEvent } from '../../src/events/call-center-event.js';
import type { QueueSettings } from '../../src/queues/queue-settings.js';
import { FakeTelnyxApi, type RecordedTexmlCall } from '../../src/simulator/fake-telnyx-api.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';
import { eventually, postRaw, startServer, type TestServer } from '../helper.js';
import { uniquePrefix } from '../setup/redis.js';
import { useFakeSlack } from '../support/fake-slack.js';
import { slackEvents, slackKind, slackTexts } from '../support/slack-kind.js';

/**
 * Callbacks that keep their place (docs/interface.md §7 "Callback instead of waiting"), end to
 * end over the real app: form POSTs as Telnyx sends them, the fake Telnyx API taking the
 * click-to-call each callback places (src/simulator/fake-telnyx-api.ts), and a fake Slack. In
 * memory, and on Redis with two replicas sharing one key prefix (requests alternate between them).
 */

const SIP: Record<string, string> = {
  Alice: 'sip:alice@sip.telnyx.com',
  Bob: 'sip:bob@sip.telnyx.com',
};
const HOTLINE = '+18005550199';
const TOKEN = 'callback-test-token-0123456789';
const PUBLIC = 'https://sb.example.com';

const form = (params: Record<string, string>) => new URLSearchParams(params).toString();

describe.each(['memory', 'redis'] as const)('queue callbacks end to end (%s)', (store) => {
  const slack = useFakeSlack();
  let telnyx: FakeTelnyxApi | undefined;
  let servers: TestServer[] = [];
  let turn = 0;
  afterEach(async () => {
    for (const s of servers) await s.close();
    servers = [];
    await telnyx?.close();
    telnyx = undefined;
  });

  const start = async (agents: string[], settings: Partial<QueueSettings> = {}) => {
    telnyx = await FakeTelnyxApi.start();
    const keyPrefix = uniquePrefix();
    const opts = () => ({
      store,
      keyPrefix,
      env: {
        AGENTS: agents.map((a) => `${a}=${SIP[a]}`).join(','),
        API_TOKEN: TOKEN,
        ROUTING_STRATEGY: 'longest-idle',
        STICKY_ROUTING: 'false',
        WRAP_UP_SECONDS: '1',
        MAX_NO_ANSWER: '5',
        PUBLIC_URL: PUBLIC,
        HOTLINE_NUMBER: HOTLINE,
        TELNYX_API_KEY: telnyx!.apiKey,
        TELNYX_API_BASE_URL: telnyx!.baseUrl,
        TELNYX_CONNECTION_ID: 'conn-callbacks',
        SLACK_WEBHOOK_URL: slack.url,
      },
      deps: {
        callCenterTickMs: 50,
        telnyx: createTelnyxClient({ apiKey: telnyx!.apiKey, baseUrl: telnyx!.baseUrl, maxRetries: 0 }),
        queueSettings: { callbackAfterSeconds: 0, callbackAttempts: 3, callbackRetrySeconds: 1, ...settings },
      },
    });
    servers.push(await startServer(opts()));
    if (store === 'redis') servers.push(await startServer(opts()));
  };
  const api = () => telnyx!;
  /** The next replica (round robin), as a load balancer would pick. */
  const next = () => servers[turn++ % servers.length]!;
  const post = async (path: string, params: Record<string, string>) => {
    const res = await postRaw(`${next().url}${path}`, form({ AccountSid: 'AC-test', ...params }));
    expect(res.status, res.body).toBe(200);
    return res.body;
  };
  const admin = async (path: string) => {
    const res = await fetch(`${next().url}/api${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  };
  const dialTargets = (xml: string) => [...xml.matchAll(/<Sip[^>]*>([^<]+)<\/Sip>/g)].map((m) => m[1]!);
  const agentOf = (sip: string) => Object.keys(SIP).find((n) => SIP[n] === sip)!;

  const caller = (i: number) => ({ sid: `call-${i}`, from: `+1312555${String(1000 + i)}` });
  const inbound = (i: number, from = caller(i).from) =>
    post('/texml/inbound', { CallSid: caller(i).sid, From: from, To: HOTLINE });
  const leg = (i: number, agent: string, status: string) =>
    post('/texml/status', {
      CallSid: `leg-${i}-${agent}`,
      ParentCallSid: caller(i).sid,
      From: caller(i).from,
      To: SIP[agent]!,
      CallStatus: status,
    });
  const callerStatus = (i: number, status: string) =>
    post('/texml/status', { CallSid: caller(i).sid, From: caller(i).from, To: HOTLINE, CallStatus: status });
  const wait = (i: number) => post('/texml/queue/wait', { CallSid: caller(i).sid, From: caller(i).from });
  const press = (i: number, digits: string) =>
    post('/texml/queue/callback', { CallSid: caller(i).sid, From: caller(i).from, Digits: digits });
  const events = async (): Promise<LoggedEvent[]> =>
    servers[0]!.app.services.center.events.read({ limit: 10_000 });
  const state = async (agent: string) => (await servers[0]!.app.services.center.agentStates.get(agent)).state;
  const line = async () =>
    (await servers[0]!.app.services.queue.store.list('support', Date.now())).map((e) => ({
      sid: e.callSid,
      callback: e.callback !== undefined,
      offeredTo: e.offeredTo,
    }));

  /** Call `i` rings one free agent, who answers; returns the agent. */
  const answered = async (i: number) => {
    const [target] = dialTargets(await inbound(i));
    expect(target).toBeDefined();
    const agent = agentOf(target!);
    await leg(i, agent, 'in-progress');
    return agent;
  };
  /** Call `i`, answered by `agent`, ends (both legs and the Dial). */
  const hangUp = async (i: number, agent: string) => {
    await leg(i, agent, 'completed');
    await post('/texml/dial-result', { CallSid: caller(i).sid, DialCallStatus: 'completed' });
    await callerStatus(i, 'completed');
  };
  /** Call updates seen so far per caller (an offer that rang out is moved again next time). */
  const moved = new Map<number, number>();
  /**
   * The waiting caller `i` is offered to a free agent: Telnyx's call-update API moves it (a new
   * update recorded by the fake API), or its next wait fetch answers `<Leave/>` (docs/interface.md §7).
   */
  const offeredToAgent = async (i: number) => {
    const updates = () => telnyx!.requestsTo(new RegExp(`/Calls/${caller(i).sid}$`), 'POST').length;
    const before = moved.get(i) ?? 0;
    await eventually(async () => {
      if (updates() > before) return;
      expect(await wait(i)).toContain('<Leave/>');
    }, 15_000);
    moved.set(i, updates());
  };
  /** Call `i` finds nobody free and waits in line. */
  const queued = async (i: number, from?: string) => {
    const doc = await inbound(i, from);
    expect(dialTargets(doc)).toEqual([]);
    expect(doc).toContain(`<Enqueue action="${PUBLIC}/texml/queue/result"`);
  };
  /** The waiting caller `i` presses 1 and is hung up; Telnyx reports the end of their call. */
  const asksForCallback = async (i: number) => {
    const offer = await wait(i);
    expect(offer).toContain(`<Gather action="${PUBLIC}/texml/queue/callback" numDigits="1"`);
    // The queue's "press 1" prompt (the built-in one's MP3; docs/call-center-file.md).
    expect(offer).toContain(`<Play continueOnError="true">${PUBLIC}/audio/callback-offer.mp3</Play>`);
    const doc = await press(i, '1');
    expect(doc).toContain('call you back');
    expect(doc).toContain('<Hangup/>');
    // The Enqueue action after the hang-up (QueueResult is Twilio's name; Telnyx: UNCONFIRMED).
    expect(await post('/texml/queue/result', { CallSid: caller(i).sid, QueueResult: 'hangup' })).toContain(
      '<Hangup/>',
    );
    await callerStatus(i, 'completed');
  };
  /** The next click-to-call the server places (from index `from` of the fake's log). */
  const placed = (from: number) => api().waitForCreatedCall(() => true, { from, timeoutMs: 8_000 });
  /** Telnyx reports the callback call's first leg (the agent's phone). */
  const agentLeg = (call: RecordedTexmlCall, status: string) =>
    post('/texml/status', {
      CallSid: call.callSid,
      From: HOTLINE,
      To: String(call.body.To),
      CallStatus: status,
    });
  /** The customer leg the `/texml/outbound` reply dialled; `at` is Telnyx's `Timestamp` (ms). */
  const customerLeg = (call: RecordedTexmlCall, to: string, status: string, at?: number) =>
    post('/texml/status', {
      CallSid: `${call.callSid}-customer`,
      ParentCallSid: call.callSid,
      From: HOTLINE,
      To: to,
      CallStatus: status,
      ...(at === undefined ? {} : { Timestamp: new Date(at).toISOString() }),
    });
  /** The agent picks up: Telnyx fetches the call's Url, which dials the caller. */
  const agentAnswers = async (call: RecordedTexmlCall, customer: string) => {
    expect(call.body).toMatchObject({ From: HOTLINE, Url: `${PUBLIC}/texml/outbound`, Method: 'POST' });
    await agentLeg(call, 'in-progress');
    const doc = await post('/texml/outbound', {
      CallSid: call.callSid,
      From: HOTLINE,
      To: String(call.body.To),
    });
    expect(doc).toContain(`<Dial callerId="${HOTLINE}"`);
    expect(doc).toContain(`>${customer}</Number>`);
  };
  /** The caller answers the callback, talks, and the call ends. */
  const callbackTalk = async (call: RecordedTexmlCall, customer: string) => {
    const answeredAt = Date.now();
    await customerLeg(call, customer, 'in-progress', answeredAt);
    await customerLeg(call, customer, 'completed', answeredAt + 42_000);
    await post('/texml/dial-result', {
      CallSid: call.callSid,
      DialCallStatus: 'completed',
      DialCallDuration: '42',
    });
    await agentLeg(call, 'completed');
  };

  it('press 1 keeps the place (behind earlier callers, ahead of later ones); the callback rings the agent, then the caller', async () => {
    await start(['Alice', 'Bob']);
    const first = await answered(1);
    const second = await answered(2);
    expect(new Set([first, second])).toEqual(new Set(['Alice', 'Bob']));
    for (const i of [3, 4, 5]) await queued(i);

    await asksForCallback(4);
    // Any other key: back to the hold music, still in line.
    const other = await press(5, '2');
    expect(other).toContain('hold-music.mp3');
    expect(other).not.toContain('<Hangup/>');
    expect(await line()).toEqual([
      { sid: 'call-3', callback: false, offeredTo: undefined },
      { sid: 'call-4', callback: true, offeredTo: undefined },
      { sid: 'call-5', callback: false, offeredTo: undefined },
    ]);
    const queues = (await admin('/queues')).queues as Array<Record<string, unknown>>;
    expect(queues[0]).toMatchObject({ waiting: 3, callbacks: 1 });
    expect((queues[0]!.callers as Array<Record<string, unknown>>)[1]).toMatchObject({
      callSid: 'call-4',
      position: 2,
      callbackRequested: true,
      callbackAttempts: 0,
    });
    // The caller who asked to be called back is no missed call.
    await eventually(async () =>
      expect(((await admin('/calls/call-4')).call as { outcome: string }).outcome).toBe('callback'),
    );

    // The first agent to be free gets caller 3, who joined before the callback: no callback yet.
    await hangUp(1, first);
    await offeredToAgent(3);
    const dial = await post('/texml/queue/result', { CallSid: caller(3).sid, QueueResult: 'leave' });
    expect(dial).toContain(`<Sip`);
    expect(dialTargets(dial)).toEqual([SIP[first]]);
    await leg(3, first, 'in-progress');
    expect(api().texmlCalls).toHaveLength(0);

    // The next free agent gets the callback, before caller 5 who joined after it.
    await hangUp(2, second);
    const call = await placed(0);
    expect(call.body.To).toBe(SIP[second]);
    expect(await state(second)).toBe('offered');
    expect(await wait(5)).not.toContain('<Leave/>');
    expect((await line()).find((e) => e.sid === 'call-5')?.offeredTo).toBeUndefined();

    await agentAnswers(call, caller(4).from);
    await eventually(async () => expect(await state(second)).toBe('on-call'));
    await customerLeg(call, caller(4).from, 'in-progress');
    await eventually(async () => expect((await line()).map((e) => e.sid)).toEqual(['call-5']));
    await customerLeg(call, caller(4).from, 'completed');
    await post('/texml/dial-result', {
      CallSid: call.callSid,
      DialCallStatus: 'completed',
      DialCallDuration: '42',
    });
    await agentLeg(call, 'completed');

    await eventually(async () => {
      const log = await events();
      const of4 = log.filter((e) => 'callSid' in e && e.callSid === 'call-4');
      expect(of4.map((e) => e.type)).toEqual([
        'enter-queue',
        'callback-requested',
        'callback-attempt',
        'callback-connected',
        'complete',
        'wrap-up-start',
        ...(of4.some((e) => e.type === 'wrap-up-end') ? ['wrap-up-end'] : []),
      ]);
      expect(of4[1]).toMatchObject({ queue: 'support', position: 2 });
      expect(of4[2]).toMatchObject({ agent: second, attempt: 1 });
      expect(of4[3]).toMatchObject({ agent: second, attempt: 1 });
      expect(of4[4]).toMatchObject({ agent: second, talk: expect.any(Number) });
      expect(log.some((e) => e.type === 'abandon' || (e.type === 'offer' && e.callSid === 'call-4'))).toBe(
        false,
      );
    });
    const today = new Date().toISOString().slice(0, 10);
    const stats = (await admin(`/stats?date=${today}&tz=UTC`)) as {
      callbacks: number;
      queues: Array<{ callbacks: Record<string, number> }>;
      agents: Array<{ agent: string; callbacks: number }>;
    };
    expect(stats.callbacks).toBe(1);
    expect(stats.queues[0]?.callbacks).toEqual({ requested: 1, connected: 1, failed: 0 });
    expect(stats.agents.find((a) => a.agent === second)?.callbacks).toBe(1);
    const after = (await admin('/queues')).queues as Array<{
      callbacks: number;
      today: Record<string, unknown>;
    }>;
    expect(after[0]).toMatchObject({ callbacks: 0, today: { callbacks: { requested: 1, connected: 1 } } });

    // Slack tells the attempt as the queue's callback, each step once (whichever replica saw it),
    // never as a generic click-to-call (docs/interface.md §4).
    const of = (sid: string) => (m: { blocks?: unknown[] }) => JSON.stringify(m.blocks).includes(sid);
    await eventually(async () => {
      const texts = slack.accepted().filter(of(call.callSid)).flatMap(slackTexts);
      expect(texts.map(slackKind)).toEqual(['callback-ringing', 'callback-answered', 'callback-ended']);
    }, 8_000);
    const texts = slack.accepted().filter(of(call.callSid)).flatMap(slackTexts);
    const about = `Callback to ${caller(4).from} for queue support, attempt 1 of 3`;
    // Earlier steps may arrive folded into a later message, each as its line and Slack's date.
    const lines = texts.map((t) => t.replace(/ · <!date\^.*$/u, ''));
    expect(lines.slice(0, 2)).toEqual([
      `📞 ${about} — ringing agent ${second}`,
      `✅ ${about} — answered, agent ${second}`,
    ]);
    // (This test's customer leg carries no Timestamps: the talk time is whatever the clock made it.)
    expect(
      lines[2]!.startsWith(`☎️ ${about} — ended after `) && lines[2]!.endsWith(`s, agent ${second}`),
    ).toBe(true);
    expect(slack.accepted().some((m) => /Outbound call|^📤/u.test(m.text))).toBe(false);
  });

  it('an attempt that fails is retried at the same place: the agent rings out, then the callback connects', async () => {
    await start(['Alice'], { callbackAttempts: 2, callbackRetrySeconds: 3 });
    await answered(1);
    await queued(2);
    await asksForCallback(2);
    await queued(3); // joins after the callback

    await hangUp(1, 'Alice');
    const firstTry = await placed(0);
    expect(firstTry.body.To).toBe(SIP.Alice);
    await agentLeg(firstTry, 'no-answer');
    // Until its retry time the callback is passed over: Alice, free again, gets caller 3 ...
    await offeredToAgent(3);
    expect(
      (await events()).some((e) => e.type === 'no-answer' && e.agent === 'Alice' && e.callSid === 'call-2'),
    ).toBe(true);
    // ... while the callback keeps its place, one attempt spent.
    const queues = (await admin('/queues')).queues as Array<{ callers: Array<Record<string, unknown>> }>;
    expect(queues[0]?.callers.map((c) => [c.callSid, c.position, c.callbackAttempts])).toEqual([
      ['call-2', 1, 1],
      ['call-3', 2, 0],
    ]);
    const dial = await post('/texml/queue/result', { CallSid: caller(3).sid, QueueResult: 'leave' });
    expect(dialTargets(dial)).toEqual([SIP.Alice]);
    await leg(3, 'Alice', 'in-progress');
    await hangUp(3, 'Alice');

    // Its retry time come and Alice free: the second attempt.
    const secondTry = await placed(1);
    expect(secondTry.callSid).not.toBe(firstTry.callSid);
    await agentAnswers(secondTry, caller(2).from);
    await callbackTalk(secondTry, caller(2).from);
    await eventually(async () => {
      const log = await events();
      const of2 = log.filter((e) => 'callSid' in e && e.callSid === 'call-2');
      expect(of2.flatMap((e) => (e.type === 'callback-attempt' ? [e.attempt] : []))).toEqual([1, 2]);
      expect(of2.find((e) => e.type === 'callback-connected')).toMatchObject({ agent: 'Alice', attempt: 2 });
      expect(of2.find((e) => e.type === 'complete')).toMatchObject({ agent: 'Alice', talk: 42 });
      expect(of2.some((e) => e.type === 'callback-failed')).toBe(false);
    });
    expect(await line()).toEqual([]);
  });

  it('after its last attempt the callback leaves the line: callback-failed, and the urgent Slack alert', async () => {
    await start(['Alice'], { callbackAttempts: 2, callbackRetrySeconds: 1 });
    await answered(1);
    await queued(2);
    await asksForCallback(2);
    // Attempt 1: Telnyx refuses to place the call (an API error).
    api().failNext({ path: /^\/v2\/texml\/calls\//, method: 'POST' }, 1, { kind: 'server-error' });
    await hangUp(1, 'Alice');
    await eventually(async () => {
      const queues = (await admin('/queues')).queues as Array<{ callers: Array<Record<string, unknown>> }>;
      expect(queues[0]?.callers[0]).toMatchObject({
        callSid: 'call-2',
        callbackAttempts: 1,
        offeredTo: null,
      });
    });
    expect(api().texmlCalls).toHaveLength(0);

    // Attempt 2: Alice answers, the caller does not.
    const call = await placed(0);
    await agentAnswers(call, caller(2).from);
    await customerLeg(call, caller(2).from, 'no-answer');
    await post('/texml/dial-result', { CallSid: call.callSid, DialCallStatus: 'no-answer' });
    await agentLeg(call, 'completed');

    await eventually(async () => {
      const log = await events();
      expect(log.find((e) => e.type === 'callback-failed')).toMatchObject({
        queue: 'support',
        callSid: 'call-2',
        attempts: 2,
      });
      // Alice talked (to a ringing line): her wrap-up follows, as after any call.
      expect(
        log.some((e) => e.type === 'wrap-up-start' && e.agent === 'Alice' && e.callSid === 'call-2'),
      ).toBe(true);
    });
    expect(await line()).toEqual([]);
    await eventually(async () => {
      const kinds = slack.accepted().flatMap(slackEvents);
      expect(kinds.filter((k) => k === 'callback-failed')).toHaveLength(1);
    }, 8_000);
    const message = slack.accepted().find((m) => slackEvents(m).includes('callback-failed'))!;
    expect(message.text).toMatch(/failed after 2 attempts/);
    // The last attempt's own messages: it rang Alice, and ended without reaching the caller.
    await eventually(async () => {
      const texts = slack.accepted().flatMap(slackTexts);
      expect(texts.filter((t) => slackKind(t) === 'callback-ended')).toEqual([
        `☎️ Callback to ${caller(2).from} for queue support, attempt 2 of 2 — ended without reaching the caller, agent Alice`,
      ]);
      expect(texts.filter((t) => slackKind(t) === 'callback-ringing')).toHaveLength(1);
    }, 8_000);
    expect(await api().texmlCalls).toHaveLength(1);
  });

  it('never offers a callback to a withheld number or one the outbound policy would not dial', async () => {
    await start(['Alice']);
    await answered(1);
    await queued(2, 'anonymous');
    await queued(3, '+442079460000'); // outside OUTBOUND_ALLOWED_PREFIXES (the hotline's country)
    await queued(4);
    expect(await wait(2)).not.toContain('<Gather');
    expect(await wait(3)).not.toContain('<Gather');
    expect(await wait(4)).toContain('<Gather');
    // Pressing 1 anyway (a forged request) changes nothing: back to the music.
    const doc = await post('/texml/queue/callback', {
      CallSid: caller(2).sid,
      From: 'anonymous',
      Digits: '1',
    });
    expect(doc).not.toContain('<Hangup/>');
    expect((await line()).every((e) => !e.callback)).toBe(true);
    expect((await events()).some((e) => e.type === 'callback-requested')).toBe(false);
  });

  it('a queue whose callbacks are off offers none', async () => {
    await start(['Alice'], { callbacks: false });
    await answered(1);
    await queued(2);
    expect(await wait(2)).not.toContain('<Gather');
    expect(await press(2, '1')).not.toContain('<Hangup/>');
    expect((await line()).map((e) => e.callback)).toEqual([false]);
  });

  it('never more callbacks ringing than free agents', async () => {
    await start(['Alice', 'Bob']);
    const first = await answered(1);
    const second = await answered(2);
    for (const i of [3, 4, 5]) {
      await queued(i);
      await asksForCallback(i);
    }
    expect((await line()).map((e) => e.callback)).toEqual([true, true, true]);

    await hangUp(1, first);
    const one = await placed(0);
    expect(one.body.To).toBe(SIP[first]);
    // Ticks go by (the agent's answer is seen by the callback tick): still one call, one offer.
    await agentLeg(one, 'in-progress');
    // The callback tick runs about once a second; a loaded CI machine may take a few.
    await eventually(async () => expect(await state(first)).toBe('on-call'), 15_000);
    expect(api().texmlCalls).toHaveLength(1);
    expect((await line()).map((e) => e.offeredTo)).toEqual([first, undefined, undefined]);

    await hangUp(2, second);
    const two = await placed(1);
    expect(two.body.To).toBe(SIP[second]);
    await agentLeg(two, 'in-progress');
    await eventually(async () => expect(await state(second)).toBe('on-call'));
    expect(api().texmlCalls).toHaveLength(2);
    expect((await line()).map((e) => e.offeredTo)).toEqual([first, second, undefined]);
    const attempts = (await events()).flatMap((e) =>
      e.type === 'callback-attempt' ? [[e.callSid, e.agent]] : [],
    );
    expect(attempts).toEqual([
      ['call-3', first],
      ['call-4', second],
    ]);
  });
});
