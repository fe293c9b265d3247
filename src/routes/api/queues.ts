import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { AgentActivity, AgentRecord } from '../../agents/agent-state.js';
import type { AgentStateStore } from '../../agents/agent-state-store.js';
import { Errors } from '../../errors.js';
import type { AgentStatus } from '../../events/call-center-event.js';
import { type EventLog, eventsBetween, STREAM_ID } from '../../events/event-log.js';
import type { QueueStore } from '../../queues/queue-store.js';
import { computeQueueStats } from '../../stats/queue-stats.js';
import { dayWindow, localDate } from '../../stats/time-zone.js';

/**
 * Read-only views of the call center (docs/interface.md §6, §7): `GET /queues` (who waits in
 * each queue, its agents by status and state, today's service level) and `GET /events` (the event
 * log as JSON lines, for export). Registered by the app under `/api`, behind the bearer token.
 */

/** A queue as configured: its name and the ids of its agents (names come from configuration only). */
export interface QueueDefinition {
  name: string;
  agentIds: readonly string[];
}

export interface QueueRoutesOptions {
  /** The configured queues (read per request: the roster changes). */
  queues: () => readonly QueueDefinition[];
  /** Display name and presence of an agent, from the roster. */
  agent: (id: string) => { name: string; online: boolean } | undefined;
  queueStore: Pick<QueueStore, 'list' | 'summaries'>;
  agentStates: Pick<AgentStateStore, 'getMany'>;
  events: Pick<EventLog, 'read'>;
  settings: { serviceLevelSeconds: number; shortAbandonSeconds: number; timeZone: string };
  now?: () => number;
}

export const AGENT_STATUSES: readonly AgentStatus[] = ['available', 'break', 'offline'];
export const AGENT_STATES: readonly AgentActivity[] = ['idle', 'offered', 'on-call', 'wrap-up'];

const Counts = (keys: readonly string[]) =>
  Type.Object(Object.fromEntries(keys.map((k) => [k, Type.Integer({ minimum: 0 })])));

const QueueView = Type.Object({
  name: Type.String(),
  waiting: Type.Integer({ minimum: 0 }),
  callbacks: Type.Integer({ minimum: 0 }),
  /** Callers being offered to an agent right now. */
  offered: Type.Integer({ minimum: 0 }),
  longestWaitSeconds: Type.Integer({ minimum: 0 }),
  callers: Type.Array(
    Type.Object({
      callSid: Type.String(),
      caller: Type.String(),
      position: Type.Integer({ minimum: 1 }),
      waitSeconds: Type.Integer({ minimum: 0 }),
      callbackRequested: Type.Boolean(),
      callbackAttempts: Type.Integer({ minimum: 0 }),
      offeredTo: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
  agents: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      status: Type.String(),
      reason: Type.Union([Type.String(), Type.Null()]),
      state: Type.String(),
      online: Type.Boolean(),
      /** When the state last changed (ISO); null for an agent whose state never changed. */
      stateSince: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    }),
  ),
  agentsByStatus: Counts(AGENT_STATUSES),
  agentsByState: Counts(AGENT_STATES),
  today: Type.Object({
    date: Type.String(),
    offered: Type.Integer({ minimum: 0 }),
    answered: Type.Integer({ minimum: 0 }),
    abandoned: Type.Integer({ minimum: 0 }),
    answeredWithinServiceLevel: Type.Integer({ minimum: 0 }),
    /** answered within SERVICE_LEVEL_SECONDS ÷ (answered + abandoned); null when both are 0. */
    serviceLevel: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]),
    longestWait: Type.Integer({ minimum: 0 }),
    /** Callbacks asked for, reaching the caller, and given up after their attempts (docs/interface.md §7). */
    callbacks: Type.Object({
      requested: Type.Integer({ minimum: 0 }),
      connected: Type.Integer({ minimum: 0 }),
      failed: Type.Integer({ minimum: 0 }),
    }),
  }),
});

const QueuesReply = Type.Object({
  at: Type.String({ format: 'date-time' }),
  serviceLevelSeconds: Type.Integer(),
  queues: Type.Array(QueueView),
});

const EventsQuery = Type.Object({
  since: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 64,
      description:
        'an event id `<ms>-<seq>` (events after it: resume an export) or an ISO 8601 time (events logged at or after it)',
    }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 })),
});

/** The header carrying where the next page starts (`since` for the next request). */
export const NEXT_CURSOR_HEADER = 'x-next-cursor';

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** `since` as the event log takes it: an id, or epoch ms; a clear 400 for anything else. */
export function parseSince(since: string): string | number {
  if (STREAM_ID.test(since)) return since;
  const ms = ISO_TIME.test(since) ? Date.parse(since) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new Errors.BadParameter(
      'since must be an event id such as 1764950400000-0 or an ISO 8601 time such as 2026-12-06T08:00:00Z',
    );
  }
  return ms;
}

const count = <K extends string>(keys: readonly K[], values: readonly string[]): Record<K, number> => {
  const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  for (const v of values) if (v in out) out[v as K] += 1;
  return out;
};

export default async function queueRoutes(app: FastifyInstance, opts: QueueRoutesOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const now = opts.now ?? Date.now;
  const { serviceLevelSeconds, shortAbandonSeconds, timeZone } = opts.settings;

  api.get(
    '/queues',
    {
      schema: {
        tags: ['queues'],
        summary:
          'Each queue: callers waiting, agents by status and state, longest wait, today’s service level',
        response: { 200: QueuesReply },
      },
    },
    async () => {
      const at = now();
      const queues = opts.queues();
      const names = queues.map((q) => q.name);
      const date = localDate(at, timeZone);
      const { fromMs, toMs } = dayWindow(date, timeZone);
      const [summaries, lines, records, events] = await Promise.all([
        opts.queueStore.summaries(names, at),
        Promise.all(names.map((name) => opts.queueStore.list(name, at))),
        opts.agentStates.getMany([...new Set(queues.flatMap((q) => q.agentIds))]),
        eventsBetween(opts.events, fromMs, Math.min(toMs, at + 1)),
      ]);
      const stats = computeQueueStats(events, {
        date,
        timeZone,
        serviceLevelSeconds,
        shortAbandonSeconds,
        now: at,
      });
      return {
        at: new Date(at).toISOString(),
        serviceLevelSeconds,
        queues: queues.map((q, i) => {
          const summary = summaries.find((s) => s.queue === q.name);
          const agents = q.agentIds.map((id) => agentView(id, records.get(id), opts.agent(id)));
          const kpis = stats.perQueue.find((s) => s.queue === q.name);
          return {
            name: q.name,
            waiting: summary?.waiting ?? 0,
            callbacks: summary?.callbacks ?? 0,
            offered: summary?.offered ?? 0,
            longestWaitSeconds: summary?.longestWaitSeconds ?? 0,
            callers: (lines[i] ?? []).map((c) => ({
              callSid: c.callSid,
              caller: c.caller,
              position: c.position,
              waitSeconds: c.waitSeconds,
              callbackRequested: c.callback !== undefined,
              callbackAttempts: c.callback?.attempts ?? 0,
              offeredTo: c.offeredTo ?? null,
            })),
            agents,
            agentsByStatus: count(
              AGENT_STATUSES,
              agents.map((a) => a.status),
            ),
            agentsByState: count(
              AGENT_STATES,
              agents.map((a) => a.state),
            ),
            today: {
              date,
              offered: kpis?.offered ?? 0,
              answered: kpis?.answered ?? 0,
              abandoned: kpis?.abandoned ?? 0,
              answeredWithinServiceLevel: kpis?.answeredWithinServiceLevel ?? 0,
              serviceLevel: kpis?.serviceLevel ?? null,
              longestWait: kpis?.longestWait ?? 0,
              callbacks: kpis?.callbacks ?? { requested: 0, connected: 0, failed: 0 },
            },
          };
        }),
      };
    },
  );

  api.get(
    '/events',
    {
      schema: {
        tags: ['queues'],
        summary: 'The call-center event log as JSON lines (application/x-ndjson), oldest first',
        description: `One event per line, each with its \`id\`. Page on with \`since\` = the \`${NEXT_CURSOR_HEADER}\` header of the reply.`,
        querystring: EventsQuery,
        response: {
          200: { description: 'JSON lines', content: { 'application/x-ndjson': { schema: Type.String() } } },
          400: Type.Ref('ErrorReply'),
        },
      },
    },
    async (request, reply) => {
      const since = request.query.since === undefined ? undefined : parseSince(request.query.since);
      const limit = request.query.limit ?? 1000;
      const page = await opts.events.read({ since, limit });
      const last = page.at(-1)?.id;
      // With nothing new, the cursor stays where it was, so a poller can keep asking with it.
      const next = last ?? (typeof since === 'string' ? since : undefined);
      if (next) reply.header(NEXT_CURSOR_HEADER, next);
      reply.header('content-type', 'application/x-ndjson; charset=utf-8');
      return page.map((e) => `${JSON.stringify(e)}\n`).join('');
    },
  );
}

function agentView(
  id: string,
  record: AgentRecord | undefined,
  roster: { name: string; online: boolean } | undefined,
): {
  id: string;
  name: string;
  status: AgentStatus;
  reason: string | null;
  state: AgentActivity;
  online: boolean;
  stateSince: string | null;
} {
  return {
    id,
    name: roster?.name ?? id,
    status: record?.status ?? 'available',
    reason: record?.status === 'break' ? (record.reason ?? null) : null,
    state: record?.state ?? 'idle',
    online: roster?.online ?? false,
    stateSince: record?.stateAt ? new Date(record.stateAt).toISOString() : null,
  };
}
