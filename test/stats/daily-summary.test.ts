import { describe, expect, it } from 'vitest';
import type { DailySummaryAlert } from '../../src/alerts/alert.js';
import { recordFromState } from '../../src/records/call-record.js';
import { MemoryCallRecordStore } from '../../src/records/memory-call-record-store.js';
import { dailySummaryMessage } from '../../src/slack/daily-summary-message.js';
import { computeStats } from '../../src/stats/call-stats.js';
import { buildDailySummary, runDailySummary } from '../../src/stats/daily-summary.js';
import { alice, bob, carol, playCall } from './scripted-calls.js';

const berlin = (local: string) => Date.parse(`${local}+01:00`);

async function seededStore() {
  const store = new MemoryCallRecordStore();
  const specs = [
    { sid: 's1', at: berlin('2026-11-19T09:05:00'), by: alice, wait: 12, talk: 300 },
    { sid: 's2', at: berlin('2026-11-19T09:35:00'), by: carol, wait: 25, talk: 61 },
    { sid: 's3', at: berlin('2026-11-19T14:10:00'), by: bob, wait: 8, talk: 100 },
  ];
  for (const s of specs) {
    await store.append(
      recordFromState(
        playCall({
          sid: s.sid,
          at: s.at,
          agents: [alice, bob, carol],
          script: { kind: 'answered', by: s.by, wait: s.wait, talk: s.talk },
        }),
      ),
    );
  }
  await store.append(
    recordFromState(
      playCall({ sid: 's4', at: berlin('2026-11-19T09:50:00'), script: { kind: 'abandoned', wait: 30 } }),
    ),
  );
  // today: not in yesterday's summary
  await store.append(
    recordFromState(
      playCall({ sid: 's5', at: berlin('2026-11-20T07:00:00'), script: { kind: 'abandoned', wait: 30 } }),
    ),
  );
  return store;
}

/** An outbox stand-in with the one property the job relies on: a key enqueued twice is one message. */
function dedupingNotifier() {
  const sent = new Map<string, DailySummaryAlert>();
  return {
    sent,
    async enqueue(key: string, alert: DailySummaryAlert) {
      if (sent.has(key)) return false;
      sent.set(key, alert);
      return true;
    },
  };
}

describe('daily summary', () => {
  it("runs at 08:00 in TZ with yesterday's KPIs and the busiest hour, once per day across replicas", async () => {
    const store = await seededStore();
    const notifier = dedupingNotifier();
    const options = {
      store,
      notifier,
      timeZone: 'Europe/Berlin',
      serviceLevelSeconds: 20,
      shortAbandonSeconds: 5,
      now: () => berlin('2026-11-20T08:00:00'),
    };
    const first = await runDailySummary(options);
    const second = await runDailySummary(options); // another replica, or a retry
    expect(first).toMatchObject({ date: '2026-11-19', enqueued: true });
    expect(second).toMatchObject({ date: '2026-11-19', enqueued: false });
    expect([...notifier.sent.keys()]).toEqual(['summary:2026-11-19']);
    expect(notifier.sent.get('summary:2026-11-19')).toEqual({
      type: 'daily-summary',
      date: '2026-11-19',
      timeZone: 'Europe/Berlin',
      offered: 4,
      answered: 3,
      missed: 0,
      abandoned: 1,
      shortAbandoned: 0,
      voicemails: 0,
      serviceLevel: 0.5, // 12 s and 8 s within 20 s, of 3 answered + 1 abandoned
      serviceLevelSeconds: 20,
      averageSpeedOfAnswer: 15, // (12 + 25 + 8) / 3
      averageHandleTime: 154, // (300 + 61 + 100) / 3 = 153.67
      longestWait: 30,
      busiestHour: { hour: 9, offered: 3 },
      outboundPlaced: 0,
      agents: [
        { agent: 'Alice', answered: 1, talkSeconds: 300, outbound: 0 },
        { agent: 'Bob', answered: 1, talkSeconds: 100, outbound: 0 },
        { agent: 'Carol <&>', answered: 1, talkSeconds: 61, outbound: 0 },
      ],
      at: '2026-11-20T07:00:00.000Z',
    });
  });

  it('"yesterday" is read in TZ: 23:30 UTC is already tomorrow in Berlin', async () => {
    const store = new MemoryCallRecordStore();
    const now = () => Date.parse('2026-11-19T23:30:00Z');
    const base = { store, serviceLevelSeconds: 20, shortAbandonSeconds: 5, now };
    expect(
      (await runDailySummary({ ...base, notifier: dedupingNotifier(), timeZone: 'Europe/Berlin' })).date,
    ).toBe('2026-11-19');
    expect((await runDailySummary({ ...base, notifier: dedupingNotifier(), timeZone: 'UTC' })).date).toBe(
      '2026-11-18',
    );
  });

  it('renders Block Kit with escaped agent names and a plain fallback', async () => {
    const store = await seededStore();
    const stats = computeStats(
      await store.range(berlin('2026-11-19T00:00:00'), berlin('2026-11-20T00:00:00')),
      {
        date: '2026-11-19',
        timeZone: 'Europe/Berlin',
        serviceLevelSeconds: 20,
        shortAbandonSeconds: 5,
      },
    );
    const message = dailySummaryMessage(buildDailySummary(stats, berlin('2026-11-20T08:00:00')));
    expect(message.text).toBe(
      '📊 2026-11-19: 4 calls offered, 3 answered, 1 missed or abandoned, 0 voicemails, service level 50% within 20s, busiest 09:00–10:00',
    );
    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: '📊 Daily summary for 2026-11-19', emoji: true },
    });
    const json = JSON.stringify(message.blocks);
    expect(json).toContain('Carol &lt;&amp;&gt;');
    expect(json).not.toContain('Carol <');
    expect(json).toContain('*Avg. speed of answer*\\n15s');
    expect(json).toContain('*Avg. handle time*\\n2m 34s');
    expect(json).toContain('*Busiest hour*\\n09:00–10:00 (3 calls)');
    expect(json).toContain('Alice — 1 answered, 5m 00s talk');
    const fields = (message.blocks[1] as { fields: unknown[] }).fields;
    expect(fields.length).toBeLessThanOrEqual(10);
  });

  it('a quiet day: dashes, no agents section', () => {
    const stats = computeStats([], {
      date: '2026-12-25',
      timeZone: 'UTC',
      serviceLevelSeconds: 20,
      shortAbandonSeconds: 5,
    });
    const message = dailySummaryMessage(buildDailySummary(stats, Date.parse('2026-12-26T08:00:00Z')));
    expect(message.text).toBe(
      '📊 2026-12-25: 0 calls offered, 0 answered, 0 missed or abandoned, 0 voicemails, service level — within 20s',
    );
    const json = JSON.stringify(message.blocks);
    expect(json).toContain('*Service level (20s)*\\n—');
    expect(json).not.toContain('*Agents*');
  });
});
