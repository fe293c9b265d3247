import { afterEach, describe, expect, it } from 'vitest';
import { StaticRoster } from '../../src/agents/static-roster.js';
import type { CallFlow } from '../../src/calls/call-flow.js';
import { ClickToCall, ClickToCallError } from '../../src/calls/click-to-call.js';
import { OutboundPolicy } from '../../src/calls/outbound-policy.js';
import { defaultDestinations } from '../../src/config.js';
import { MemorySlidingWindow } from '../../src/limits/sliding-window.js';
import { MemorySlotPool } from '../../src/limits/slot-pool.js';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';

const HOTLINE = '+18005550199';

/** ClickToCall against the fake Telnyx API, with a call flow whose store fails `failures` times. */
async function setup(failures: number) {
  const telnyx = await FakeTelnyxApi.start();
  let attempts = 0;
  const created: unknown[] = [];
  const flow = {
    outboundCreated: async (event: unknown) => {
      created.push(event);
      attempts += 1;
      if (attempts <= failures) throw new Error('redis: connection lost');
    },
  } as unknown as CallFlow;
  const slots = new MemorySlotPool({ max: 1, isLive: async (sids) => new Set(sids) });
  const c2c = new ClickToCall({
    telnyx: createTelnyxClient({ apiKey: telnyx.apiKey, baseUrl: telnyx.baseUrl }),
    connectionId: 'conn',
    hotlineNumber: HOTLINE,
    roster: new StaticRoster([{ name: 'Alice', sip: 'sip:alice@sip.telnyx.com' }]),
    flow,
    policy: new OutboundPolicy({
      allowed: defaultDestinations(HOTLINE),
      hotlineNumber: HOTLINE,
      perAgent: new MemorySlidingWindow({ name: 'r', max: 10, windowMs: 60_000 }),
      slots,
    }),
    bindRetryMs: 400,
    now: () => Date.parse('2026-11-20T10:00:00Z'),
  });
  return { telnyx, c2c, slots, attempts: () => attempts, created };
}

describe('ClickToCall when the store fails after Telnyx placed the call', () => {
  let telnyx: FakeTelnyxApi | undefined;
  afterEach(async () => {
    await telnyx?.close();
  });

  it('retries storing for a moment: a blip is absorbed, one call, and it holds the concurrency slot', async () => {
    const s = await setup(2);
    telnyx = s.telnyx;
    const res = await s.c2c.start({ agent: 'Alice', to: '+14155550123', base: 'https://sb.example.com' });
    expect(res.callSid).toBe(s.telnyx.texmlCalls[0]?.callSid);
    expect(s.attempts()).toBe(3);
    expect(s.telnyx.texmlCalls).toHaveLength(1);
    expect(await s.slots.reserve('pending:other', 60_000)).toBe(false);
  });

  it('gives up with not-recorded (never the retry-inviting not-stored), having asked Telnyx once', async () => {
    const s = await setup(Number.POSITIVE_INFINITY);
    telnyx = s.telnyx;
    const err = await s.c2c
      .start({ agent: 'Alice', to: '+14155550123', base: 'https://sb.example.com' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClickToCallError);
    expect(err).toMatchObject({ kind: 'not-recorded', message: expect.stringMatching(/Do not retry/) });
    expect(s.telnyx.texmlCalls).toHaveLength(1);
    expect(s.attempts()).toBeGreaterThan(1);
  });
});

describe('ClickToCall stores the call on our clock', () => {
  it('marks the creation time local, so callbacks without a Timestamp keep their own times (docs/interface.md §6)', async () => {
    const s = await setup(0);
    try {
      await s.c2c.start({ agent: 'Alice', to: '+14155550123', base: 'https://sb.example.com' });
      const at = Date.parse('2026-11-20T10:00:00Z');
      expect(s.created).toEqual([
        expect.objectContaining({ kind: 'outbound-created', at, local: true, receivedAt: at }),
      ]);
    } finally {
      await s.telnyx.close();
    }
  });
});
