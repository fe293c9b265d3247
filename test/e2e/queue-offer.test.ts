import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { LiveCalls } from '../../src/simulator/live-calls.js';
import { eventually, postRaw, startServer, type TestServer } from '../helper.js';
import { useFakeSlack } from '../support/fake-slack.js';
import { slackKind } from '../support/slack-kind.js';

/**
 * docs/interface.md §7 end to end, with form POSTs as Telnyx sends them: a freed agent's offer
 * reaches the waiting caller through Telnyx's call-update API (the fake Telnyx API over HTTP,
 * the real SDK), the `<Leave/>` fallback when the API refuses, and what Slack sees of a caller who
 * hangs up in the queue. In memory and on Redis.
 */

const PUBLIC = 'https://sb.example.com';
const ACCOUNT = 'AC-test';
const ANN = 'sip:ann@sip.telnyx.com';
const form = (params: Record<string, string>) => new URLSearchParams(params).toString();

describe.each(['memory', 'redis'] as const)('queue offers end to end (%s)', (store) => {
  const slack = useFakeSlack();
  let server: TestServer | undefined;
  let api: FakeTelnyxApi;
  let calls: LiveCalls;
  beforeEach(async () => {
    api = await FakeTelnyxApi.start();
    calls = new LiveCalls();
    api.liveCalls = calls;
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await api.close();
  });

  const start = async () => {
    server = await startServer({
      store,
      env: {
        AGENTS: `Ann=${ANN}`,
        PUBLIC_URL: PUBLIC,
        TELNYX_API_KEY: api.apiKey,
        TELNYX_API_BASE_URL: api.baseUrl,
        SLACK_WEBHOOK_URL: slack.url,
        STICKY_ROUTING: 'false',
      },
      deps: { callCenterTickMs: 50 },
    });
  };
  const post = async (path: string, params: Record<string, string>) => {
    const res = await postRaw(`${server!.url}${path}`, form({ AccountSid: ACCOUNT, ...params }));
    expect(res.status).toBe(200);
    return res.body;
  };
  const from = (sid: string) => `+1312555${sid.replace(/\D/g, '').padStart(4, '0')}`;
  const inbound = (sid: string) => {
    calls.register({
      accountSid: ACCOUNT,
      callSid: sid,
      from: from(sid),
      to: '+18005550199',
      direction: 'inbound',
      startedAt: Date.now(),
    });
    return post('/texml/inbound', { CallSid: sid, From: from(sid), To: '+18005550199' });
  };
  const leg = (sid: string, status: string) =>
    post('/texml/status', {
      CallSid: `leg-${sid}`,
      ParentCallSid: sid,
      From: from(sid),
      To: ANN,
      CallStatus: status,
    });
  const callerStatus = (sid: string, status: string) =>
    post('/texml/status', { CallSid: sid, From: from(sid), To: '+18005550199', CallStatus: status });
  const dialTargets = (xml: string) => [...xml.matchAll(/<Sip[^>]*>([^<]+)<\/Sip>/g)].map((m) => m[1]!);

  /** Ann takes call `sid` and stays on it. */
  const annBusy = async (sid: string) => {
    expect(dialTargets(await inbound(sid))).toEqual([ANN]);
    await leg(sid, 'in-progress');
  };
  /** Ann's call `sid` ends (wrap-up 0): she is free, and the queue offers her the next caller. */
  const annHangsUp = async (sid: string) => {
    await leg(sid, 'completed');
    await post('/texml/dial-result', { CallSid: sid, DialCallStatus: 'completed', DialCallDuration: '30' });
    await callerStatus(sid, 'completed');
  };

  it('a freed agent is offered the waiting caller through the call-update API; Telnyx fetches the Enqueue action and rings her', async () => {
    await start();
    await annBusy('call-1');
    const enqueue = await inbound('call-2');
    expect(enqueue).toContain(`<Enqueue action="${PUBLIC}/texml/queue/result"`);
    expect(await post('/texml/queue/wait', { CallSid: 'call-2' })).toContain('You are number 1 in line');

    await annHangsUp('call-1');
    await eventually(() => expect(calls.updates).toHaveLength(1));
    expect(calls.updates[0]).toEqual({
      callSid: 'call-2',
      change: { kind: 'url', url: `${PUBLIC}/texml/queue/result`, method: 'POST' },
    });
    const [update] = api.requestsTo(/\/Calls\/call-2$/, 'POST');
    expect(update).toMatchObject({ path: `/v2/texml/Accounts/${ACCOUNT}/Calls/call-2`, status: 200 });

    // Telnyx requests the new Url (no QueueResult: the call was moved, not dequeued by <Leave/>).
    const dial = await post('/texml/queue/result', { CallSid: 'call-2' });
    expect(dialTargets(dial)).toEqual([ANN]);
    await leg('call-2', 'in-progress');
    const events = await server!.app.services.center.events.read({ limit: 100 });
    expect(events.filter((e) => 'callSid' in e && e.callSid === 'call-2').map((e) => e.type)).toEqual([
      'enter-queue',
      'offer',
      'connect',
    ]);
  });

  it('when Telnyx refuses the update, the caller leaves by <Leave/> and is rung all the same', async () => {
    await start();
    await annBusy('call-1');
    await inbound('call-2');
    calls.end('call-2', Date.now()); // Telnyx says the call is over: 422
    await annHangsUp('call-1');
    await eventually(() => expect(api.requestsTo(/\/Calls\/call-2$/, 'POST')).toHaveLength(1));
    expect(api.requestsTo(/\/Calls\/call-2$/, 'POST')[0]?.status).toBe(422);
    await eventually(
      async () => expect(await post('/texml/queue/wait', { CallSid: 'call-2' })).toContain('<Leave/>'),
      10_000,
    );
    const dial = await post('/texml/queue/result', { CallSid: 'call-2', QueueResult: 'leave' });
    expect(dialTargets(dial)).toEqual([ANN]);
    // Never asked twice.
    expect(api.requestsTo(/\/Calls\/call-2$/, 'POST')).toHaveLength(1);
  });

  it('a caller who hangs up in the queue is one Slack message, with the wait and the place in line', async () => {
    await start();
    await annBusy('call-1');
    await inbound('call-2');
    await inbound('call-3');
    await post('/texml/queue/wait', { CallSid: 'call-3' });
    await post('/texml/queue/result', { CallSid: 'call-3', QueueResult: 'hangup' });
    await callerStatus('call-3', 'completed');
    await callerStatus('call-3', 'completed'); // repeated, as Telnyx may

    const about = (sid: string) => slack.accepted().filter((m) => JSON.stringify(m.blocks).includes(sid));
    await eventually(() => expect(about('call-3').length).toBeGreaterThan(0));
    await new Promise((r) => setTimeout(r, 300)); // a second message would be here by now
    const messages = about('call-3');
    expect(messages.map((m) => slackKind(m.text))).toEqual(['queue-abandoned']);
    expect(messages[0]?.text).toMatch(/hung up in queue support after \d+s at position 2$/u);
    const logged = await server!.app.services.center.events.read({ limit: 100 });
    expect(logged.filter((e) => 'callSid' in e && e.callSid === 'call-3').map((e) => e.type)).toEqual([
      'enter-queue',
      'abandon',
    ]);
  });
});
