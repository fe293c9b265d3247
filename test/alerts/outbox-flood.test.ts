import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { DEFAULT_ROUTINE_LIMIT, eventsOf, type Outbox, type OutboxMessage } from '../../src/alerts/outbox.js';
import { OutboxWorker } from '../../src/alerts/outbox-worker.js';
import { createSlackWebhookSink } from '../../src/slack/sinks.js';
import type { FakeSlack } from '../fakes/slack-server.js';
import { describeBackends } from '../support/describe-backends.js';
import { useFakeSlack } from '../support/fake-slack.js';
import { memoryOutbox, redisOutbox } from './outboxes.js';
import { sampleAlerts } from './sample-alerts.js';

/**
 * The flood from issue 13: 10,000 calls in a burst. Before, the outbox queued ~10,000 messages in
 * arrival order, a 2.8-hour backlog at Slack's one message a second, with a voicemail stuck
 * behind all of it. Now its depth stays bounded (routine limit + one summary + the urgent
 * alerts), and the voicemail of the 10,001st call is posted within seconds, with the real 1 s
 * pacing of a Slack webhook. The enqueues go straight to the outbox API (an HTTP version is
 * not needed to show the ordering, and would take minutes).
 */

const CALLS = 10_000;
/** Calls of the flood whose caller hung up: urgent alerts that go first too (one per 2,500 calls). */
const MISSED_EVERY = 2_500;
const at = (i: number) => new Date(Date.parse('2026-12-01T10:00:00Z') + i * 30).toISOString();
const sid = (i: number) => `v3:flood-${i}`;

function callAlerts(i: number): Array<[string, Alert]> {
  const base = { callSid: sid(i), from: `+1312555${String(i).padStart(4, '0')}`, at: at(i) };
  const out: Array<[string, Alert]> = [[`call:${sid(i)}:incoming`, { ...sampleAlerts.incoming, ...base }]];
  if (i % MISSED_EVERY === MISSED_EVERY - 1) {
    out.push([`call:${sid(i)}:missed`, { ...sampleAlerts.missed, ...base }]);
  } else if (i % 2 === 0) {
    out.push([`call:${sid(i)}:answered`, { ...sampleAlerts.answered, ...base }]);
    out.push([`call:${sid(i)}:completed`, { ...sampleAlerts.completed, ...base }]);
  }
  return out;
}

const workers: OutboxWorker[] = [];
const slack = useFakeSlack();

describeBackends('outbox under a flood of 10,000 calls (two replicas enqueueing)', (backend) => {
  // Registered inside the suite, so it runs before describeBackends quits the Redis clients.
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  const open = () => {
    const [a, b] = backend.pair<Outbox>({
      memory: () => memoryOutbox(),
      redis: (redis) => redisOutbox(redis),
    });
    return { a, b };
  };

  it('stays bounded, and the voicemail of call 10,001 jumps the line at 1 message/s', async () => {
    const { a, b } = open();
    let events = 0;
    let urgent = 0;
    let maxDepth = 0;
    // Slack is behind from the start: the flood arrives faster than one message a second.
    for (let start = 0; start < CALLS; start += 250) {
      const batch = Array.from({ length: 250 }, (_, j) => start + j);
      await Promise.all(
        batch.map(async (i) => {
          for (const [key, alert] of callAlerts(i)) {
            expect(await (i % 2 ? a : b).enqueue(key, alert)).toBe(true);
            events += 1;
            if (alert.type === 'missed') urgent += 1;
          }
        }),
      );
      maxDepth = Math.max(maxDepth, await a.depth());
    }
    // Bounded: the routine lane plus one summary, plus the (never dropped) urgent alerts.
    expect(maxDepth).toBeLessThanOrEqual(DEFAULT_ROUTINE_LIMIT + 1 + urgent);
    expect(urgent).toBe(CALLS / MISSED_EVERY);

    // Call 10,001 leaves a voicemail.
    const last = CALLS;
    const base = { callSid: sid(last), from: '+13125559999', at: at(last) };
    await a.enqueue(`call:${sid(last)}:incoming`, { ...sampleAlerts.incoming, ...base });
    await b.enqueue(`call:${sid(last)}:voicemail`, { ...sampleAlerts.voicemail, ...base });
    events += 2;
    const voicemailQueuedAt = Date.now();

    // The real Slack pacing: one message a second, to a Slack that checks every payload.
    const worker = new OutboxWorker({
      outbox: a,
      sink: createSlackWebhookSink(slack.url, { timeoutMs: 2_000, minIntervalMs: 1_000 }),
      logger: pino({ level: 'silent' }),
      idlePollMs: 20,
    });
    workers.push(worker);
    worker.start();
    const voicemailPosted = () =>
      slack
        .accepted()
        .findIndex((m) => m.text.startsWith('📩') && JSON.stringify(m.blocks).includes(sid(last)));
    const deadline = voicemailQueuedAt + 60_000;
    while (voicemailPosted() < 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const position = voicemailPosted();
    expect(position, 'the voicemail was posted within a minute').toBeGreaterThanOrEqual(0);
    // Only the urgent alerts queued before it were posted first (plus, at most, one in flight).
    expect(position).toBeLessThanOrEqual(urgent + 1);
    expect(Date.now() - voicemailQueuedAt).toBeLessThan(60_000);
    await worker.stop();

    // The rest, without the pacing: every event reached Slack once — on its own, inside the
    // message that superseded it, or counted in a summary — and nothing urgent was summarized.
    const delivered: OutboxMessage[] = [];
    for (let head = await a.peek(); head; head = await a.peek()) {
      delivered.push(head.message!);
      await a.ack(head);
    }
    const acceptedCount = slack.accepted().length;
    const summaries = delivered.filter((m) => m.alert.type === 'backlog');
    expect(summaries.length).toBeGreaterThan(0);
    const summarizedEvents = summaries.reduce(
      (n, m) =>
        n + Object.values((m.alert as { counts: Record<string, number> }).counts).reduce((x, y) => x + y, 0),
      0,
    );
    const ownEvents = delivered.filter((m) => m.alert.type !== 'backlog').flatMap(eventsOf);
    // What the worker posted before it stopped: messages, each standing for itself and what it folded.
    const postedEvents = slack.accepted().reduce((n, m) => {
      const folded = (m.blocks as Array<{ block_id?: string; elements?: unknown[] }>).find(
        (blk) => blk.block_id === 'folded',
      );
      const summary = /^🗂️ (\d+) call alerts/.exec(m.text);
      return n + (summary ? Number(summary[1]) : 1 + (folded?.elements?.length ?? 0));
    }, 0);
    expect(postedEvents + ownEvents.length + summarizedEvents).toBe(events);
    expect(ownEvents.filter((e) => e.type === 'missed').length + countPosted(slack, '❌')).toBe(urgent);
    expect(acceptedCount + delivered.length).toBeLessThan(DEFAULT_ROUTINE_LIMIT * 2 + urgent);
    const counters = [a, b].filter((o, i) => i === 0 || o !== a).map((o) => o.counters());
    const summarized = counters.reduce(
      (n, c) => n + Object.values(c.summarized).reduce((x, y) => x + y, 0),
      0,
    );
    expect(summarized).toBeGreaterThan(CALLS);
  }, 120_000);
});

const countPosted = (s: FakeSlack, emoji: string) =>
  s.accepted().filter((m) => m.text.startsWith(emoji)).length;
