import { XMLValidator } from 'fast-xml-parser';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCallSid, readTexml } from '../../src/simulator/telnyx-player.js';
import { eventually, startServer, type TestServer } from '../helper.js';
import { deleteAppKeys, redisDatabaseUrl } from '../setup/redis.js';
import { type OutageProxy, startOutageProxy, viaPort } from '../support/outage-proxy.js';

/** A database of the test Redis of its own (test/setup/redis.ts). */
const REDIS_DOWN_DB = 11;

/**
 * docs/interface.md §3 "Never drop a caller": with Redis frozen or gone, the two replies a caller waits
 * on still answer valid TeXML in bounded time; callbacks that cannot be stored get 503 so Telnyx
 * retries them; and the state resumes once Redis is back.
 *
 * Redis fails between the app and the test Redis, in a TCP proxy (test/support/outage-proxy.ts):
 * frozen (replies never come, as with SIGSTOP) and down (connections cut, new ones refused). The
 * Redis itself, which other tests share and which may be the one `REDIS_URL` names, is never
 * touched.
 */
describe('Redis fails mid-call', () => {
  let proxy: OutageProxy;
  let admin: Redis;
  let server: TestServer;

  beforeAll(async () => {
    const url = redisDatabaseUrl(REDIS_DOWN_DB);
    admin = new Redis(url, { maxRetriesPerRequest: 1 });
    await deleteAppKeys(admin);
    proxy = await startOutageProxy(url, 6379);
    server = await startServer({ store: 'config', env: { REDIS_URL: viaPort(url, proxy.port) } });
    await eventually(async () => {
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).toBe(200);
    });
  });
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
    if (admin) {
      await deleteAppKeys(admin).catch(() => undefined);
      await admin.quit();
    }
  });

  const timed = async <T>(work: () => Promise<T>) => {
    const started = performance.now();
    const value = await work();
    return { value, ms: performance.now() - started };
  };

  it('keeps answering callers while Redis is frozen, and stores again after it thaws', async () => {
    const p = server.player;
    const sid = newCallSid();
    const caller = { sid, from: '+13125550100', to: '+18005550199' };
    const first = await p.post('/texml/inbound', p.base(sid, caller.from, caller.to));
    expect(readTexml(first.body).dial?.targets).toHaveLength(3);

    proxy.freeze();
    try {
      const { value: inbound, ms } = await timed(() =>
        p.post('/texml/inbound', p.base(newCallSid(), '+13125550111', caller.to)),
      );
      expect(inbound.status).toBe(200);
      expect(XMLValidator.validate(inbound.body)).toBe(true);
      expect(readTexml(inbound.body).dial?.targets.map((t) => t.uri)).toContain('sip:alice@sip.telnyx.com');
      expect(ms).toBeLessThan(5_000);

      const dial = await p.post('/texml/dial-result', {
        ...p.base(sid, caller.from, caller.to),
        DialCallStatus: 'no-answer',
      });
      expect(dial.status).toBe(200);
      // The round is unknown without the store (it is not trusted from the URL): voicemail
      // rather than ringing round after round.
      expect(readTexml(dial.body).record).toBeDefined();

      const cb = await p.status('/texml/status', caller, 'in-progress');
      expect(cb.status).toBe(503);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    } finally {
      proxy.thaw();
    }

    // Telnyx retries the callback: now it is stored, on the state kept from before.
    await eventually(
      async () => expect((await p.status('/texml/status', caller, 'in-progress')).status).toBe(200),
      10_000,
    );
    const state = await server.app.services.calls.get(sid);
    expect(state).toMatchObject({ from: '+13125550100', status: 'in-progress' });
  });

  it('keeps answering while Redis is down, and resumes when Redis answers again on the same address', async () => {
    const p = server.player;
    proxy.down();
    const sid = newCallSid();
    const inbound = await p.post('/texml/inbound', p.base(sid, '+13125550122', '+18005550199'));
    expect(inbound.status).toBe(200);
    expect(readTexml(inbound.body).dial?.targets).toHaveLength(3);
    const last = await p.post('/texml/dial-result', {
      ...p.base(sid, '+13125550122', '+18005550199'),
      DialCallStatus: 'no-answer',
    });
    expect(last.status).toBe(200);
    expect(readTexml(last.body).record).toBeDefined(); // round unknown: voicemail
    expect(
      (await p.status('/texml/status', { sid, from: '+13125550122', to: '+1800' }, 'completed')).status,
    ).toBe(503);

    proxy.up();
    await eventually(async () => expect((await fetch(`${server.url}/readyz`)).status).toBe(200), 10_000);
    const again = newCallSid();
    await p.post('/texml/inbound', p.base(again, '+13125550133', '+18005550199'));
    await eventually(async () => expect(await server.app.services.calls.get(again)).not.toBeNull());
  });
});
