import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, startServer, type TestServer } from '../helper.js';

/**
 * The inbound reply waits for the call's state to be stored, not for the effects that commit owes
 * (the `incoming` Slack alert): those stay pending in the state until done, so a slow outbox
 * costs the caller nothing and loses nothing (src/calls/call-flow.ts `recordForReply`).
 */
describe('inbound reply and the effects it owes', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers without waiting for the outbox; the alert still goes out, once', async () => {
    // Errors the app logs: had the reply waited for the held alert, its store budget (800 ms)
    // would run out and it would say "call state not stored in time".
    const errors: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(line) });
    server = await startServer({ deps: { logger } });
    const outbox = server.app.services.outbox;
    const enqueue = outbox.enqueue.bind(outbox);
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const keys: string[] = [];
    outbox.enqueue = (async (key: string, alert: never) => {
      keys.push(key);
      await held; // the outbox is slow: far longer than the reply's 800 ms store budget
      return enqueue(key, alert);
    }) as typeof outbox.enqueue;

    const sid = 'v3:reply-effects-0001';
    const res = await server.player.post('/texml/inbound', {
      ...server.player.base(sid, '+13125550188', '+18005550199'),
      CallStatus: 'ringing',
    });
    expect(res.status).toBe(200);
    expect(res.body).toContain('<Dial');
    await eventually(async () => expect(keys).toEqual([`call:${sid}:incoming`]));
    // Not done yet: still owed by the stored call, so a later callback or replica would run it.
    const pending = await server.app.services.calls.update(sid, []);
    expect(pending.pending.map((fx) => fx.kind)).toEqual(['alert']);

    // Past the budget the old reply would have waited out: no error said so.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(errors).toEqual([]);

    release();
    await eventually(async () => expect(outbox.counters().enqueued).toBe(1));
  });
});
