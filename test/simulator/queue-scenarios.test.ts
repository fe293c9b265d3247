import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { QUEUE_SCENARIOS, type QueueRunContext } from '../../src/simulator/queue-scenarios.js';
import { TelnyxPlayer } from '../../src/simulator/telnyx-player.js';

/**
 * The queue scenarios against a hand-written one-agent call center that follows the documented
 * flow (nobody free → <Enqueue>; the wait document says the place and offers a callback; a freed
 * agent gets the waiting caller through the call-update API, or a callback as a click-to-call).
 * Switchboard's own flow is tested against the same scenarios end to end in its own tests.
 */

const PUBLIC = 'https://switchboard.example.com';
const xml = (body: string) => `<?xml version="1.0" encoding="UTF-8"?><Response>${body}</Response>`;
const ALICE = 'sip:alice@sip.telnyx.com';

interface MiniCenter {
  url: string;
  server: Server;
  callbacksPlaced: number;
}

async function miniCenter(telnyx: FakeTelnyxApi, accountSid: () => string): Promise<MiniCenter> {
  let aliceBusy = false;
  const waiting: Array<{ sid: string; from: string; callback: boolean }> = [];
  const center: MiniCenter = { url: '', server: undefined as unknown as Server, callbacksPlaced: 0 };
  const telnyxPost = (path: string, body: string, type: string) =>
    fetch(`${telnyx.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${telnyx.apiKey}`, 'content-type': type },
      body,
    });
  const aliceFree = async () => {
    aliceBusy = false;
    const next = waiting.shift();
    if (!next) return;
    aliceBusy = true;
    if (next.callback) {
      center.callbacksPlaced++;
      await telnyxPost(
        `/texml/Accounts/${accountSid()}/Calls`,
        JSON.stringify({
          To: ALICE,
          From: '+18005550199',
          Url: `${PUBLIC}/texml/callback-connect?to=${encodeURIComponent(next.from)}`,
          ApplicationSid: 'app',
        }),
        'application/json',
      );
    } else {
      const res = await telnyxPost(
        `/texml/Accounts/${accountSid()}/Calls/${encodeURIComponent(next.sid)}`,
        new URLSearchParams({ Url: `${PUBLIC}/texml/queue/connect`, Method: 'POST' }).toString(),
        'application/x-www-form-urlencoded',
      );
      if (res.status !== 200) throw new Error(`update answered ${res.status}`);
    }
  };
  const dialAlice = (action = '/texml/dial-result') =>
    xml(
      `<Dial action="${PUBLIC}${action}" timeout="20"><Sip statusCallback="${PUBLIC}/texml/status">${ALICE}</Sip></Dial>`,
    );
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const q = Object.fromEntries(new URLSearchParams(body)) as Record<string, string>;
      let reply = xml('');
      switch (url.pathname) {
        case '/texml/inbound':
          if (!aliceBusy) {
            aliceBusy = true;
            reply = dialAlice();
          } else {
            waiting.push({ sid: q.CallSid as string, from: q.From as string, callback: false });
            reply = xml(
              `<Enqueue waitUrl="${PUBLIC}/texml/queue/wait" action="${PUBLIC}/texml/queue/result">support</Enqueue>`,
            );
          }
          break;
        case '/texml/queue/wait':
          reply = xml(
            `<Say>You are number ${q.QueuePosition} in line; about 1 minute.</Say><Play>${PUBLIC}/audio/hold-music.mp3</Play>` +
              `<Gather numDigits="1" action="${PUBLIC}/texml/queue/callback"><Say>Press 1 to be called back.</Say></Gather>`,
          );
          break;
        case '/texml/queue/callback': {
          const w = waiting.find((x) => x.sid === q.CallSid);
          if (w && q.Digits === '1') w.callback = true;
          reply = xml('<Say>We will call you back.</Say><Hangup/>');
          break;
        }
        case '/texml/queue/result':
          if (q.QueueResult === 'hangup') {
            const i = waiting.findIndex((x) => x.sid === q.CallSid);
            if (i >= 0) waiting.splice(i, 1);
          }
          break;
        case '/texml/queue/connect':
          reply = dialAlice();
          break;
        case '/texml/callback-connect':
          reply = xml(
            `<Dial callerId="+18005550199" action="${PUBLIC}/texml/dial-result"><Number>${url.searchParams.get('to')}</Number></Dial>`,
          );
          break;
        case '/texml/status':
          // Alice's leg (inbound) or her callback call (its first leg) ended: she is free.
          if (
            q.CallStatus === 'completed' &&
            (q.To === ALICE || q.ParentCallSid === undefined) &&
            aliceBusy
          ) {
            if (q.To === ALICE) await aliceFree();
          }
          break;
      }
      res.writeHead(200, { 'content-type': 'application/xml' }).end(reply);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  center.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  center.server = server;
  return center;
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup() {
  const telnyx = await FakeTelnyxApi.start();
  cleanup.push(() => telnyx.close());
  const holder: { player?: TelnyxPlayer } = {};
  const center = await miniCenter(telnyx, () => holder.player?.accountSid ?? '');
  cleanup.push(() => new Promise((r) => center.server.close(() => r())));
  const player = new TelnyxPlayer({ baseUrl: center.url });
  holder.player = player;
  telnyx.liveCalls = player.calls;
  const lines: string[] = [];
  let n = 100;
  const ctx: QueueRunContext = {
    player,
    telnyx,
    newCaller: () => `+13125550${n++}`,
    log: (line) => lines.push(line),
    busySeconds: 0,
    patienceSeconds: 20,
  };
  return { ctx, lines, center, telnyx };
}

describe('queue scenarios', () => {
  it('queued: the agent is busy, the caller waits, hears its place and is connected when she is free', async () => {
    const { ctx, lines } = await setup();
    const run = await QUEUE_SCENARIOS.queued!.run(ctx);
    expect(lines[0]).toBe('busy: alice is talking to +13125550100');
    expect(lines[1]).toBe('+13125550101 calls: every agent is busy, so the call waits in the queue');
    expect(lines).toContain('  waiting: number 1 in line (1 waiting), 0 s so far');
    expect(lines).toContain('  heard: "You are number 1 in line; about 1 minute."');
    expect(run.outcome).toMatch(/^connected to alice after \d+ s in queue$/);
  });

  it('callback: the caller presses 1, hangs up, and is called back when the agent is free', async () => {
    const { ctx, lines, center, telnyx } = await setup();
    const run = await QUEUE_SCENARIOS.callback!.run(ctx);
    expect(lines).toContain('  pressed 1 after 37 s in queue');
    expect(center.callbacksPlaced).toBe(1);
    expect(telnyx.texmlCalls).toHaveLength(1);
    expect(run.outcome).toBe('called back: alice answered, then +13125550101 (talked 42 s)');
  });

  it('queue-abandon: the caller hangs up after 40 s in line', async () => {
    const { ctx } = await setup();
    const run = await QUEUE_SCENARIOS['queue-abandon']!.run(ctx);
    expect(run.outcome).toBe('abandoned in queue after 40 s');
  });
});
