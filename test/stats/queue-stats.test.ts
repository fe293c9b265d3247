import { describe, expect, it } from 'vitest';
import type { CallCenterEvent } from '../../src/events/call-center-event.js';
import { computeQueueStats } from '../../src/stats/queue-stats.js';

const at = (time: string, day = '2026-12-01') => Date.parse(`${day}T${time}Z`);
const options = {
  date: '2026-12-01',
  timeZone: 'UTC',
  serviceLevelSeconds: 20,
  shortAbandonSeconds: 5,
  now: at('10:00:00'),
};

/** A morning in two queues; every expected number below is worked out by hand from it. */
const day: CallCenterEvent[] = [
  // Outside the day: ignored.
  { type: 'enter-queue', at: at('23:59:00', '2026-11-30'), queue: 'support', callSid: 'X0', position: 1 },
  // Agents sign in.
  { type: 'status-change', at: at('08:00:00'), agent: 'a1', from: 'offline', to: 'available', by: 'a1' },
  { type: 'status-change', at: at('09:00:30'), agent: 'a3', from: 'break', to: 'available', by: 'a3' },
  // C1: answered by a1 after 10 s, 300 s talk, 20 s wrap-up ended by hand.
  { type: 'enter-queue', at: at('09:00:00'), queue: 'support', callSid: 'C1', position: 1 },
  { type: 'offer', at: at('09:00:02'), queue: 'support', callSid: 'C1', agent: 'a1' },
  { type: 'connect', at: at('09:00:10'), queue: 'support', callSid: 'C1', agent: 'a1', wait: 10 },
  // C2: a2 lets it ring out, a3 answers after 40 s, 120 s talk, 30 s wrap-up.
  { type: 'enter-queue', at: at('09:01:00'), queue: 'support', callSid: 'C2', position: 2 },
  { type: 'offer', at: at('09:01:01'), queue: 'support', callSid: 'C2', agent: 'a2' },
  { type: 'no-answer', at: at('09:01:21'), queue: 'support', callSid: 'C2', agent: 'a2' },
  { type: 'offer', at: at('09:01:22'), queue: 'support', callSid: 'C2', agent: 'a3' },
  { type: 'connect', at: at('09:01:40'), queue: 'support', callSid: 'C2', agent: 'a3', wait: 40 },
  // C3: short abandon (3 s). C4: abandon after 30 s.
  { type: 'enter-queue', at: at('09:02:00'), queue: 'support', callSid: 'C3', position: 2 },
  { type: 'abandon', at: at('09:02:03'), queue: 'support', callSid: 'C3', wait: 3, position: 2 },
  { type: 'enter-queue', at: at('09:02:10'), queue: 'support', callSid: 'C4', position: 1 },
  // a3 goes on break during the C2 call: still logged in while busy.
  {
    type: 'status-change',
    at: at('09:02:40'),
    agent: 'a3',
    from: 'available',
    to: 'break',
    reason: 'coffee',
    by: 'a3',
  },
  { type: 'abandon', at: at('09:02:40'), queue: 'support', callSid: 'C4', wait: 30, position: 1 },
  // C5: asks for a callback after 60 s; a1 reaches them at the first attempt.
  { type: 'enter-queue', at: at('09:03:00'), queue: 'support', callSid: 'C5', position: 1 },
  { type: 'complete', at: at('09:03:40'), queue: 'support', callSid: 'C2', agent: 'a3', talk: 120 },
  {
    type: 'wrap-up-start',
    at: at('09:03:40'),
    agent: 'a3',
    callSid: 'C2',
    queue: 'support',
    until: at('09:04:10'),
  },
  { type: 'callback-requested', at: at('09:04:00'), queue: 'support', callSid: 'C5', wait: 60, position: 1 },
  { type: 'wrap-up-end', at: at('09:04:10'), agent: 'a3', callSid: 'C2', queue: 'support', by: 'system' },
  { type: 'complete', at: at('09:05:10'), queue: 'support', callSid: 'C1', agent: 'a1', talk: 300 },
  {
    type: 'wrap-up-start',
    at: at('09:05:10'),
    agent: 'a1',
    callSid: 'C1',
    queue: 'support',
    until: at('09:05:40'),
  },
  { type: 'wrap-up-end', at: at('09:05:30'), agent: 'a1', callSid: 'C1', queue: 'support', by: 'a1' },
  { type: 'callback-attempt', at: at('09:06:00'), queue: 'support', callSid: 'C5', agent: 'a1', attempt: 1 },
  {
    type: 'callback-connected',
    at: at('09:06:20'),
    queue: 'support',
    callSid: 'C5',
    agent: 'a1',
    attempt: 1,
    wait: 200,
  },
  { type: 'complete', at: at('09:08:20'), queue: 'support', callSid: 'C5', agent: 'a1', talk: 120 },
  // C6: waits the full 600 s, then voicemail.
  { type: 'enter-queue', at: at('09:10:00'), queue: 'support', callSid: 'C6', position: 1 },
  { type: 'exit-timeout', at: at('09:20:00'), queue: 'support', callSid: 'C6', wait: 600, position: 1 },
  { type: 'voicemail', at: at('09:20:00'), queue: 'support', callSid: 'C6', reason: 'timeout' },
  { type: 'status-change', at: at('09:20:00'), agent: 'a3', from: 'break', to: 'available', by: 'a3' },
  // S1 in sales: a2 (never changed status: available all day) answers after 25 s, no wrap-up.
  { type: 'enter-queue', at: at('09:30:00'), queue: 'sales', callSid: 'S1', position: 1 },
  { type: 'offer', at: at('09:30:01'), queue: 'sales', callSid: 'S1', agent: 'a2' },
  { type: 'connect', at: at('09:30:25'), queue: 'sales', callSid: 'S1', agent: 'a2', wait: 25 },
  { type: 'complete', at: at('09:32:25'), queue: 'sales', callSid: 'S1', agent: 'a2', talk: 120 },
  {
    type: 'status-change',
    at: at('09:45:00'),
    agent: 'a1',
    from: 'available',
    to: 'break',
    reason: 'lunch',
    by: 'a1',
  },
  { type: 'status-change', at: at('09:50:00'), agent: 'a3', from: 'available', to: 'offline', by: 'a3' },
  // A duplicate connect (a replayed event) changes nothing.
  { type: 'connect', at: at('09:00:11'), queue: 'support', callSid: 'C1', agent: 'a1', wait: 11 },
  // The next day: ignored.
  { type: 'enter-queue', at: at('00:00:01', '2026-12-02'), queue: 'support', callSid: 'X1', position: 1 },
];

describe('computeQueueStats', () => {
  const report = computeQueueStats(day, options);

  it('per queue: counts, service level, ASA, talk, AHT with wrap-up, longest wait', () => {
    expect(report.perQueue.map((q) => q.queue)).toEqual(['sales', 'support']);
    expect(report.perQueue[1]).toEqual({
      queue: 'support',
      offered: 6,
      answered: 2,
      answeredWithinServiceLevel: 1,
      abandoned: 1,
      shortAbandoned: 1,
      timedOut: 1,
      closed: 0,
      voicemails: 1,
      closedOnArrival: 0,
      callbacks: { requested: 1, connected: 1, failed: 0 },
      noAnswers: 1,
      serviceLevel: 0.3333, // 1 within 20 s / (2 answered + 1 abandoned); the short abandon left out
      averageSpeedOfAnswer: 25, // (10 + 40) / 2
      averageTalkTime: 180, // (300 + 120 + 120 for the callback) / 3
      averageHandleTime: 197, // (300 + 20 + 120 + 30 + 120) / 3 = 196.67
      longestWait: 600,
    });
    expect(report.perQueue[0]).toMatchObject({
      queue: 'sales',
      offered: 1,
      answered: 1,
      answeredWithinServiceLevel: 0,
      serviceLevel: 0,
      averageSpeedOfAnswer: 25,
      averageHandleTime: 120,
      longestWait: 25,
    });
  });

  it('callers who reached a closed queue count as closed on arrival (and voicemails); every queue of the file is listed', () => {
    const closedDay: CallCenterEvent[] = [
      {
        type: 'voicemail',
        at: at('07:00:00'),
        queue: 'sales',
        callSid: 'N1',
        reason: 'closed',
        closed: 'after-hours',
      },
      {
        type: 'voicemail',
        at: at('07:05:00'),
        queue: 'sales',
        callSid: 'N2',
        reason: 'closed',
        closed: 'manual',
      },
      { type: 'voicemail', at: at('09:20:00'), queue: 'sales', callSid: 'N3', reason: 'full' },
    ];
    const r = computeQueueStats(closedDay, { ...options, queues: ['sales', 'support', 'billing'] });
    expect(r.perQueue.map((q) => q.queue)).toEqual(['billing', 'sales', 'support']);
    expect(r.perQueue[1]).toMatchObject({ voicemails: 3, closedOnArrival: 2, offered: 0 });
    expect(r.perQueue[0]).toMatchObject({
      offered: 0,
      voicemails: 0,
      closedOnArrival: 0,
      serviceLevel: null,
    });
    expect(r.total).toMatchObject({ voicemails: 3, closedOnArrival: 2 });
    // Without the file's queue names, only queues with events.
    expect(computeQueueStats(closedDay, options).perQueue.map((q) => q.queue)).toEqual(['sales']);
  });

  it('all queues together', () => {
    expect(report.total).toMatchObject({
      offered: 7,
      answered: 3,
      answeredWithinServiceLevel: 1,
      abandoned: 1,
      shortAbandoned: 1,
      serviceLevel: 0.25, // 1 / (3 + 1)
      averageSpeedOfAnswer: 25, // (10 + 40 + 25) / 3
      averageTalkTime: 165, // (300 + 120 + 120 + 120) / 4
      averageHandleTime: 178, // (320 + 150 + 120 + 120) / 4 = 177.5
      longestWait: 600,
      noAnswers: 1,
    });
  });

  it('per agent: offers, answers, no-answers, handle time and occupancy over logged-in time', () => {
    expect(report.perAgent).toEqual([
      {
        agent: 'a1',
        offered: 2, // C1, and the callback attempt to C5
        answered: 1,
        callbacks: 1,
        noAnswers: 0,
        talkSeconds: 420,
        wrapUpSeconds: 20,
        averageHandleTime: 220, // (300 + 20 + 120) / 2
        loggedInSeconds: 6300, // available 08:00–09:45
        busySeconds: 440, // 300 + 20 + 120 (the callback 09:06:20–09:08:20)
        occupancy: 0.0698, // 440 / 6300
      },
      {
        agent: 'a2',
        offered: 2,
        answered: 1,
        callbacks: 0,
        noAnswers: 1,
        talkSeconds: 120,
        wrapUpSeconds: 0,
        averageHandleTime: 120,
        loggedInSeconds: 36_000, // no status change: available since midnight, up to now (10:00)
        busySeconds: 120,
        occupancy: 0.0033,
      },
      {
        agent: 'a3',
        offered: 1,
        answered: 1,
        callbacks: 0,
        noAnswers: 0,
        talkSeconds: 120,
        wrapUpSeconds: 30,
        averageHandleTime: 150,
        // available 09:00:30–09:02:40, busy (on break) until 09:04:10 → 220 s; available 09:20–09:50 → 1800 s
        loggedInSeconds: 2020,
        busySeconds: 150,
        occupancy: 0.0743, // 150 / 2020
      },
    ]);
  });

  it('reports the day window and settings', () => {
    expect(report).toMatchObject({
      date: '2026-12-01',
      from: '2026-12-01T00:00:00.000Z',
      to: '2026-12-02T00:00:00.000Z',
      serviceLevelSeconds: 20,
      shortAbandonSeconds: 5,
    });
  });

  it('an empty day has no rates', () => {
    const empty = computeQueueStats([], options);
    expect(empty.total).toMatchObject({
      offered: 0,
      serviceLevel: null,
      averageSpeedOfAnswer: null,
      averageHandleTime: null,
    });
    expect(empty.perQueue).toEqual([]);
    expect(empty.perAgent).toEqual([]);
  });

  it('reads the day in the given time zone', () => {
    const late: CallCenterEvent[] = [
      { type: 'enter-queue', at: at('23:30:00'), queue: 'support', callSid: 'L1', position: 1 },
    ];
    const berlin = { ...options, timeZone: 'Europe/Berlin', now: undefined };
    expect(computeQueueStats(late, options).total.offered).toBe(1);
    expect(computeQueueStats(late, berlin).total.offered).toBe(0);
    expect(computeQueueStats(late, { ...berlin, date: '2026-12-02' }).total.offered).toBe(1);
  });

  it('a call or wrap-up still running counts up to now, a wrap-up at most until its deadline', () => {
    const events: CallCenterEvent[] = [
      { type: 'connect', at: at('09:59:00'), queue: 'q', callSid: 'R1', agent: 'b1', wait: 0 },
      { type: 'complete', at: at('08:00:00'), queue: 'q', callSid: 'R0', agent: 'b2', talk: 60 },
      { type: 'wrap-up-start', at: at('08:00:00'), agent: 'b2', callSid: 'R0', until: at('08:00:30') },
    ];
    const [b1, b2] = computeQueueStats(events, options).perAgent;
    expect(b1).toMatchObject({ busySeconds: 60, loggedInSeconds: 36_000 });
    expect(b2).toMatchObject({ busySeconds: 90, wrapUpSeconds: 30, averageHandleTime: 90 });
  });

  it('a status held since before the day is read from the first change’s "from"', () => {
    const events: CallCenterEvent[] = [
      { type: 'status-change', at: at('06:00:00'), agent: 'b1', from: 'offline', to: 'available', by: 'b1' },
      { type: 'status-change', at: at('07:00:00'), agent: 'b1', from: 'available', to: 'offline', by: 'b1' },
      { type: 'status-change', at: at('04:00:00'), agent: 'b2', from: 'available', to: 'offline', by: 'b2' },
    ];
    const [b1, b2] = computeQueueStats(events, options).perAgent;
    expect(b1).toMatchObject({ loggedInSeconds: 3600, occupancy: 0 });
    expect(b2).toMatchObject({ loggedInSeconds: 4 * 3600 });
  });
});
