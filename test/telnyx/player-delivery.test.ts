import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TelnyxPlayer } from '../../src/simulator/telnyx-player.js';

/**
 * The fake Telnyx is as strict as texml-calls.yml: "The server must return an HTTP 200, otherwise
 * we will reattempt delivery at the failover webhook URL." A 204 is a failed delivery.
 */
describe('TelnyxPlayer delivery', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((r) => server?.close(r) ?? r(undefined));
    server = undefined;
  });
  const answering = async (statuses: number[]) => {
    let n = 0;
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(statuses[Math.min(n++, statuses.length - 1)]!).end());
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  it('re-sends a callback answered 204 and counts each failed attempt', async () => {
    const p = new TelnyxPlayer({ baseUrl: await answering([204, 200]) });
    const x = await p.post('/texml/status', { CallSid: 'v3:a', CallStatus: 'completed' });
    expect(x.status).toBe(200);
    expect(p.failedDeliveries.map((f) => f.status)).toEqual([204]);
  });

  it('gives up after the redeliveries and reports the last answer', async () => {
    const p = new TelnyxPlayer({ baseUrl: await answering([503]), redeliveries: 2 });
    const x = await p.post('/texml/recording', { CallSid: 'v3:b' });
    expect(x.status).toBe(503);
    expect(p.failedDeliveries).toHaveLength(3);
  });

  it('a 200 is delivered once', async () => {
    const p = new TelnyxPlayer({ baseUrl: await answering([200]) });
    await p.post('/texml/status', { CallSid: 'v3:c' });
    expect(p.failedDeliveries).toEqual([]);
  });
});
