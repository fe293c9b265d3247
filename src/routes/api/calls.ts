import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { talkSeconds, waitSeconds } from '../../calls/call-outcome.js';
import type { CallStore } from '../../calls/call-store.js';
import type { CallState } from '../../calls/call-types.js';
import { type ClickToCall, ClickToCallError } from '../../calls/click-to-call.js';
import { OutboundLimited, OutboundRefused } from '../../calls/outbound-policy.js';
import { Errors } from '../../errors.js';
import { CallSummary, Leg, TimelineItem } from './schemas.js';

export interface CallRoutesOptions {
  calls: CallStore;
  clickToCall: ClickToCall;
  publicUrl?: string;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** A call as the API shows it: numbers in full (the API is behind the token). */
export function callSummary(s: CallState) {
  const answered = s.answeredLeg ? s.legs[s.answeredLeg] : undefined;
  return {
    sid: s.sid,
    direction: s.direction,
    from: s.from,
    to: s.to,
    customer: s.customer ?? null,
    status: s.status,
    phase: s.phase,
    outcome: s.outcome ?? null,
    agent: s.direction === 'outbound' ? (s.agent?.name ?? null) : (answered?.agentName ?? null),
    attempts: s.attempts,
    startedAt: new Date(s.startedAt).toISOString(),
    answeredAt: iso(s.answeredAt),
    endedAt: iso(s.endedAt),
    waitSeconds: waitSeconds(s),
    talkSeconds: talkSeconds(s),
    recordingUrl: s.recordingUrl ?? null,
    queue: s.queue ?? null,
  };
}

const E164 = '^\\+[1-9]\\d{6,14}$';

export default async function callRoutes(app: FastifyInstance, opts: CallRoutesOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/calls',
    {
      schema: {
        tags: ['calls'],
        summary: 'Calls in progress (inbound and outbound)',
        querystring: Type.Object({
          status: Type.Optional(Type.Literal('active', { default: 'active' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })),
        }),
        response: { 200: Type.Object({ calls: Type.Array(CallSummary) }), 503: Type.Ref('ErrorReply') },
      },
    },
    async (req) => {
      let active: CallState[];
      try {
        active = await opts.calls.active(req.query.limit ?? 200);
      } catch (err) {
        // Logged by the error handler: once per outage when Redis is down, with the cause otherwise.
        throw Object.assign(new Errors.StoreUnavailable('call state is unreachable; try again'), {
          cause: err,
        });
      }
      return { calls: active.map(callSummary) };
    },
  );

  api.get(
    '/calls/:callSid',
    {
      schema: {
        tags: ['calls'],
        summary: "One call's state and timeline",
        params: Type.Object({ callSid: Type.String({ minLength: 1, maxLength: 128 }) }),
        response: {
          200: Type.Object({
            call: CallSummary,
            legs: Type.Array(Leg),
            timeline: Type.Array(TimelineItem),
          }),
          404: Type.Ref('ErrorReply'),
          503: Type.Ref('ErrorReply'),
        },
      },
    },
    async (req) => {
      let state: CallState | null;
      let timeline: Awaited<ReturnType<CallStore['timeline']>>;
      try {
        state = await opts.calls.get(req.params.callSid);
        timeline = state ? await opts.calls.timeline(req.params.callSid) : [];
      } catch (err) {
        // Logged by the error handler: once per outage when Redis is down, with the cause otherwise.
        throw Object.assign(new Errors.StoreUnavailable('call state is unreachable; try again'), {
          cause: err,
        });
      }
      if (!state) throw new Errors.NotFound(`no call ${req.params.callSid}`);
      return {
        call: callSummary(state),
        legs: Object.values(state.legs).map((l) => ({
          sid: l.sid,
          to: l.to,
          agent: l.agentName ?? null,
          status: l.status,
          answeredAt: iso(l.answeredAt),
          endedAt: iso(l.endedAt),
        })),
        timeline: timeline.map((t) => ({
          at: new Date(t.at).toISOString(),
          type: t.type,
          leg: t.leg ?? null,
          detail: t.detail ?? {},
        })),
      };
    },
  );

  api.post(
    '/calls',
    {
      schema: {
        tags: ['calls'],
        summary: 'Click-to-call: ring the agent, then dial the customer from the hotline number',
        body: Type.Object(
          {
            agent: Type.String({ minLength: 1, maxLength: 128, description: 'agent name from the roster' }),
            to: Type.String({ pattern: E164, description: 'customer number, E.164' }),
          },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({ callSid: Type.String(), agent: Type.String(), to: Type.String() }),
          404: Type.Ref('ErrorReply'),
          422: Type.Ref('ErrorReply'),
          429: Type.Ref('ErrorReply'),
          500: Type.Ref('ErrorReply'),
          502: Type.Ref('ErrorReply'),
          503: Type.Ref('ErrorReply'),
        },
      },
    },
    async (req, reply) => {
      const base = opts.publicUrl ?? `${req.protocol}://${req.host}`;
      try {
        const res = await opts.clickToCall.start({ agent: req.body.agent, to: req.body.to, base });
        return reply.code(202).send({ callSid: res.callSid, agent: res.agent, to: req.body.to });
      } catch (err) {
        if (err instanceof OutboundRefused) {
          req.log.warn({ agent: req.body.agent, to: req.body.to, code: err.code }, 'outbound number refused');
          if (err.code === 'destination') throw new Errors.OutboundDestination(err.message);
          if (err.code === 'special-rate') throw new Errors.OutboundSpecialRate(err.message);
          if (err.code === 'hotline') throw new Errors.OutboundHotline(err.message);
          throw new Errors.OutboundInvalidNumber(err.message);
        }
        if (err instanceof OutboundLimited) {
          req.log.warn({ agent: req.body.agent, code: err.code }, 'outbound call limited');
          reply.header('retry-after', String(err.retryAfterSeconds));
          if (err.code === 'agent-rate') throw new Errors.OutboundRateLimited(err.message);
          throw new Errors.OutboundConcurrency(err.message);
        }
        if (!(err instanceof ClickToCallError)) throw err;
        if (err.kind === 'unknown-agent') throw new Errors.NotFound(err.message);
        if (err.kind === 'telnyx') throw new Errors.Upstream(err.message);
        if (err.kind === 'not-configured') throw new Errors.NotConfigured(err.message);
        if (err.kind === 'not-recorded') throw new Errors.CallNotRecorded(err.message);
        throw new Errors.StoreUnavailable('call state is unreachable; nothing was placed — retry later');
      }
    },
  );
}
