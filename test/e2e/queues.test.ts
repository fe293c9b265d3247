import { afterEach, describe, expect, it } from 'vitest';
import type { LoggedEvent } from '../../src/events/call-center-event.js';
import { eventually, postRaw, startServer, type TestServer } from '../helper.js';
import { uniquePrefix } from '../setup/redis.js';

/**
 * docs/interface.md §5 and §7 end to end, driven by plain form POSTs as Telnyx sends them (no
 * simulator): three agents, ten callers arriving faster than they can be served. Run in memory
 * and on Redis with two replicas sharing one key prefix (requests alternate between them).
 */

const AGENTS3 = 'Alice=sip:alice@sip.telnyx.com,Bob=sip:bob@sip.telnyx.com,Carol=sip:carol@sip.telnyx.com';
const SIP: Record<string, string> = {
  Alice: 'sip:alice@sip.telnyx.com',
  Bob: 'sip:bob@sip.telnyx.com',
  Carol: 'sip:carol@sip.telnyx.com',
};
const TOKEN = 'queue-test-token-0123456789';

const form = (params: Record<string, string>) => new URLSearchParams(params).toString();

describe.each(['memory', 'redis'] as const)('queues end to end (%s)', (store) => {
  let servers: TestServer[] = [];
  let turn = 0;
  afterEach(async () => {
    for (const s of servers) await s.close();
    servers = [];
  });

  const start = async () => {
    const keyPrefix = uniquePrefix();
    const opts = {
      store,
      keyPrefix,
      env: {
        AGENTS: AGENTS3,
        API_TOKEN: TOKEN,
        ROUTING_STRATEGY: 'longest-idle',
        STICKY_ROUTING: 'false',
        WRAP_UP_SECONDS: '1',
        MAX_NO_ANSWER: '3',
        DIAL_ATTEMPTS: '5',
        PUBLIC_URL: 'https://sb.example.com',
      },
      deps: { callCenterTickMs: 50 },
    };
    servers.push(await startServer(opts));
    if (store === 'redis') servers.push(await startServer(opts));
  };
  /** The next replica (round robin), as a load balancer would pick. */
  const next = () => servers[turn++ % servers.length]!;
  const post = async (path: string, params: Record<string, string>) => {
    const res = await postRaw(`${next().url}${path}`, form({ AccountSid: 'AC-test', ...params }));
    expect(res.status).toBe(200);
    return res.body;
  };
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${next().url}/api${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const dialTargets = (xml: string) => [...xml.matchAll(/<Sip[^>]*>([^<]+)<\/Sip>/g)].map((m) => m[1]!);
  const agentOf = (sip: string) => Object.keys(SIP).find((n) => SIP[n] === sip)!;

  const caller = (i: number) => ({ sid: `call-${i}`, from: `+1312555${String(1000 + i)}` });
  const inbound = (i: number) =>
    post('/texml/inbound', { CallSid: caller(i).sid, From: caller(i).from, To: '+18005550199' });
  const leg = (i: number, agent: string, status: string, n: number) =>
    post('/texml/status', {
      CallSid: `leg-${i}-${agent}-${n}`,
      ParentCallSid: caller(i).sid,
      From: caller(i).from,
      To: SIP[agent]!,
      CallStatus: status,
    });
  const callerStatus = (i: number, status: string) =>
    post('/texml/status', {
      CallSid: caller(i).sid,
      From: caller(i).from,
      To: '+18005550199',
      CallStatus: status,
    });
  const wait = (i: number) => post('/texml/queue/wait', { CallSid: caller(i).sid, From: caller(i).from });
  const events = async (): Promise<LoggedEvent[]> =>
    servers[0]!.app.services.center.events.read({ limit: 10_000 });
  const state = (agent: string) => servers[0]!.app.services.center.agentStates.get(agent);

  /** The caller is offered to a free agent: its next wait fetch leaves, the action dials. */
  const takeFromQueue = async (i: number): Promise<string> => {
    await eventually(async () => expect(await wait(i)).toContain('<Leave/>'), 5_000);
    const doc = await post('/texml/queue/result', { CallSid: caller(i).sid, QueueResult: 'leave' });
    const targets = dialTargets(doc);
    expect(targets).toHaveLength(1);
    return agentOf(targets[0]!);
  };
  /** The agent answers, talks, and the call ends (both legs). */
  const talk = async (i: number, agent: string, n = 1) => {
    await leg(i, agent, 'in-progress', n);
    await leg(i, agent, 'completed', n);
    await post('/texml/dial-result', {
      CallSid: caller(i).sid,
      DialCallStatus: 'completed',
      DialCallDuration: '30',
    });
    await callerStatus(i, 'completed');
  };

  it('three agents, ten callers: no agent rung while busy, join order kept, positions announced, ring-outs pause an agent, the event log tells it all', async () => {
    await start();
    const { body: agentIds } = await api('GET', '/agents');
    expect(
      (agentIds.agents as Array<{ id: string; status: string; state: string }>).map((a) => a.state),
    ).toEqual(['idle', 'idle', 'idle']);

    // 1–3 ring one free agent each (longest idle); 4–10 find nobody free and queue.
    const busy = new Map<string, number>();
    for (let i = 1; i <= 10; i++) {
      const doc = await inbound(i);
      if (i <= 3) {
        const [target] = dialTargets(doc);
        const agent = agentOf(target!);
        expect(busy.has(agent)).toBe(false); // never an agent already offered a call
        busy.set(agent, i);
      } else {
        expect(dialTargets(doc)).toEqual([]);
        expect(doc).toContain('<Enqueue action="https://sb.example.com/texml/queue/result"');
        expect(doc).toContain('waitUrl="https://sb.example.com/texml/queue/wait"');
      }
    }
    expect([...busy.keys()].sort()).toEqual(['Alice', 'Bob', 'Carol']);

    // Positions 1..7 in join order, announced with an estimate.
    expect(await wait(4)).toMatch(/You are number 1 in line\. Your wait is about [\w ]+\./);
    expect(await wait(10)).toMatch(/You are number 7 in line/);
    expect(await wait(7)).toContain(
      '<Play continueOnError="true">https://sb.example.com/audio/hold-music.mp3</Play>',
    );

    // Everyone answers; caller 10 gives up while waiting.
    for (const [agent, i] of busy) await leg(i, agent, 'in-progress', 1);
    await callerStatus(10, 'completed');
    await eventually(async () => {
      const e = (await events()).find((x) => x.type === 'abandon');
      expect(e).toMatchObject({ callSid: 'call-10', position: 7 });
    });

    // Nobody is free: the waiting callers keep hearing music, nobody is rung.
    expect(await wait(4)).not.toContain('<Leave/>');
    expect((await state('Alice')).state).toBe('on-call');

    // Alice's call ends: wrap-up (1 s), then she gets the longest-waiting caller, 4.
    const aliceCall = busy.get('Alice')!;
    await leg(aliceCall, 'Alice', 'completed', 1);
    await post('/texml/dial-result', { CallSid: caller(aliceCall).sid, DialCallStatus: 'completed' });
    await callerStatus(aliceCall, 'completed');
    expect((await state('Alice')).state).toBe('wrap-up');
    expect(await wait(4)).not.toContain('<Leave/>'); // in wrap-up: not offered yet

    // Alice lets the callers she is offered ring out three times; each goes back to its place.
    const line = async () =>
      (await servers[0]!.app.services.queue.store.list('support', Date.now())).map((e) => e.callSid);
    const order = ['call-4', 'call-5', 'call-6', 'call-7', 'call-8', 'call-9'];
    for (let n = 1; n <= 3; n++) {
      const offered = await eventually(async () => {
        const e = (await servers[0]!.app.services.queue.store.list('support', Date.now())).find(
          (x) => x.offeredTo === 'Alice',
        );
        expect(e).toBeDefined();
        return Number(e!.callSid.slice(5));
      });
      expect(await takeFromQueue(offered)).toBe('Alice');
      await leg(offered, 'Alice', 'no-answer', n);
      const back = await post('/texml/dial-result', {
        CallSid: caller(offered).sid,
        DialCallStatus: 'no-answer',
      });
      expect(back).toContain('<Enqueue'); // back in line
      expect(await line()).toEqual(order); // at the same place
    }
    expect(await wait(4)).toMatch(/You are number 1 in line/);
    await eventually(async () => expect((await state('Alice')).status).toBe('break'));
    expect((await state('Alice')).reason).toBe('no-answer');

    // Bob and Carol finish; callers 4 and 5 go to them in join order, never to Alice (on break).
    const served: Array<[number, string]> = [];
    for (const agent of ['Bob', 'Carol']) {
      const i = busy.get(agent)!;
      await leg(i, agent, 'completed', 1);
      await callerStatus(i, 'completed');
    }
    for (const i of [4, 5]) served.push([i, await takeFromQueue(i)]);
    expect(served.map(([i]) => i)).toEqual([4, 5]);
    expect(new Set(served.map(([, a]) => a))).toEqual(new Set(['Bob', 'Carol']));
    // Callers being offered still count ahead; once answered they leave the line.
    for (const [i, agent] of served) await leg(i, agent, 'in-progress', 1);
    await eventually(async () => expect(await wait(6)).toMatch(/number 1 in line/));

    // Setting an agent available again (supervisor) puts her back to work: caller 6 is hers.
    expect((await api('PUT', '/agents/Alice/status', { status: 'available' })).status).toBe(200);
    expect(await takeFromQueue(6)).toBe('Alice');
    await talk(6, 'Alice', 9);
    await eventually(async () => expect((await state('Alice')).state).toBe('wrap-up'));
    expect((await api('POST', '/agents/Alice/wrap-up/end')).body).toMatchObject({ state: 'idle' });
    expect((await api('POST', '/agents/Alice/wrap-up/end')).status).toBe(409);
    expect((await api('PUT', '/agents/Nobody/status', { status: 'break' })).status).toBe(404);

    // The log agrees with what happened.
    await eventually(async () => {
      const log = await events();
      const count = (type: string) => log.filter((e) => e.type === type).length;
      expect(count('enter-queue')).toBe(10);
      expect(log.flatMap((e) => (e.type === 'enter-queue' && e.position > 1 ? [e.callSid] : []))).toEqual([
        'call-5',
        'call-6',
        'call-7',
        'call-8',
        'call-9',
        'call-10',
      ]);
      expect(log.flatMap((e) => (e.type === 'no-answer' ? [e.agent] : []))).toEqual([
        'Alice',
        'Alice',
        'Alice',
      ]);
      expect(log.flatMap((e) => (e.type === 'status-change' ? [[e.agent, e.to, e.by]] : []))).toEqual([
        ['Alice', 'break', 'system'],
        ['Alice', 'available', 'supervisor'],
      ]);
      expect(count('abandon')).toBe(1);
      expect(log.flatMap((e) => (e.type === 'connect' ? [e.callSid] : []))).toEqual([
        'call-1',
        'call-2',
        'call-3',
        'call-4',
        'call-5',
        'call-6',
      ]);
      expect(count('wrap-up-start')).toBe(4);
      expect(log.some((e) => e.type === 'complete' && e.callSid === 'call-6' && e.talk === 30)).toBe(true);
    });
  });
});
