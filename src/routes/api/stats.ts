import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { Errors } from '../../errors.js';
import { type EventLog, eventsBetween } from '../../events/event-log.js';
import type { CallRecordStore } from '../../records/call-record-store.js';
import { computeStats } from '../../stats/call-stats.js';
import { computeQueueStats } from '../../stats/queue-stats.js';
import { dayWindow, isCalendarDate, isTimeZone } from '../../stats/time-zone.js';

export interface StatsRoutesOptions {
  /** Where the day's records are read from. */
  store: Pick<CallRecordStore, 'range'>;
  /** SERVICE_LEVEL_SECONDS and SHORT_ABANDON_SECONDS (and TZ as `timeZone`, the default zone). */
  settings: { serviceLevelSeconds: number; shortAbandonSeconds: number; timeZone?: string };
  /** Zone of `date` when the request names none (default: `settings.timeZone`, else `UTC`). */
  defaultTimeZone?: string;
  /**
   * The call-center event log: with it the reply adds `queues` and `agents`, the day's KPIs per
   * queue and per agent derived from the log (docs/interface.md §7).
   */
  events?: Pick<EventLog, 'read'>;
  /** The queues of the call-center file: each gets a `queues` entry, zeros on a quiet day. */
  queueNames?: () => readonly string[];
  now?: () => number;
}

const Seconds = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]);
const Outbound = Type.Object({
  placed: Type.Integer(),
  answered: Type.Integer(),
  talkSeconds: Type.Integer(),
});

const Ratio = Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]);
const Count = Type.Integer({ minimum: 0 });

/** One queue's KPIs of the day, from the event log (`QueueDayStats`). */
export const QueueDayStatsSchema = Type.Object({
  queue: Type.String(),
  offered: Count,
  answered: Count,
  answeredWithinServiceLevel: Count,
  abandoned: Count,
  shortAbandoned: Count,
  timedOut: Count,
  closed: Count,
  voicemails: Count,
  closedOnArrival: Count,
  callbacks: Type.Object({ requested: Count, connected: Count, failed: Count }),
  noAnswers: Count,
  serviceLevel: Ratio,
  averageSpeedOfAnswer: Seconds,
  averageTalkTime: Seconds,
  averageHandleTime: Seconds,
  longestWait: Count,
});

/** One agent's KPIs of the day, from the event log (`AgentDayStats`). */
export const AgentDayStatsSchema = Type.Object({
  agent: Type.String(),
  offered: Count,
  answered: Count,
  callbacks: Count,
  noAnswers: Count,
  talkSeconds: Count,
  wrapUpSeconds: Count,
  averageHandleTime: Seconds,
  loggedInSeconds: Count,
  busySeconds: Count,
  occupancy: Ratio,
});

/** The reply of `GET /api/stats`; `DayStats` must fit it (the type provider checks the handler). */
export const DayStatsSchema = Type.Object({
  date: Type.String(),
  timeZone: Type.String(),
  from: Type.String(),
  to: Type.String(),
  serviceLevelSeconds: Type.Integer(),
  shortAbandonSeconds: Type.Integer(),
  offered: Type.Integer(),
  answered: Type.Integer(),
  missed: Type.Integer(),
  abandoned: Type.Integer(),
  shortAbandoned: Type.Integer(),
  voicemails: Type.Integer(),
  /** Asked to be called back from the queue and hung up (docs/interface.md §7). */
  callbacks: Type.Integer(),
  failed: Type.Integer(),
  answeredWithinServiceLevel: Type.Integer(),
  serviceLevel: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]),
  averageSpeedOfAnswer: Seconds,
  averageHandleTime: Seconds,
  longestWait: Type.Integer(),
  hourly: Type.Array(Type.Integer()),
  busiestHour: Type.Union([Type.Object({ hour: Type.Integer(), offered: Type.Integer() }), Type.Null()]),
  outbound: Outbound,
  perAgent: Type.Array(
    Type.Object({
      agent: Type.String(),
      offered: Type.Integer(),
      answered: Type.Integer(),
      answeredWithinServiceLevel: Type.Integer(),
      averageSpeedOfAnswer: Seconds,
      averageHandleTime: Seconds,
      longestWait: Type.Integer(),
      talkSeconds: Type.Integer(),
      outbound: Outbound,
    }),
  ),
  /** Per queue and per agent, from the event log (present when the app keeps one). */
  queues: Type.Optional(Type.Array(QueueDayStatsSchema)),
  agents: Type.Optional(Type.Array(AgentDayStatsSchema)),
});

const Query = Type.Object({
  date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'local calendar day, YYYY-MM-DD' }),
  tz: Type.Optional(
    Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone; default: the TZ setting' }),
  ),
});

/**
 * `GET /stats?date=YYYY-MM-DD[&tz=Europe/Berlin]`: the KPIs of the calls that started that local
 * day (docs/interface.md §6). Registered by the app under `/api`, inside the scope that checks the
 * bearer token; this plugin checks nothing but its query. 400 on a date that does not exist or an
 * unknown zone, 503 when the records cannot be read.
 */
export const statsRoutes: FastifyPluginAsyncTypebox<StatsRoutesOptions> = async (app, opts) => {
  const defaultTimeZone = opts.defaultTimeZone ?? opts.settings.timeZone ?? 'UTC';
  const { serviceLevelSeconds, shortAbandonSeconds } = opts.settings;
  if (!isTimeZone(defaultTimeZone)) throw new Error(`unknown time zone ${defaultTimeZone}`);

  app.get(
    '/stats',
    { schema: { querystring: Query, response: { 200: DayStatsSchema } } },
    async (request) => {
      const { date } = request.query;
      const timeZone = request.query.tz ?? defaultTimeZone;
      if (!isCalendarDate(date))
        throw new Errors.BadParameter(`date ${date} is not a calendar day (YYYY-MM-DD)`);
      if (!isTimeZone(timeZone))
        throw new Errors.BadParameter('tz must be an IANA time zone such as Europe/Berlin');
      const { fromMs, toMs } = dayWindow(date, timeZone);
      let records: Awaited<ReturnType<StatsRoutesOptions['store']['range']>>;
      try {
        records = await opts.store.range(fromMs, toMs);
      } catch (err) {
        request.log.error({ err }, 'call records unreadable');
        throw new Errors.StatsUnavailable();
      }
      // One zone for the window read above and for the computation (hours, the day's bounds).
      const day = computeStats(records, { date, timeZone, serviceLevelSeconds, shortAbandonSeconds });
      if (!opts.events) return day;
      let events: Awaited<ReturnType<typeof eventsBetween>>;
      try {
        events = await eventsBetween(opts.events, fromMs, toMs);
      } catch (err) {
        request.log.error({ err }, 'event log unreadable');
        throw new Errors.StatsUnavailable();
      }
      const report = computeQueueStats(events, {
        date,
        timeZone,
        serviceLevelSeconds,
        shortAbandonSeconds,
        now: (opts.now ?? Date.now)(),
        ...(opts.queueNames ? { queues: opts.queueNames() } : {}),
      });
      return { ...day, queues: report.perQueue, agents: report.perAgent };
    },
  );
};

export default statsRoutes;
