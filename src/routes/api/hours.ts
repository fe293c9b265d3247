import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { CallCenterConfigSource } from '../../call-center/call-center-source.js';
import type { ManualOverride } from '../../call-center/opening-hours.js';
import type { OpeningHoursService, QueueHoursState } from '../../call-center/opening-hours-service.js';
import { Errors } from '../../errors.js';

export interface HoursRoutesOptions {
  hours: OpeningHoursService;
  source: CallCenterConfigSource;
  now?: () => number;
}

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

const Override = Type.Object({
  queue: Type.Union([Type.String(), Type.Null()]),
  closed: Type.Boolean(),
  until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  setAt: Type.String({ format: 'date-time' }),
});

const QueueHours = Type.Object({
  queue: Type.String(),
  open: Type.Boolean(),
  reason: Type.Union(['open', 'after-hours', 'holiday', 'closure', 'manual'].map((r) => Type.Literal(r))),
  /** The closure's, holiday's or override's reason, and its prompt text. */
  closure: Type.Union([
    Type.Object({
      reason: Type.Union([Type.String(), Type.Null()]),
      prompt: Type.Union([Type.String(), Type.Null()]),
    }),
    Type.Null(),
  ]),
  override: Type.Union([Override, Type.Null()]),
  nextChange: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  timeZone: Type.Union([Type.String(), Type.Null()]),
});

const HoursReply = Type.Object({
  at: Type.String({ format: 'date-time' }),
  source: Type.String(),
  queues: Type.Array(QueueHours),
});

const overrideView = (o: ManualOverride) => ({
  queue: o.queue ?? null,
  closed: o.closed,
  until: iso(o.until),
  reason: o.reason ?? null,
  setAt: new Date(o.setAt).toISOString(),
});

const view = (s: QueueHoursState) => ({
  queue: s.queue,
  open: s.open,
  reason: s.reason,
  closure: s.closure ? { reason: s.closure.reason ?? null, prompt: s.closure.prompt?.say ?? null } : null,
  override: s.override ? overrideView(s.override) : null,
  nextChange: iso(s.nextChange),
  timeZone: s.timeZone ?? null,
});

/**
 * Opening hours and their manual overrides (docs/interface.md §6, §9): `GET /api/hours`,
 * `PUT /api/hours/override`, `DELETE /api/hours/override?queue=`.
 */
export default async function hoursRoutes(app: FastifyInstance, opts: HoursRoutesOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const now = opts.now ?? Date.now;

  const report = async () => {
    const at = now();
    let queues: QueueHoursState[];
    try {
      queues = await opts.hours.all(at);
    } catch (err) {
      throw new Errors.StoreUnavailable(`the hours overrides cannot be read: ${(err as Error).message}`);
    }
    return { at: new Date(at).toISOString(), source: opts.source.current().source, queues: queues.map(view) };
  };

  const knownQueue = (queue: string | undefined) => {
    if (queue !== undefined && !opts.source.current().queues.has(queue)) {
      throw new Errors.UnknownQueue(`no queue named "${queue.slice(0, 64)}" in the call-center file`);
    }
  };

  api.get(
    '/hours',
    {
      schema: {
        tags: ['hours'],
        summary: 'Whether each queue is open now, why, and when that next changes',
        response: { 200: HoursReply, 503: Type.Ref('ErrorReply') },
      },
    },
    report,
  );

  api.put(
    '/hours/override',
    {
      schema: {
        tags: ['hours'],
        summary: 'Closes or opens one queue (or all) by hand, until a time or until deleted',
        body: Type.Object(
          {
            queue: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            closed: Type.Boolean(),
            until: Type.Optional(Type.String({ format: 'date-time' })),
            reason: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: HoursReply,
          404: Type.Ref('ErrorReply'),
          422: Type.Ref('ErrorReply'),
          503: Type.Ref('ErrorReply'),
        },
      },
    },
    async (req) => {
      const { queue, closed, until, reason } = req.body;
      knownQueue(queue);
      let untilMs: number | undefined;
      if (until !== undefined) {
        untilMs = Date.parse(until);
        if (!Number.isFinite(untilMs))
          throw new Errors.OverrideUntil(`until "${until.slice(0, 40)}" is not a date-time`);
        if (untilMs <= now()) throw new Errors.OverrideUntil('until must be in the future');
      }
      try {
        await opts.hours.setOverride({ ...(queue ? { queue } : {}), closed, until: untilMs, reason });
      } catch (err) {
        throw new Errors.StoreUnavailable(`the override could not be stored: ${(err as Error).message}`);
      }
      req.log.info({ queue: queue ?? '*', closed, until, reason }, 'opening hours overridden by hand');
      return report();
    },
  );

  api.delete(
    '/hours/override',
    {
      schema: {
        tags: ['hours'],
        summary: "Back to the schedule: removes one queue's override, or every override without queue",
        querystring: Type.Object({ queue: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }),
        response: {
          200: Type.Object({ ...HoursReply.properties, cleared: Type.Integer() }),
          404: Type.Ref('ErrorReply'),
          503: Type.Ref('ErrorReply'),
        },
      },
    },
    async (req) => {
      const { queue } = req.query;
      knownQueue(queue);
      let cleared: number;
      try {
        cleared = await opts.hours.clearOverride(queue);
      } catch (err) {
        throw new Errors.StoreUnavailable(`the override could not be removed: ${(err as Error).message}`);
      }
      req.log.info({ queue: queue ?? '*', cleared }, 'opening hours override removed');
      return { ...(await report()), cleared };
    },
  );
}
