import { afterEach, describe, expect, it } from 'vitest';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';
import { type FakeSlack, startFakeSlack } from '../fakes/slack-server.js';
import { eventually, postRaw, startServer, type TestServer } from '../helper.js';
import { uniquePrefix } from '../setup/redis.js';
import { slackKind, slackTexts } from '../support/slack-kind.js';

/**
 * Sticky first, with a time limit (docs/interface.md §5.1), end to end: agents synced from the
 * fake Telnyx API, Slack on the fake webhook, Telnyx's requests as plain form POSTs. In memory,
 * and on Redis with two replicas sharing one key prefix (requests alternate between them).
 *
 * The caller +13125550100 talked to agent-alice twice, so she is their preferred agent:
 * - free: she rings alone, `<Dial timeout>` = STICKY_RING_SECONDS (7), and when she does not
 *   answer the strategy rings the others for DIAL_TIMEOUT_SECONDS (25) — a round more than
 *   DIAL_ATTEMPTS (1), since the sticky round does not count;
 * - on a call: the caller waits in the queue, held for her (nobody else is offered them although
 *   they are free); if she is free within STICKY_RING_SECONDS she is offered the caller, ringing
 *   for STICKY_RING_SECONDS; after that, or once her sticky ring ran out, anyone.
 */

const TOKEN = 'sticky-test-token-0123456789';
const STICKY = 7;
const DIAL = 25;
const CALLER = '+13125550100';
const SIP: Record<string, string> = {
  alice: 'sip:alice3001@sip.telnyx.com',
  bob: 'sip:bob3002@sip.telnyx.com',
  carol: 'sip:carol3003@sip.telnyx.com',
};
const ID: Record<string, string> = { alice: '3001', bob: '3002', carol: '3003' };

const form = (params: Record<string, string>) => new URLSearchParams(params).toString();
const dialOf = (xml: string) => {
  const dial = /<Dial [^>]*timeout="(\d+)"[^>]*>([\s\S]*?)<\/Dial>/.exec(xml);
  if (!dial) return undefined;
  const targets = [...dial[2]!.matchAll(/<Sip[^>]*>([^<]+)<\/Sip>/g)].map((m) => m[1]!);
  const names = targets.map((t) => Object.keys(SIP).find((n) => SIP[n] === t) ?? t);
  return { timeout: Number(dial[1]), agents: names };
};

describe.each(['memory', 'redis'] as const)('sticky routing with a time limit (%s)', (store) => {
  let servers: TestServer[] = [];
  let telnyx: FakeTelnyxApi | undefined;
  let slack: FakeSlack | undefined;
  let turn = 0;
  /** The app's clock runs ahead of the wall clock by this much (the hold's end without waiting). */
  let ahead = 0;
  afterEach(async () => {
    for (const s of servers) await s.close();
    servers = [];
    await telnyx?.close();
    await slack?.close();
    telnyx = slack = undefined;
    ahead = 0;
  });

  const start = async (env: Record<string, string> = {}) => {
    telnyx = await FakeTelnyxApi.start();
    for (const name of Object.keys(SIP)) {
      telnyx.addConnection({
        id: ID[name],
        connection_name: `agent-${name}`,
        user_name: `${name}${ID[name]}`,
        registration: 'Registered',
        sip_uri_calling_preference: 'internal',
      });
    }
    slack = await startFakeSlack();
    const keyPrefix = uniquePrefix();
    const opts = {
      store,
      keyPrefix,
      env: {
        AGENTS: '',
        AGENT_CONNECTION_FILTER: 'agent-',
        TELNYX_API_KEY: telnyx.apiKey,
        TELNYX_API_BASE_URL: telnyx.baseUrl,
        SLACK_WEBHOOK_URL: slack.url,
        API_TOKEN: TOKEN,
        PUBLIC_URL: 'https://sb.example.com',
        ROUTING_STRATEGY: 'ring-all',
        STICKY_RING_SECONDS: String(STICKY),
        DIAL_TIMEOUT_SECONDS: String(DIAL),
        DIAL_ATTEMPTS: '1',
        ...env,
      },
      deps: {
        telnyx: createTelnyxClient({ apiKey: telnyx.apiKey, baseUrl: telnyx.baseUrl, maxRetries: 0 }),
        now: () => Date.now() + ahead,
        rosterRefreshMs: 50,
        // No periodic offers: the test runs `queue.tick()` itself, so "nobody else was offered
        // the caller" is a fact about a tick that ran, not about time that passed.
        callCenterTickMs: 3_600_000,
      },
    };
    servers.push(await startServer(opts));
    if (store === 'redis') servers.push(await startServer(opts));
    for (const s of servers) {
      await eventually(async () => {
        const res = await fetch(`${s.url}/api/agents`, { headers: { authorization: `Bearer ${TOKEN}` } });
        expect(((await res.json()) as { online: number }).online).toBe(3);
      }, 15_000);
    }
  };
  const next = () => servers[turn++ % servers.length]!;
  const post = async (path: string, params: Record<string, string>) => {
    const res = await postRaw(`${next().url}${path}`, form({ AccountSid: 'AC-test', ...params }));
    expect(res.status).toBe(200);
    return res.body;
  };
  const inbound = (sid: string, from = CALLER) =>
    post('/texml/inbound', { CallSid: sid, From: from, To: '+18005550199' });
  const legStatus = (sid: string, agent: string, n: number, status: string, from = CALLER) =>
    post('/texml/status', {
      CallSid: `leg-${sid}-${agent}-${n}`,
      ParentCallSid: sid,
      From: from,
      To: SIP[agent]!,
      CallStatus: status,
    });
  const dialResult = (sid: string, status: string) =>
    post('/texml/dial-result', { CallSid: sid, DialCallStatus: status, DialCallDuration: '30' });
  const callerEnds = (sid: string, from = CALLER) =>
    post('/texml/status', { CallSid: sid, From: from, To: '+18005550199', CallStatus: 'completed' });
  const wait = (sid: string) => post('/texml/queue/wait', { CallSid: sid, From: CALLER });
  const queueResult = (sid: string) => post('/texml/queue/result', { CallSid: sid, QueueResult: 'leave' });
  const app = () => servers[0]!.app.services;
  const agentState = async (name: string) => (await app().center.agentStates.get(ID[name]!)).state;

  /** A whole call answered by `agent` (rung in round 1), ended by both sides. */
  const answeredCall = async (sid: string, agent: string, from = CALLER) => {
    const dial = dialOf(await inbound(sid, from));
    expect(dial?.agents).toContain(agent);
    await legStatus(sid, agent, 1, 'in-progress', from);
    await legStatus(sid, agent, 1, 'completed', from);
    await dialResult(sid, 'completed');
    await callerEnds(sid, from);
    await eventually(async () => expect(await agentState(agent)).toBe('idle'));
  };
  /** Two answered calls with Alice: she is the caller's preferred agent from now on. */
  const makeAlicePreferred = async () => {
    await answeredCall('seed-1', 'alice');
    await answeredCall('seed-2', 'alice');
  };
  /** Another caller's call that Alice answers and stays on (ring-all: Bob and Carol cancelled). */
  const aliceBusyWith = async (sid: string) => {
    const from = '+13125550999';
    const dial = dialOf(await inbound(sid, from));
    expect([...(dial?.agents ?? [])].sort()).toEqual(['alice', 'bob', 'carol']);
    await legStatus(sid, 'alice', 1, 'in-progress', from);
    for (const other of ['bob', 'carol']) await legStatus(sid, other, 1, 'canceled', from);
    await eventually(async () => {
      expect(await agentState('alice')).toBe('on-call');
      expect(await agentState('bob')).toBe('idle');
      expect(await agentState('carol')).toBe('idle');
    });
    return async () => {
      await legStatus(sid, 'alice', 1, 'completed', from);
      await dialResult(sid, 'completed');
      await callerEnds(sid, from);
    };
  };
  const entry = (sid: string) => app().queue.store.get(sid);

  /**
   * The offer reaches the caller: through Telnyx's call-update API (the fake API records it), or,
   * without it, by `<Leave/>` on the next wait fetch (docs/interface.md §7).
   */
  const reached = (sid: string) =>
    eventually(async () => {
      if (telnyx!.requestsTo(new RegExp(`/Calls/${sid}$`), 'POST').length) return;
      expect(await wait(sid)).toContain('<Leave/>');
    });

  it('a free preferred agent rings alone for STICKY_RING_SECONDS; then the strategy rings the others, an extra round', async () => {
    await start();
    await makeAlicePreferred();

    const first = dialOf(await inbound('call-1'));
    expect(first).toEqual({ timeout: STICKY, agents: ['alice'] });
    await legStatus('call-1', 'alice', 1, 'no-answer');
    // DIAL_ATTEMPTS=1, yet the strategy gets its round: the sticky one does not count.
    const second = dialOf(await dialResult('call-1', 'no-answer'));
    expect(second).toEqual({ timeout: DIAL, agents: ['bob', 'carol'] });
    for (const other of ['bob', 'carol']) await legStatus('call-1', other, 1, 'no-answer');
    const third = await dialResult('call-1', 'no-answer');
    expect(dialOf(third)).toBeUndefined();
    expect(third).toContain('<Record');

    const state = (await app().calls.get('call-1'))!;
    expect({ attempts: state.attempts, stickyRounds: state.stickyRounds, phase: state.phase }).toEqual({
      attempts: 2,
      stickyRounds: 1,
      phase: 'voicemail',
    });
    // Slack's "incoming" message of the call names the one agent its first round rang.
    await eventually(async () => {
      const texts = slack!.accepted().flatMap((m) => slackTexts(m));
      const incoming = texts.filter((t) => slackKind(t) === 'incoming' && t.includes('5550100'));
      expect(incoming.some((t) => /ringing agent-alice$/.test(t))).toBe(true);
    });
  });

  it('a busy preferred agent: the caller is held in the queue for her, and she gets the caller when free within the limit', async () => {
    await start();
    await makeAlicePreferred();
    const endAliceCall = await aliceBusyWith('other-1');

    // Bob and Carol are free, but the caller waits for Alice.
    const joined = await inbound('call-2');
    expect(dialOf(joined)).toBeUndefined();
    expect(joined).toContain('<Enqueue');
    expect(await entry('call-2')).toMatchObject({ preferredAgent: ID.alice });
    expect(await app().queue.tick()).toBe(0);
    expect(await wait('call-2')).not.toContain('<Leave/>');
    expect((await entry('call-2'))?.offeredTo).toBeUndefined();

    // Alice's call ends (no wrap-up here): she is offered her caller at once, for STICKY seconds.
    await endAliceCall();
    await eventually(async () => expect((await entry('call-2'))?.offeredTo).toBe(ID.alice));
    await reached('call-2');
    expect(dialOf(await queueResult('call-2'))).toEqual({ timeout: STICKY, agents: ['alice'] });
    await legStatus('call-2', 'alice', 1, 'in-progress');
    await eventually(async () => expect(await entry('call-2')).toBeUndefined());
    const offers = (await app().center.events.read({ limit: 1000 })).filter(
      (e) => e.type === 'offer' && e.callSid === 'call-2',
    );
    expect(offers.map((e) => (e as { agent: string }).agent)).toEqual([ID.alice]);
  });

  it('after STICKY_RING_SECONDS anyone is offered the caller, ringing for the whole DIAL_TIMEOUT_SECONDS', async () => {
    await start();
    await makeAlicePreferred();
    await aliceBusyWith('other-2');
    expect(await inbound('call-3')).toContain('<Enqueue');
    expect(await app().queue.tick()).toBe(0);

    ahead = (STICKY + 1) * 1000; // the hold is over
    expect(await app().queue.tick()).toBe(1);
    const offeredTo = (await entry('call-3'))?.offeredTo;
    expect([ID.bob, ID.carol]).toContain(offeredTo);
    await reached('call-3');
    const dial = dialOf(await queueResult('call-3'));
    expect(dial?.timeout).toBe(DIAL);
    expect(dial?.agents).toHaveLength(1);
    expect(['bob', 'carol']).toContain(dial?.agents[0]);
  });

  it('the preferred agent lets the sticky ring run out: not a DIAL_ATTEMPT, the hold ends, the caller is back in line for anyone', async () => {
    await start();
    await makeAlicePreferred();
    const endAliceCall = await aliceBusyWith('other-3');
    expect(await inbound('call-4')).toContain('<Enqueue');
    await endAliceCall();
    await eventually(async () => expect((await entry('call-4'))?.offeredTo).toBe(ID.alice));
    await wait('call-4');
    expect(dialOf(await queueResult('call-4'))).toEqual({ timeout: STICKY, agents: ['alice'] });
    await legStatus('call-4', 'alice', 1, 'no-answer');
    // DIAL_ATTEMPTS=1: a counted ring-out would mean voicemail now.
    const back = await dialResult('call-4', 'no-answer');
    expect(back).toContain('<Enqueue');
    const after = await entry('call-4');
    expect(after).toBeDefined();
    expect(after).not.toHaveProperty('preferredAgent');
    expect(after?.ringOuts ?? 0).toBe(0);
    // The next offer (whoever gets it) is an ordinary one, for DIAL_TIMEOUT_SECONDS.
    await app().queue.tick();
    await eventually(async () => expect((await entry('call-4'))?.offeredTo).toBeDefined());
    await wait('call-4');
    expect(dialOf(await queueResult('call-4'))?.timeout).toBe(DIAL);
  });
});
