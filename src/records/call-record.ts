/**
 * The call record: one row per finished call, written once (see `CallRecordStore`), read by the
 * KPIs (`src/stats/`), Prometheus (`src/metrics/`) and PostgreSQL (`PgRecordWriter`). It is a
 * flat, self-contained summary of a `CallState`, so it can outlive the state (which expires after
 * `CALL_TTL_SECONDS`) and be read by tools that know nothing of the state machine.
 */

import { talkSeconds, waitSeconds } from '../calls/call-outcome.js';
import type { CallOutcome, CallState } from '../calls/call-types.js';

export const CALL_OUTCOMES: readonly CallOutcome[] = [
  'answered',
  'missed',
  'abandoned',
  'voicemail',
  'failed',
  'callback',
];
export const CALL_DIRECTIONS = ['inbound', 'outbound'] as const;
export type CallDirection = (typeof CALL_DIRECTIONS)[number];

export interface CallRecord {
  /** The caller's CallSid (inbound) or the CallSid of the click-to-call (outbound). */
  sid: string;
  direction: CallDirection;
  /** Who called: the caller's number (inbound), the hotline number shown to the customer (outbound). */
  caller: string;
  /** Who was called: the hotline number dialled (inbound), the customer's number (outbound). */
  callee: string;
  /** Name of the agent who answered (inbound) or placed the call (outbound); absent if nobody answered. */
  agent?: string;
  agentId?: string;
  /** Names of the agents rung for an inbound call, first rung first (empty for outbound). */
  rung: string[];
  /** ISO times. `startedAt` is when Telnyx started the call: the start of the caller's wait. */
  startedAt: string;
  answeredAt?: string;
  endedAt: string;
  /** Whole seconds from start to answer, to voicemail, or to hang-up; 0 for outbound calls. */
  waitSeconds: number;
  /** Whole seconds from answer until the first of the two parties hung up; 0 if not answered. */
  talkSeconds: number;
  outcome: CallOutcome;
  /** `<Dial>` rounds played (inbound); 0 for outbound calls. */
  ringRounds: number;
  /** The voicemail recording, when one was left. */
  recordingUrl?: string;
  /** The queue of an inbound call (docs/interface.md §7, §9): the menu's choice or the default queue. */
  queue?: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The record of a finished call. Pure: the same state always gives the same record, so duplicate
 * `finished` effects on two replicas produce identical records and either may be the one kept.
 */
export function recordFromState(state: CallState): CallRecord {
  const answeringLeg = state.answeredLeg ? state.legs[state.answeredLeg] : undefined;
  const inbound = state.direction === 'inbound';
  const agent = inbound
    ? state.answeredAt !== undefined
      ? { name: answeringLeg?.agentName, id: answeringLeg?.agentId }
      : undefined
    : { name: state.agent?.name, id: state.agent?.id };
  const rung = inbound ? state.rung.map((id) => state.rungAgents.find((a) => a.id === id)?.name ?? id) : [];
  const record: CallRecord = {
    sid: state.sid,
    direction: state.direction,
    caller: state.from,
    callee: inbound ? state.to : (state.customer ?? answeringLeg?.to ?? ''),
    rung,
    startedAt: iso(state.startedAt),
    endedAt: iso(state.endedAt ?? state.updatedAt),
    waitSeconds: waitSeconds(state),
    talkSeconds: talkSeconds(state),
    outcome: state.outcome ?? (state.answeredAt !== undefined ? 'answered' : 'missed'),
    ringRounds: inbound ? state.attempts : 0,
  };
  if (agent?.name) record.agent = agent.name;
  if (agent?.id) record.agentId = agent.id;
  if (state.answeredAt !== undefined) record.answeredAt = iso(state.answeredAt);
  if (state.recordingUrl) record.recordingUrl = state.recordingUrl;
  if (inbound && state.queue) record.queue = state.queue;
  return record;
}

export const encodeRecord = (record: CallRecord): string => JSON.stringify(record);

const isIso = (v: unknown): v is string => typeof v === 'string' && Number.isFinite(Date.parse(v));
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const optional = (v: unknown, check: (v: unknown) => boolean) => v === undefined || check(v);

/**
 * Reads a stored record; undefined when the text is not a record this version understands (so a
 * reader can skip it instead of failing a whole day's KPIs on one bad entry).
 */
export function decodeRecord(raw: string): CallRecord | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object') return undefined;
  const ok =
    typeof v.sid === 'string' &&
    v.sid !== '' &&
    (CALL_DIRECTIONS as readonly unknown[]).includes(v.direction) &&
    typeof v.caller === 'string' &&
    typeof v.callee === 'string' &&
    optional(v.agent, (a) => typeof a === 'string') &&
    optional(v.agentId, (a) => typeof a === 'string') &&
    Array.isArray(v.rung) &&
    v.rung.every((n) => typeof n === 'string') &&
    isIso(v.startedAt) &&
    optional(v.answeredAt, isIso) &&
    isIso(v.endedAt) &&
    isCount(v.waitSeconds) &&
    isCount(v.talkSeconds) &&
    (CALL_OUTCOMES as readonly unknown[]).includes(v.outcome) &&
    isCount(v.ringRounds) &&
    optional(v.recordingUrl, (u) => typeof u === 'string') &&
    optional(v.queue, (q) => typeof q === 'string');
  return ok ? (v as unknown as CallRecord) : undefined;
}
