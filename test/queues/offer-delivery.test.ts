import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DeliveryResult, OfferDelivery } from '../../src/queues/offer-delivery.js';
import type { QueueEntry } from '../../src/queues/queue-entry.js';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { LiveCalls } from '../../src/simulator/live-calls.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';
import { describeBackends } from '../support/describe-backends.js';
import { buildRig } from './queue-rig.js';

/**
 * The queue offer delivered through Telnyx's call-update API (docs/interface.md §7,
 * docs/telnyx.md §4.8), against the fake Telnyx API over real HTTP with the real SDK: what is sent,
 * and that every failure leaves the `<Leave/>` fallback in place.
 */

const PUBLIC = 'https://sb.example.com';
const ACCOUNT = '61bf923e-5e4d-4595-a110-56190ea18a1b';
const log = pino({ level: 'silent' });

let api: FakeTelnyxApi;
let calls: LiveCalls;
beforeEach(async () => {
  api = await FakeTelnyxApi.start();
  calls = new LiveCalls();
  api.liveCalls = calls;
});
afterEach(async () => {
  await api.close();
});

const live = (callSid: string, accountSid = ACCOUNT) =>
  calls.register({
    accountSid,
    callSid,
    from: '+13125550101',
    to: '+18005550199',
    direction: 'inbound',
    startedAt: Date.now(),
  });

const offered = (callSid: string, extra: Partial<QueueEntry> = {}): QueueEntry => ({
  callSid,
  queue: 'support',
  firstJoinedAt: Date.now() - 30_000,
  seq: 1,
  caller: '+13125550101',
  accountSid: ACCOUNT,
  offeredTo: 'ann',
  offeredAt: Date.now(),
  ...extra,
});

const delivery = (options: { timeoutMs?: number; apiKey?: string; publicUrl?: string | null } = {}) =>
  new OfferDelivery({
    telnyx: createTelnyxClient({ apiKey: options.apiKey ?? api.apiKey, baseUrl: api.baseUrl, maxRetries: 2 }),
    ...(options.publicUrl === null ? {} : { publicUrl: options.publicUrl ?? PUBLIC }),
    log,
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });

const updates = () => api.requestsTo(/^\/v2\/texml\/Accounts\/[^/]+\/Calls\/[^/]+$/, 'POST');

describe('OfferDelivery', () => {
  it('redirects the offered call to the Enqueue action, form-encoded, once', async () => {
    live('v3:call-1');
    const d = delivery();
    expect(await d.deliver(offered('v3:call-1'))).toEqual({ via: 'update' });
    const [req] = updates();
    expect(req).toMatchObject({
      path: `/v2/texml/Accounts/${ACCOUNT}/Calls/v3:call-1`,
      status: 200,
      body: { Url: `${PUBLIC}/texml/queue/result`, Method: 'POST' },
    });
    expect(req?.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(calls.updates).toEqual([
      { callSid: 'v3:call-1', change: { kind: 'url', url: `${PUBLIC}/texml/queue/result`, method: 'POST' } },
    ]);
  });

  it('sends nothing without PUBLIC_URL or an API key, for an entry without AccountSid, or for a callback', async () => {
    live('v3:call-1');
    const noUrl = delivery({ publicUrl: null });
    expect(noUrl.enabled).toBe(false);
    expect(await noUrl.deliver(offered('v3:call-1'))).toEqual({ via: 'leave', reason: 'disabled' });
    const noKey = new OfferDelivery({ publicUrl: PUBLIC, log });
    expect(await noKey.deliver(offered('v3:call-1'))).toEqual({ via: 'leave', reason: 'disabled' });
    const d = delivery();
    expect(await d.deliver(offered('v3:call-1', { accountSid: undefined }))).toEqual({
      via: 'leave',
      reason: 'no-account-sid',
    });
    const callback = { number: '+13125550101', requestedAt: 0, attempts: 0, nextAttemptAt: 0 };
    expect(await d.deliver(offered('v3:call-1', { callback }))).toEqual({ via: 'leave', reason: 'callback' });
    expect(updates()).toEqual([]);
  });

  it.each([
    ['an unknown call (404)', () => undefined, 404],
    ['a call of another account (404)', () => live('v3:call-1', 'another-account'), 404],
    [
      'a call that has ended (422)',
      () => {
        live('v3:call-1');
        calls.end('v3:call-1', Date.now());
      },
      422,
    ],
  ])('falls back to <Leave/> for %s, without retrying', async (_what, setup, status) => {
    setup();
    const result = await delivery().deliver(offered('v3:call-1'));
    expect(result).toMatchObject({
      via: 'leave',
      reason: 'refused',
      detail: expect.stringContaining(String(status)),
    });
    expect(updates().map((r) => r.status)).toEqual([status]);
  });

  it('falls back to <Leave/> for a refused key, a 500 and a 429, each asked once', async () => {
    live('v3:call-1');
    expect(await delivery({ apiKey: 'KEYwrong' }).deliver(offered('v3:call-1'))).toMatchObject({
      via: 'leave',
      reason: 'refused',
    });
    api.failNext({ path: /\/Calls\//, method: 'POST' }, 1, { kind: 'server-error', status: 500 });
    expect(await delivery().deliver(offered('v3:call-1'))).toMatchObject({ via: 'leave', reason: 'refused' });
    api.failNext({ path: /\/Calls\//, method: 'POST' }, 1, { kind: 'rate-limit', retryAfterMs: 10 });
    expect(await delivery().deliver(offered('v3:call-1'))).toMatchObject({ via: 'leave', reason: 'refused' });
    expect(updates().map((r) => r.status)).toEqual([401, 500, 429]);
    expect(calls.updates).toEqual([]);
  });

  it('gives up on an API that does not answer, aborting the request, and never retries it', async () => {
    live('v3:call-1');
    api.failNext({ path: /\/Calls\//, method: 'POST' }, 5, { kind: 'hang' });
    const d = delivery({ timeoutMs: 200 });
    const result: DeliveryResult = await d.deliver(offered('v3:call-1'));
    expect(result).toMatchObject({ via: 'leave', reason: 'timeout' });
    await d.drain();
    expect(updates()).toHaveLength(1);
  });

  it('falls back to <Leave/> when the API is unreachable', async () => {
    live('v3:call-1');
    const baseUrl = api.baseUrl;
    await api.close();
    const d = new OfferDelivery({
      telnyx: createTelnyxClient({ apiKey: 'k', baseUrl, maxRetries: 2 }),
      publicUrl: PUBLIC,
      log,
    });
    expect(await d.deliver(offered('v3:call-1'))).toMatchObject({ via: 'leave', reason: 'unreachable' });
    api = await FakeTelnyxApi.start(); // for afterEach
  });

  it('holds <Leave/> back only for a young offer it can redirect', () => {
    const d = delivery();
    const at = Date.now();
    expect(d.redirecting(offered('x', { offeredAt: at }), at + d.graceMs - 1)).toBe(true);
    expect(d.redirecting(offered('x', { offeredAt: at }), at + d.graceMs)).toBe(false);
    expect(d.redirecting(offered('x', { offeredTo: undefined, offeredAt: undefined }), at)).toBe(false);
    expect(d.redirecting(offered('x', { accountSid: undefined }), at)).toBe(false);
    expect(delivery({ publicUrl: null }).redirecting(offered('x', { offeredAt: at }), at)).toBe(false);
    expect(d.graceMs).toBeGreaterThan(d.timeoutMs);
  });
});

describeBackends('QueueFlow with the call-update delivery', (backend) => {
  it('an offer redirects the waiting caller; meanwhile the wait document holds <Leave/> back', async () => {
    const results: DeliveryResult[] = [];
    const tracked = new OfferDelivery({
      telnyx: createTelnyxClient({ apiKey: api.apiKey, baseUrl: api.baseUrl }),
      publicUrl: PUBLIC,
      log,
      onResult: (_e, r) => results.push(r),
    });
    const rig = buildRig(backend, { delivery: tracked });
    await rig.busy('ann', 'X1');
    live('v3:C1');
    await rig.flow.join('v3:C1', '+13125550101', ACCOUNT, 'support');
    expect(await rig.flow.dispatch('bob')).toMatchObject({ callSid: 'v3:C1', offeredTo: 'bob' });
    // A waitUrl fetch while the redirect is under way: hold music, not a second way out.
    expect(await rig.flow.wait('v3:C1')).toEqual({ leave: false, callback: false });
    await tracked.drain();
    expect(results).toEqual([{ via: 'update' }]);
    expect(calls.updates.map((u) => u.change)).toEqual([
      { kind: 'url', url: `${PUBLIC}/texml/queue/result`, method: 'POST' },
    ]);
    // Telnyx fetches the Url: the Enqueue action answers the <Dial> to bob.
    expect(await rig.flow.afterQueue('v3:C1', undefined)).toMatchObject({
      kind: 'dial',
      agent: { id: 'bob' },
    });
  });

  it('when the redirect fails the caller still leaves by <Leave/> once the grace is over', async () => {
    const results: DeliveryResult[] = [];
    const tracked = new OfferDelivery({
      telnyx: createTelnyxClient({ apiKey: api.apiKey, baseUrl: api.baseUrl }),
      publicUrl: PUBLIC,
      log,
      onResult: (_e, r) => results.push(r),
    });
    const rig = buildRig(backend, { delivery: tracked });
    await rig.busy('ann', 'X1');
    // Not a call Telnyx knows: 404.
    await rig.flow.join('v3:C9', '+13125550109', ACCOUNT, 'support');
    await rig.flow.dispatch('bob');
    await tracked.drain();
    expect(results).toEqual([expect.objectContaining({ via: 'leave', reason: 'refused' })]);
    expect(await rig.flow.wait('v3:C9')).toEqual({ leave: false, callback: false });
    rig.advance(tracked.graceMs / 1000);
    expect(await rig.flow.wait('v3:C9')).toEqual({ leave: true, callback: false });
    expect(await rig.flow.afterQueue('v3:C9', 'leave')).toMatchObject({ kind: 'dial', agent: { id: 'bob' } });
  });

  it('a caller enqueued without an AccountSid is offered by <Leave/> at once', async () => {
    const tracked = delivery();
    const rig = buildRig(backend, { delivery: tracked });
    await rig.busy('ann', 'X1');
    await rig.flow.join('v3:C2', '+13125550102', undefined, 'support');
    await rig.flow.dispatch('bob');
    await tracked.drain();
    expect(await rig.flow.wait('v3:C2')).toEqual({ leave: true, callback: false });
    expect(updates()).toEqual([]);
  });
});
