import { pino } from 'pino';
import type { AgentStateStore } from '../../src/agents/agent-state-store.js';
import { MemoryAgentStateStore } from '../../src/agents/memory-agent-state-store.js';
import { RedisAgentStateStore } from '../../src/agents/redis-agent-state-store.js';
import { StaticRoster } from '../../src/agents/static-roster.js';
import type { Alert } from '../../src/alerts/alert.js';
import type { Outbox } from '../../src/alerts/outbox.js';
import type { LoggedEvent } from '../../src/events/call-center-event.js';
import type { EventLog } from '../../src/events/event-log.js';
import { MemoryEventLog } from '../../src/events/memory-event-log.js';
import { RedisEventLog } from '../../src/events/redis-event-log.js';
import { CallCenter } from '../../src/queues/call-center.js';
import { MemoryQueueStore } from '../../src/queues/memory-queue-store.js';
import type { OfferDelivery } from '../../src/queues/offer-delivery.js';
import { QueueFlow } from '../../src/queues/queue-flow.js';
import { defaultQueueSettings, type QueueSettings } from '../../src/queues/queue-settings.js';
import type { QueueStore } from '../../src/queues/queue-store.js';
import { RedisQueueStore } from '../../src/queues/redis-queue-store.js';
import { memoryOutbox, redisOutbox } from '../alerts/outboxes.js';
import type { Backend } from '../support/describe-backends.js';

/**
 * A call center over real stores (memory, or Redis through `describeBackends`) with a clock the
 * test moves: the `CallCenter` and the `QueueFlow` as app.ts builds them, minus HTTP and Telnyx.
 */

export const AGENTS = [
  { name: 'ann', sip: 'sip:ann@sip.telnyx.com' },
  { name: 'bob', sip: 'sip:bob@sip.telnyx.com' },
];

export interface Rig {
  center: CallCenter;
  flow: QueueFlow;
  queues: QueueStore;
  agents: AgentStateStore;
  events: EventLog;
  outbox: Outbox;
  /** Moves the clock by `seconds`. */
  advance(seconds: number): void;
  now(): number;
  /** Every event logged so far, in order. */
  logged(): Promise<LoggedEvent[]>;
  /** Every message queued for Slack so far (taken out of the outbox), with its key. */
  slack(): Promise<Array<{ key: string; alert: Alert; folded: string[] }>>;
  /** Agent `id` takes a direct call `callSid` (offered, answered): busy. */
  busy(id: string, callSid: string): Promise<void>;
}

export interface RigOptions {
  settings?: Partial<QueueSettings>;
  agents?: Array<{ name: string; sip: string }>;
  wrapUpSeconds?: number;
  maxNoAnswer?: number;
  dialAttempts?: number;
  serviceLevelSeconds?: number;
  delivery?: OfferDelivery;
}

export function buildRig(backend: Backend, options: RigOptions = {}): Rig {
  // Real time as the start (the Redis event log's stream ids are real time), then moved by hand.
  let clock = Date.now();
  const now = () => clock;
  const stores = backend.one({
    memory: () => ({
      agents: new MemoryAgentStateStore() as AgentStateStore,
      queues: new MemoryQueueStore() as QueueStore,
      events: new MemoryEventLog({ now }) as EventLog,
      outbox: memoryOutbox({ now }) as Outbox,
    }),
    redis: (redis) => ({
      agents: new RedisAgentStateStore(redis),
      queues: new RedisQueueStore(redis),
      events: new RedisEventLog(redis, { now }),
      outbox: redisOutbox(redis, { now }),
    }),
  });
  const log = pino({ level: 'silent' });
  const roster = new StaticRoster(options.agents ?? AGENTS);
  const center = new CallCenter({
    agents: stores.agents,
    events: stores.events,
    notifier: stores.outbox,
    roster,
    log,
    now,
    settings: {
      wrapUpSeconds: options.wrapUpSeconds ?? 0,
      wrapUpOverrides: {},
      maxNoAnswer: options.maxNoAnswer ?? 3,
      dialTimeoutSeconds: 20,
    },
  });
  const flow = new QueueFlow({
    center,
    queues: stores.queues,
    settings: defaultQueueSettings(options.settings),
    notifier: stores.outbox,
    roster,
    log,
    dialTimeoutSeconds: 20,
    dialAttempts: options.dialAttempts ?? 3,
    serviceLevelSeconds: options.serviceLevelSeconds ?? 3_600,
    ...(options.delivery ? { delivery: options.delivery } : {}),
    now,
  });
  return {
    center,
    flow,
    ...stores,
    advance(seconds) {
      clock += seconds * 1000;
    },
    now,
    logged: () => stores.events.read({ limit: 10_000 }),
    async slack() {
      const out: Array<{ key: string; alert: Alert; folded: string[] }> = [];
      for (let head = await stores.outbox.peek(); head; head = await stores.outbox.peek()) {
        const m = head.message!;
        out.push({ key: m.key, alert: m.alert, folded: (m.folded ?? []).map((f) => f.alert.type) });
        await stores.outbox.ack(head);
      }
      return out;
    },
    async busy(id, callSid) {
      await center.offer(callSid, [id], 'support');
      await center.answered(id, callSid);
    },
  };
}

/** The events' types and the fields a test cares about (ids and times left out). */
export const shape = (events: LoggedEvent[]) =>
  events.map(({ id: _id, at: _at, ...rest }) => rest as Record<string, unknown>);
