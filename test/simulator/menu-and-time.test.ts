import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCallCenterFile } from '../../src/call-center/call-center-file.js';
import { renderMenuTexml } from '../../src/call-center/menu.js';
import { playInbound } from '../../src/simulator/scenarios.js';
import { parseAt, parseDigits } from '../../src/simulator/sim-time.js';
import { readTexml, SimClock, TelnyxPlayer } from '../../src/simulator/telnyx-player.js';

describe('simulator --at and --digits', () => {
  it('--at: a local time is read in --tz (across DST), an instant as given', () => {
    expect(new Date(parseAt('2026-12-25T10:00', 'Europe/Berlin')).toISOString()).toBe(
      '2026-12-25T09:00:00.000Z',
    );
    expect(new Date(parseAt('2026-07-01 10:00', 'Europe/Berlin')).toISOString()).toBe(
      '2026-07-01T08:00:00.000Z',
    );
    expect(new Date(parseAt('2026-12-25T10:00:00', 'UTC')).toISOString()).toBe('2026-12-25T10:00:00.000Z');
    expect(new Date(parseAt('2026-12-25T10:00+01:00')).toISOString()).toBe('2026-12-25T09:00:00.000Z');
    expect(new Date(parseAt('2026-12-25T10:00Z', 'Europe/Berlin')).toISOString()).toBe(
      '2026-12-25T10:00:00.000Z',
    );
    expect(() => parseAt('christmas')).toThrow(/--at/);
    expect(() => parseAt('2026-02-30T10:00')).toThrow(/--at/);
    expect(() => parseAt('2026-12-25T10:00', 'Mars/Base')).toThrow(/--tz/);
  });

  it('--digits: keys only', () => {
    expect(parseDigits('2')).toBe('2');
    expect(parseDigits('9, 2')).toBe('92');
    expect(() => parseDigits('a')).toThrow(/--digits/);
  });

  it('reads <Gather> and <Redirect> from a menu', () => {
    const config = parseCallCenterFile(
      'queues:\n  a: { agents: [x] }\n  b: { agents: [y] }\nmenu:\n  options: { "1": a, "2": b }\ndefaultQueue: a\n',
      'x',
    );
    const plan = readTexml(
      renderMenuTexml(config, { base: 'https://sb.example', action: 'https://sb.example/texml/menu' }),
    );
    expect(plan.gather).toEqual({ action: 'https://sb.example/texml/menu', numDigits: 1, timeout: 5 });
    expect(plan.redirect).toEqual({ url: 'https://sb.example/texml/menu', method: 'POST' });
  });
});

describe('playInbound with a menu', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('presses the scripted keys in turn, then times out; Timestamp follows --at', async () => {
    const config = parseCallCenterFile(
      'queues:\n  a: { agents: [x] }\n  b: { agents: [y] }\nmenu:\n  options: { "1": a, "2": b }\ndefaultQueue: a\n',
      'x',
    );
    const seen: Array<{ path: string; params: URLSearchParams }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const params = new URLSearchParams(body);
        seen.push({ path: req.url!, params });
        const base = `http://${req.headers.host}`;
        // Menu on arrival and after each key; hang up once the menu was played three times.
        const menus = seen.filter((s) => s.path !== '/texml/status').length;
        const xml =
          req.url === '/texml/status'
            ? ''
            : menus < 4
              ? renderMenuTexml(config, { base, action: `${base}/texml/menu` })
              : '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>';
        res.writeHead(200, { 'content-type': 'application/xml' }).end(xml);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    close = () => new Promise((r) => server.close(() => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const at = parseAt('2026-12-25T10:00', 'Europe/Berlin');
    const player = new TelnyxPlayer({ baseUrl: url, clock: new SimClock(at) });
    await playInbound(player, { digits: '92' });
    const menu = seen.filter((s) => s.path === '/texml/menu');
    expect(menu.map((s) => s.params.get('Digits'))).toEqual(['9', '2', null]);
    expect(seen[0]!.params.get('Timestamp')).toBe('2026-12-25T09:00:00.000Z');
  });
});
