import { Type } from 'typebox';

/** Shapes shared by the admin API's routes (and its OpenAPI document). */

export const ErrorReply = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String(),
    error: Type.String(),
    message: Type.String(),
  },
  { $id: 'ErrorReply' },
);

const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const CallSummary = Type.Object({
  sid: Type.String(),
  direction: Type.Union([Type.Literal('inbound'), Type.Literal('outbound')]),
  from: Type.String(),
  to: Type.String(),
  customer: Type.Union([Type.String(), Type.Null()]),
  status: Type.String(),
  phase: Type.String(),
  outcome: Type.Union([Type.String(), Type.Null()]),
  agent: Type.Union([Type.String(), Type.Null()]),
  attempts: Type.Integer(),
  startedAt: Type.String({ format: 'date-time' }),
  answeredAt: Time,
  endedAt: Time,
  waitSeconds: Type.Integer(),
  talkSeconds: Type.Integer(),
  recordingUrl: Type.Union([Type.String(), Type.Null()]),
  /** The call's queue (the menu's choice or the default queue); null for outbound calls. */
  queue: Type.Union([Type.String(), Type.Null()]),
});

export const TimelineItem = Type.Object({
  at: Type.String({ format: 'date-time' }),
  type: Type.String(),
  leg: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])),
});

export const Leg = Type.Object({
  sid: Type.String(),
  to: Type.String(),
  agent: Type.Union([Type.String(), Type.Null()]),
  status: Type.String(),
  answeredAt: Time,
  endedAt: Time,
});
