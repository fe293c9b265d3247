import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, expect, it } from 'vitest';
import { type AgentStateStore, transitionAgent } from '../../src/agents/agent-state-store.js';
import { MemoryAgentStateStore } from '../../src/agents/memory-agent-state-store.js';
import { RedisAgentStateStore } from '../../src/agents/redis-agent-state-store.js';
import type { CallCenterEvent } from '../../src/events/call-center-event.js';
import type { EventLog } from '../../src/events/event-log.js';
import { MemoryEventLog } from '../../src/events/memory-event-log.js';
import { RedisEventLog } from '../../src/events/redis-event-log.js';
import { MemoryQueueStore } from '../../src/queues/memory-queue-store.js';
import type { QueueStore } from '../../src/queues/queue-store.js';
import { RedisQueueStore } from '../../src/queues/redis-queue-store.js';
import queueRoutes, { NEXT_CURSOR_HEADER, parseSince } from '../../src/routes/api/queues.js';
import { ErrorReply } from '../../src/routes/api/schemas.js';
import { describeBackends } from '../support/describe-backends.js';

const TOKEN = 'queues-token-0123456789';
const settings = { serviceLevelSeconds: 20, shortAbandonSeconds: 5, timeZone: 'UTC' };

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describeBackends('GET /api/queues and /api/events', (backend) => {
  async function build() {
    const queueStore = backend.one<QueueStore>({
      memory: () => new MemoryQueueStore(),
      redis: (r) => new RedisQueueStore(r),
    });
    const agentStates = backend.one<AgentStateStore>({
      memory: () => new MemoryAgentStateStore(),
      redis: (r) => new RedisAgentStateStore(r),
    });
    const events = backend.one<EventLog>({
      memory: () => new MemoryEventLog(),
      redis: (r) => new RedisEventLog(r),
    });
    const roster = [
      { id: 'alice', name: 'Alice', online: true },
      { id: 'bob', name: 'Bob', online: true },
      { id: 'carol', name: 'Carol', online: false },
    ];
    app = Fastify();
    app.addSchema(ErrorReply);
    await app.register(
      async (api) => {
        api.addHook('onRequest', async (req, reply) => {
          if (req.headers.authorization !== `Bearer ${TOKEN}`)
            return reply.code(401).send({ code: 'SB_UNAUTHORIZED' });
        });
        await api.register(async (scope) =>
          queueRoutes(scope, {
            queues: () => [
              { name: 'support', agentIds: roster.map((a) => a.id) },
              { name: 'sales', agentIds: ['bob'] },
            ],
            agent: (id) => roster.find((a) => a.id === id),
            queueStore,
            agentStates,
            events,
            settings,
          }),
        );
      },
      { prefix: '/api' },
    );
    return { queueStore, agentStates, events };
  }
  const get = (url: string, token = TOKEN) =>
    (app as FastifyInstance).inject({ url, headers: { authorization: `Bearer ${token}` } });

  it('lists each queue: callers in line, agents by status and state, longest wait, today’s service level', async () => {
    const { queueStore, agentStates, events } = await build();
    const now = Date.now();
    const dayStart = new Date(now).setUTCHours(0, 0, 0, 0);
    const t = (secondsAgo: number) => Math.max(dayStart, now - secondsAgo * 1000);
    await queueStore.enqueue(
      { callSid: 'v3:first', queue: 'support', caller: '+13125550101' },
      { now: now - 95_000, maxWaiting: 50 },
    );
    await queueStore.enqueue(
      { callSid: 'v3:second', queue: 'support', caller: '+13125550102' },
      { now: now - 30_000, maxWaiting: 50 },
    );
    await queueStore.requestCallback('v3:first', '+13125550101', now - 20_000);
    await transitionAgent(
      agentStates,
      'alice',
      { type: 'offer', callSid: 'v3:x', queue: 'support', registered: true },
      { now: now - 60_000 },
    );
    await transitionAgent(
      agentStates,
      'alice',
      { type: 'offer-answered', callSid: 'v3:x' },
      { now: now - 50_000 },
    );
    await transitionAgent(
      agentStates,
      'bob',
      { type: 'status-set', status: 'break', reason: 'no-answer', by: 'system' },
      { now: now - 10_000 },
    );
    const log: CallCenterEvent[] = [
      { type: 'enter-queue', queue: 'support', callSid: 'v3:a', position: 1, at: t(300) },
      { type: 'connect', queue: 'support', callSid: 'v3:a', agent: 'alice', wait: 12, at: t(288) },
      { type: 'enter-queue', queue: 'support', callSid: 'v3:b', position: 1, at: t(200) },
      { type: 'connect', queue: 'support', callSid: 'v3:b', agent: 'alice', wait: 45, at: t(155) },
      { type: 'enter-queue', queue: 'support', callSid: 'v3:c', position: 2, at: t(150) },
      { type: 'abandon', queue: 'support', callSid: 'v3:c', wait: 40, position: 2, at: t(110) },
    ];
    await events.appendMany(log);

    expect((await get('/api/queues', 'wrong')).statusCode).toBe(401);
    const res = await get('/api/queues');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.serviceLevelSeconds).toBe(20);
    const [support, sales] = body.queues;
    expect(support).toMatchObject({
      name: 'support',
      waiting: 2,
      callbacks: 1,
      offered: 0,
      agentsByStatus: { available: 2, break: 1, offline: 0 },
      agentsByState: { idle: 2, offered: 0, 'on-call': 1, 'wrap-up': 0 },
      today: { offered: 3, answered: 2, abandoned: 1, answeredWithinServiceLevel: 1, serviceLevel: 0.3333 },
    });
    expect(support.longestWaitSeconds).toBeGreaterThanOrEqual(95);
    expect(support.callers).toEqual([
      expect.objectContaining({
        callSid: 'v3:first',
        caller: '+13125550101',
        position: 1,
        callbackRequested: true,
        offeredTo: null,
      }),
      expect.objectContaining({ callSid: 'v3:second', position: 2, callbackRequested: false }),
    ]);
    expect(support.callers[0].waitSeconds).toBeGreaterThanOrEqual(95);
    expect(support.agents).toEqual([
      expect.objectContaining({
        id: 'alice',
        name: 'Alice',
        status: 'available',
        reason: null,
        state: 'on-call',
        online: true,
      }),
      expect.objectContaining({ id: 'bob', status: 'break', reason: 'no-answer', state: 'idle' }),
      {
        id: 'carol',
        name: 'Carol',
        status: 'available',
        reason: null,
        state: 'idle',
        online: false,
        stateSince: null,
      },
    ]);
    expect(sales).toMatchObject({
      name: 'sales',
      waiting: 0,
      longestWaitSeconds: 0,
      callers: [],
      agentsByStatus: { available: 0, break: 1, offline: 0 },
      today: { offered: 0, serviceLevel: null },
    });
  });

  it('exports the event log as JSON lines, page by page with the next cursor', async () => {
    const { events } = await build();
    const at = Date.now();
    const ids = await events.appendMany([
      { type: 'enter-queue', queue: 'support', callSid: 'v3:a', position: 1, at },
      { type: 'offer', queue: 'support', callSid: 'v3:a', agent: 'alice', at },
      { type: 'connect', queue: 'support', callSid: 'v3:a', agent: 'alice', wait: 3, at },
    ]);
    const first = await get('/api/events?limit=2');
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = first.body
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.id, l.type])).toEqual([
      [ids[0], 'enter-queue'],
      [ids[1], 'offer'],
    ]);
    expect(first.headers[NEXT_CURSOR_HEADER]).toBe(ids[1]);
    const second = await get(`/api/events?since=${ids[1]}`);
    expect(
      second.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).type),
    ).toEqual(['connect']);
    expect(second.headers[NEXT_CURSOR_HEADER]).toBe(ids[2]);
    // nothing new: empty body, the cursor stays
    const third = await get(`/api/events?since=${ids[2]}`);
    expect(third.body).toBe('');
    expect(third.headers[NEXT_CURSOR_HEADER]).toBe(ids[2]);
    // by time: everything logged since a minute ago
    const byTime = await get(`/api/events?since=${new Date(at - 60_000).toISOString()}`);
    expect(byTime.body.trimEnd().split('\n')).toHaveLength(3);
    const future = await get(`/api/events?since=${new Date(at + 3_600_000).toISOString()}`);
    expect(future.body).toBe('');
  });

  it('answers 400 for a bad since or limit', async () => {
    await build();
    for (const q of [
      'since=yesterday',
      'since=12-ab',
      'since=2026-13-45T00:00:00Z',
      'limit=0',
      'limit=100001',
    ]) {
      const res = await get(`/api/events?${q}`);
      expect(res.statusCode, q).toBe(400);
    }
  });
});

it('parseSince takes an event id or an ISO time', () => {
  expect(parseSince('1764950400000-3')).toBe('1764950400000-3');
  expect(parseSince('2026-12-06T08:00:00Z')).toBe(Date.UTC(2026, 11, 6, 8));
  expect(parseSince('2026-12-06')).toBe(Date.UTC(2026, 11, 6));
  expect(() => parseSince('now')).toThrow(/since must be an event id/);
});
