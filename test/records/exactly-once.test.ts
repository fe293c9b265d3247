import { afterEach, describe, expect, it } from 'vitest';
import type { CallState } from '../../src/calls/call-types.js';
import { createMetrics, type Metrics } from '../../src/metrics/metrics.js';
import { createFinishedCallRecorder } from '../../src/records/finished-call-recorder.js';
import { RedisCallRecordStore } from '../../src/records/redis-call-record-store.js';
import { playInbound } from '../../src/simulator/scenarios.js';
import { TelnyxPlayer } from '../../src/simulator/telnyx-player.js';
import { computeStats } from '../../src/stats/call-stats.js';
import { localDate } from '../../src/stats/time-zone.js';
import { eventually, startServer, type TestServer } from '../helper.js';
import { testRedis, uniquePrefix } from '../setup/redis.js';

const callsTotal = async (metrics: Metrics): Promise<number> =>
  (await metrics.calls.get()).values.reduce((sum, v) => sum + v.value, 0);

describe('call records, two replicas, duplicated finishes', () => {
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  });

  async function replica(prefix: string, diesBeforeAck: boolean) {
    const redis = testRedis(prefix);
    closers.push(() => redis.quit());
    const store = new RedisCallRecordStore(redis);
    const metrics = createMetrics();
    const record = createFinishedCallRecorder({ store, onRecorded: (r) => metrics.observeCall(r) });
    let finishes = 0;
    const onFinished = async (call: CallState) => {
      finishes += 1;
      await record(call);
      // The record is stored, but this replica dies before acknowledging the effect: the
      // `finished` effect stays pending, and every later callback of the call runs it again.
      if (diesBeforeAck) throw new Error('replica died before acking');
    };
    const server: TestServer = await startServer({ keyPrefix: prefix, deps: { onFinished } });
    closers.push(() => server.close());
    return { server, store, metrics, finishes: () => finishes };
  }

  it('writes one record with the scripted wait and talk, counted once across the fleet', async () => {
    const prefix = uniquePrefix();
    const a = await replica(prefix, true);
    const b = await replica(prefix, false);

    // The whole call to replica A, which stores the record and never acknowledges it: the dial
    // result and the caller's `completed` both run the finish there.
    const call = await playInbound(a.server.player, { answerInRound: 1, answerAfter: 12, talkSeconds: 95 });
    await eventually(() => expect(a.finishes()).toBeGreaterThanOrEqual(2));

    // Telnyx repeats the final callback; this time it reaches replica B.
    const playerB = new TelnyxPlayer({ baseUrl: b.server.url, clock: a.server.player.clock });
    await playerB.status(
      '/texml/status',
      { sid: call.callSid, from: '+13125550100', to: '+18005550199' },
      'completed',
    );
    await eventually(() => expect(b.finishes()).toBe(1));

    const now = a.server.player.clock.ms;
    const day = localDate(now, 'UTC');
    const from = Date.parse(`${day}T00:00:00Z`);
    const records = await b.store.range(from - 86_400_000, from + 86_400_000);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      sid: call.callSid,
      direction: 'inbound',
      agent: 'Alice',
      outcome: 'answered',
      waitSeconds: 12,
      talkSeconds: 95,
      ringRounds: 1,
      rung: ['Alice', 'Bob', 'Carol'],
    });
    expect(await b.store.readAfter(undefined, 10)).toHaveLength(1);

    // A stored it, so A counted it; B saw a duplicate and counted nothing.
    expect(await callsTotal(a.metrics)).toBe(1);
    expect(await callsTotal(b.metrics)).toBe(0);

    // Another call, to B, whose every callback arrives twice and out of order: still one record.
    const second = await playInbound(b.server.player, {
      answerInRound: 1,
      answerAfter: 7,
      talkSeconds: 30,
      chaos: true,
    });
    await eventually(async () => expect(await callsTotal(b.metrics)).toBe(1));
    expect(await callsTotal(a.metrics)).toBe(1);
    const both = await a.store.range(from - 86_400_000, from + 86_400_000);
    expect(both.map((r) => r.sid).sort()).toEqual([call.callSid, second.callSid].sort());
    expect(both.find((r) => r.sid === second.callSid)).toMatchObject({ waitSeconds: 7, talkSeconds: 30 });

    const stats = computeStats(both, {
      date: localDate(Date.parse(records[0]!.startedAt), 'UTC'),
      timeZone: 'UTC',
      serviceLevelSeconds: 20,
      shortAbandonSeconds: 5,
    });
    expect(stats).toMatchObject({
      offered: 2,
      answered: 2,
      answeredWithinServiceLevel: 2,
      serviceLevel: 1,
      averageSpeedOfAnswer: 10, // (12 + 7) / 2 = 9.5
      averageHandleTime: 63, // (95 + 30) / 2 = 62.5
      longestWait: 12,
    });
  });
});
