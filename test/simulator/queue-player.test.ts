import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { SimQueues } from '../../src/simulator/live-calls.js';
import { playInbound } from '../../src/simulator/scenarios.js';
import { readTexml, TelnyxPlayer } from '../../src/simulator/telnyx-player.js';

/**
 * The player's queue mechanics against hand-written TeXML served by a tiny local server: the
 * waitUrl loop, <Leave> and the Enqueue action, a call update through the fake Telnyx API,
 * <Gather> digits, and a caller hanging up in the queue.
 */

type Handler = (params: Record<string, string>, n: number) => string | Promise<string>;

interface Served {
  url: string;
  hits: Array<{ path: string; params: Record<string, string> }>;
  close(): Promise<void>;
}

const xml = (body: string) => `<?xml version="1.0" encoding="UTF-8"?><Response>${body}</Response>`;
const PUBLIC = 'https://switchboard.example.com';

async function serve(routes: Record<string, Handler>): Promise<Served> {
  const hits: Served['hits'] = [];
  const counts = new Map<string, number>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', async () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const params = Object.fromEntries(new URLSearchParams(body));
      hits.push({ path, params });
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      const route = routes[path];
      if (!route) {
        res.writeHead(path === '/texml/status' ? 200 : 404).end();
        return;
      }
      const reply = await route(params, n);
      res.writeHead(200, { 'content-type': 'application/xml' }).end(reply);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const ENQUEUE = xml(
  `<Enqueue waitUrl="${PUBLIC}/texml/queue/wait" action="${PUBLIC}/texml/queue/result">support</Enqueue>`,
);
const DIAL_ALICE = xml(
  `<Dial action="${PUBLIC}/texml/dial-result" timeout="20"><Sip statusCallback="${PUBLIC}/texml/status">sip:alice@sip.telnyx.com</Sip></Dial>`,
);

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup(routes: Record<string, Handler>) {
  const s = await serve(routes);
  cleanup.push(s.close);
  const player = new TelnyxPlayer({ baseUrl: s.url });
  return { s, player, hits: (path: string) => s.hits.filter((h) => h.path === path) };
}

describe('simulated caller in a TeXML queue', () => {
  it('loops on the waitUrl with the queue parameters, leaves on <Leave>, follows the action to a <Dial>', async () => {
    const start = Date.UTC(2026, 11, 6, 9, 0, 0);
    const { s, player, hits } = await setup({
      '/texml/inbound': () => ENQUEUE,
      '/texml/queue/wait': (q, n) =>
        n < 3
          ? xml(
              `<Say>You are number ${q.QueuePosition} in line.</Say><Play>${PUBLIC}/audio/hold-music.mp3</Play>`,
            )
          : xml('<Leave/>'),
      '/texml/queue/result': () => DIAL_ALICE,
      '/texml/dial-result': () => xml('<Hangup/>'),
    });
    player.clock.ms = start;
    const result = await playInbound(player, {
      answerInRound: 1,
      answerAfter: 5,
      talkSeconds: 30,
      queue: { playSeconds: 20 },
    });

    const waits = hits('/texml/queue/wait');
    expect(waits).toHaveLength(3);
    for (const w of waits) {
      expect(w.params).toMatchObject({
        CallSid: result.callSid,
        QueuePosition: '1',
        CurrentQueueSize: '1',
        From: '+13125550100',
      });
      expect(w.params.QueueSid).toMatch(/^[0-9a-f-]{36}$/);
    }
    // "You are number 1 in line." is 6 words (3 s), the hold music 20 s: 23 s per document.
    expect(waits.map((w) => w.params.QueueTime)).toEqual(['0', '23', '46']);
    expect(waits.map((w) => w.params.AvgQueueTime)).toEqual(['0', '23', '46']);
    const [leave] = hits('/texml/queue/result');
    expect(leave?.params).toMatchObject({ QueueResult: 'leave', QueueTime: '46' });
    expect(result.rounds).toEqual([['sip:alice@sip.telnyx.com']]);
    expect(result.queueStays).toEqual([
      expect.objectContaining({ kind: 'continue', via: 'leave', waited: 46 }),
    ]);
    expect(result.answeredAfterQueueSeconds).toBe(46);
    expect(result.story).toEqual([
      'waiting: number 1 in line (1 waiting), 0 s so far',
      'heard: "You are number 1 in line."',
      'heard: "You are number 1 in line."',
      'left the queue after 46 s in line',
      'connected to alice after 46 s in queue; talked 30 s',
    ]);
    // the agent leg's callbacks, then the caller's completed status
    const statuses = hits('/texml/status').map((h) => h.params.CallStatus);
    expect(statuses).toEqual([
      'in-progress',
      'initiated',
      'ringing',
      'in-progress',
      'completed',
      'completed',
    ]);
    expect(s.hits.at(-1)?.params).toMatchObject({ CallSid: result.callSid, CallStatus: 'completed' });
    // the Timestamps follow the simulated clock: the agent answered 46 + 5 s after the start
    const answered = hits('/texml/status').find(
      (h) => h.params.CallStatus === 'in-progress' && h.params.ParentCallSid,
    );
    expect(answered?.params.Timestamp).toBe(new Date(start + 51_000).toISOString());
  });

  it('<Leave> without an Enqueue action goes on with the verbs after <Enqueue>', async () => {
    const { player, hits } = await setup({
      '/texml/inbound': () =>
        xml(`<Enqueue waitUrl="${PUBLIC}/w">support</Enqueue><Say>Sorry, goodbye.</Say><Hangup/>`),
      '/w': () => xml('<Pause length="4"/><Leave/>'),
    });
    const result = await playInbound(player, {});
    expect(hits('/w')).toHaveLength(1);
    expect(result.replies.at(-1)?.verbs.map((v) => v.name)).toEqual(['Say', 'Hangup']);
    expect(result.queueStays).toEqual([expect.objectContaining({ via: 'leave', waited: 4 })]);
  });

  it('a call update through the fake Telnyx API takes the caller out of the queue to the new Url', async () => {
    const telnyx = await FakeTelnyxApi.start();
    cleanup.push(() => telnyx.close());
    let player: TelnyxPlayer | undefined;
    const answers: Array<{ status: number; body: unknown }> = [];
    const update = async (sid: string, form: Record<string, string>, auth = true, json = false) => {
      const res = await fetch(
        `${telnyx.baseUrl}/texml/Accounts/${player?.accountSid}/Calls/${encodeURIComponent(sid)}`,
        {
          method: 'POST',
          headers: {
            ...(auth && { authorization: `Bearer ${telnyx.apiKey}` }),
            'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded',
          },
          body: json ? JSON.stringify(form) : new URLSearchParams(form).toString(),
        },
      );
      const a = { status: res.status, body: await res.json() };
      answers.push(a);
      return a;
    };
    const { hits } = await setup({
      '/texml/inbound': () => ENQUEUE,
      '/texml/queue/wait': async (q, n) => {
        if (n === 2) {
          // an agent became free: Switchboard moves the caller with the call-update API
          expect((await update(q.CallSid as string, { Url: 'https://x' }, false)).status).toBe(401);
          expect((await update('v3:nope', { Url: `${PUBLIC}/texml/queue/connect` })).status).toBe(404);
          expect((await update(q.CallSid as string, { Url: 'x', Method: 'PUT' })).status).toBe(422);
          expect((await update(q.CallSid as string, {})).status).toBe(422);
          expect((await update(q.CallSid as string, { Url: `${PUBLIC}/a` }, true, true)).status).toBe(422);
          const ok = await update(q.CallSid as string, {
            Url: `${PUBLIC}/texml/queue/connect`,
            Method: 'POST',
          });
          expect(ok.status).toBe(200);
        }
        return xml(`<Play>${PUBLIC}/audio/hold-music.mp3</Play>`);
      },
      '/texml/queue/connect': () => DIAL_ALICE,
      '/texml/dial-result': () => xml('<Hangup/>'),
    }).then((x) => {
      player = new TelnyxPlayer({ baseUrl: x.s.url });
      telnyx.liveCalls = player.calls;
      return x;
    });
    const result = await playInbound(player as TelnyxPlayer, {
      answerInRound: 1,
      answerAfter: 3,
      talkSeconds: 20,
      queue: { playSeconds: 25 },
    });
    expect(hits('/texml/queue/wait')).toHaveLength(2);
    // interrupted at once: the hold music of the second document is not played out
    expect(result.queueStays).toEqual([expect.objectContaining({ via: 'update', waited: 25 })]);
    expect(hits('/texml/queue/connect')[0]?.params).toMatchObject({ CallSid: result.callSid });
    expect(hits('/texml/queue/result')).toHaveLength(0);
    expect(result.rounds).toEqual([['sip:alice@sip.telnyx.com']]);
    const ok = answers.at(-1)?.body as Record<string, unknown>;
    expect(ok).toMatchObject({
      sid: result.callSid,
      account_sid: player?.accountSid,
      status: 'in-progress',
      direction: 'inbound',
      uri: `/v2/texml/Accounts/${player?.accountSid}/Calls/${result.callSid}.json`,
    });
    expect(answers[2]?.body).toMatchObject({
      errors: [
        { code: '10032', title: 'Invalid enumerated value', source: { pointer: '/Method' } },
        { code: '10015', source: { pointer: '/Url' } },
      ],
    });
    // the call is over: a late update is refused
    expect((await update(result.callSid, { Url: `${PUBLIC}/late` })).status).toBe(422);
    expect(player?.calls.updates).toHaveLength(1);
  });

  it('Status=completed through the API ends a waiting call', async () => {
    const telnyx = await FakeTelnyxApi.start();
    cleanup.push(() => telnyx.close());
    const holder: { player?: TelnyxPlayer } = {};
    const { s } = await setup({
      '/texml/inbound': () => ENQUEUE,
      '/texml/queue/wait': async (q) => {
        const res = await fetch(
          `${telnyx.baseUrl}/texml/Accounts/${holder.player?.accountSid}/Calls/${q.CallSid}`,
          {
            method: 'POST',
            headers: {
              authorization: `Bearer ${telnyx.apiKey}`,
              'content-type': 'application/x-www-form-urlencoded',
            },
            body: 'Status=completed',
          },
        );
        expect(res.status).toBe(200);
        return xml(`<Play>${PUBLIC}/m.mp3</Play>`);
      },
    });
    holder.player = new TelnyxPlayer({ baseUrl: s.url });
    telnyx.liveCalls = holder.player.calls;
    const result = await playInbound(holder.player, {});
    expect(result.queueStays).toEqual([{ kind: 'ended', by: 'api', waited: 0 }]);
    expect(s.hits.at(-1)?.params).toMatchObject({ CallStatus: 'completed' });
  });

  it('presses a digit in a <Gather> of the wait document and follows the action', async () => {
    const { s, player, hits } = await setup({
      '/texml/inbound': () => ENQUEUE,
      '/texml/queue/wait': () =>
        xml(
          `<Play>${PUBLIC}/m.mp3</Play><Gather numDigits="1" timeout="5" action="${PUBLIC}/texml/queue/callback"><Say>Press 1 to be called back.</Say></Gather>`,
        ),
      '/texml/queue/callback': () => xml('<Say>We will call you back.</Say><Hangup/>'),
    });
    const result = await playInbound(player, {
      queue: { playSeconds: 30, press: { digit: '1', afterSeconds: 60 } },
    });
    const gathers = hits('/texml/queue/callback');
    expect(gathers).toHaveLength(1);
    expect(gathers[0]?.params).toMatchObject({ CallSid: result.callSid, Digits: '1' });
    // 30 s music + 3 s prompt + 5 s no input = 38 s a document; pressed in the second prompt
    expect(hits('/texml/queue/wait').map((h) => h.params.QueueTime)).toEqual(['0', '38']);
    expect(result.story).toContain('pressed 1 after 71 s in queue');
    expect(result.story).toContain('heard: "We will call you back."');
    expect(result.queueStays).toEqual([expect.objectContaining({ kind: 'ended', by: 'server' })]);
    expect(s.hits.at(-1)?.params).toMatchObject({ CallStatus: 'completed' });
  });

  it('a <Gather> without input goes on with the next verb, or posts empty Digits when told to', async () => {
    const routes = (hold: string) => ({
      '/texml/inbound': () => ENQUEUE,
      '/texml/queue/wait': (_q: Record<string, string>, n: number) =>
        n < 2
          ? xml(`<Gather numDigits="1" action="${PUBLIC}/g"><Say>Press 1.</Say></Gather><Say>${hold}</Say>`)
          : xml('<Hangup/>'),
      '/g': () => xml('<Pause length="1"/>'),
    });
    const a = await setup(routes('Still there'));
    const ra = await playInbound(a.player, {});
    expect(a.hits('/g')).toHaveLength(0);
    expect(ra.story).toContain('heard: "Still there"');

    const b = await setup(routes('Not reached'));
    const rb = await playInbound(b.player, { queue: { gatherNoInput: 'action' } });
    expect(b.hits('/g')[0]?.params.Digits).toBe('');
    expect(rb.story).not.toContain('heard: "Not reached"');
  });

  it('a caller who hangs up while waiting: the Enqueue action with QueueResult=hangup, then completed', async () => {
    const { s, player, hits } = await setup({
      '/texml/inbound': () => ENQUEUE,
      '/texml/queue/wait': () => xml(`<Play>${PUBLIC}/m.mp3</Play>`),
    });
    const result = await playInbound(player, { queue: { playSeconds: 30, hangUpAfter: 45 } });
    expect(hits('/texml/queue/wait')).toHaveLength(2);
    expect(hits('/texml/queue/result')[0]?.params).toMatchObject({ QueueResult: 'hangup', QueueTime: '45' });
    expect(result.queueStays).toEqual([{ kind: 'ended', by: 'caller', waited: 45 }]);
    expect(result.story.at(-1)).toBe('the caller hung up after 45 s in queue (number 1 in line)');
    expect(s.hits.at(-1)?.params).toMatchObject({ CallStatus: 'completed', HangupSource: 'caller' });
  });

  it('an empty wait document is requested again a second later, not in a tight loop', async () => {
    const { hits, player } = await setup({
      '/texml/inbound': () => ENQUEUE,
      '/texml/queue/wait': () => xml(''),
    });
    const result = await playInbound(player, { queue: { hangUpAfter: 5 } });
    expect(hits('/texml/queue/wait').map((h) => h.params.QueueTime)).toEqual(['0', '1', '2', '3', '4']);
    expect(result.queueStays).toEqual([{ kind: 'ended', by: 'caller', waited: 5 }]);
  });

  it('refuses a verb the waitUrl document may not hold', async () => {
    const { player } = await setup({
      '/texml/inbound': () => ENQUEUE,
      '/texml/queue/wait': () => xml('<Dial><Number>+14155550123</Number></Dial>'),
    });
    await expect(playInbound(player, {})).rejects.toThrow(/<Dial> is not supported in a waitUrl document/);
  });
});

describe('Telnyx queues as the player models them', () => {
  it('positions, size, waits and average in join order', () => {
    const q = new SimQueues();
    q.join('support', 'a', 0);
    q.join('support', 'b', 10_000);
    q.join('sales', 'c', 0);
    q.join('support', 'a', 20_000); // joining again keeps the place
    expect(q.params('support', 'b', 30_000)).toMatchObject({
      QueuePosition: '2',
      CurrentQueueSize: '2',
      QueueTime: '20',
      AvgQueueTime: '25',
    });
    q.leave('support', 'a');
    expect(q.params('support', 'b', 30_000)).toMatchObject({ QueuePosition: '1', CurrentQueueSize: '1' });
  });

  it('reads <Enqueue> with its defaults and the verbs after it', () => {
    const plan = readTexml(xml('<Enqueue waitUrl="/w" waitUrlMethod="get">sales</Enqueue><Say>bye</Say>'));
    expect(plan.enqueue).toMatchObject({
      queue: 'sales',
      waitUrl: '/w',
      waitUrlMethod: 'GET',
      method: 'POST',
    });
    expect(plan.enqueue?.after.map((v) => v.name)).toEqual(['Say']);
  });
});
