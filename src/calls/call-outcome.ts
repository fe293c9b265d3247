/**
 * The outcome rules of a call: how long the caller waited and talked, and, once the call is over,
 * which outcome it had (answered, missed, abandoned, voicemail, failed, callback) and which closing
 * alert and record it owes. Pure functions of the state; `call-state.ts` runs them after every
 * transition.
 */

import type { Alert, CallbackAlertInfo } from '../alerts/alert.js';
import type { CallState, LegStatus, Transition } from './call-types.js';

export const seconds = (fromMs: number | undefined, toMs: number | undefined): number =>
  fromMs === undefined || toMs === undefined ? 0 : Math.max(0, Math.round((toMs - fromMs) / 1000));

export const iso = (ms: number): string => new Date(ms).toISOString();

/** Wait until the caller reached an agent or gave up. */
export const waitSeconds = (s: CallState): number =>
  s.direction === 'outbound' ? 0 : seconds(s.startedAt, s.answeredAt ?? s.voicemailAt ?? s.endedAt);

/**
 * Talk time of an answered call, from one clock only: the answering leg's own answered and ended
 * times (both Telnyx `Timestamp`s of that leg's callbacks), else Telnyx's `DialCallDuration`, else
 * the answer until the caller's own end (both Telnyx times).
 */
export const talkSeconds = (s: CallState): number => {
  if (s.answeredAt === undefined) return 0;
  const leg = s.answeredLeg ? s.legs[s.answeredLeg] : undefined;
  if (leg?.answeredAt !== undefined && leg.endedAt !== undefined) return seconds(leg.answeredAt, leg.endedAt);
  if (s.dialDuration !== undefined) return s.dialDuration;
  return s.endedAt !== undefined ? seconds(s.answeredAt, s.endedAt) : 0;
};

/** The id `alert:<type>` makes each alert once per call: the outbox drops a key it has seen. */
export function pushAlert(out: Transition, alert: Alert): void {
  out.effects.push({ id: `alert:${alert.type}`, kind: 'alert', alert });
}

/**
 * Once a call is over, fix its outcome and owe the closing alert and the call record. Runs after
 * every transition; it acts only on the transition that first makes the outcome known.
 */
export function settleOutcome(out: Transition): void {
  const s = out.state;
  if (s.outcome) return;
  const at = s.endedAt ?? s.updatedAt;

  if (s.direction === 'outbound') {
    if (s.endedAt === undefined) return;
    s.outcome = s.answeredAt !== undefined ? 'answered' : isFailure(s.status) ? 'failed' : 'missed';
    pushAlert(out, {
      type: 'outbound-completed',
      callSid: s.sid,
      agent: s.agent?.name ?? '',
      to: s.customer ?? '',
      answered: s.answeredAt !== undefined,
      talkSeconds: talkSeconds(s),
      ...asCallback(s),
      at: iso(at),
    });
    s.finalizeAt = undefined;
    out.effects.push({ id: 'finished', kind: 'finished' });
    return;
  }

  if (s.endedAt === undefined) return;
  if (s.answeredAt !== undefined) {
    s.outcome = 'answered';
    const leg = s.answeredLeg ? s.legs[s.answeredLeg] : undefined;
    pushAlert(out, {
      type: 'completed',
      callSid: s.sid,
      from: s.from,
      agent: leg?.agentName ?? 'unknown agent',
      talkSeconds: talkSeconds(s),
      waitSeconds: waitSeconds(s),
      ...inQueue(s),
      at: iso(at),
    });
  } else if (s.callbackRequestedAt !== undefined && s.voicemailAt === undefined) {
    // Hung up after asking to be called back: the queue owes the callback, nobody missed a call.
    s.outcome = 'callback';
  } else if (s.recordingUrl) {
    s.outcome = 'voicemail';
  } else if (s.voicemailAt !== undefined) {
    // Hung up in the voicemail flow: wait for the recording report (or its grace time).
    if (!out.decide) return;
    s.outcome = 'missed';
    pushMissed(out, s.voicemailReason ?? 'no-answer', at);
  } else if (isFailure(s.status) && s.attempts === 0) {
    s.outcome = 'failed';
  } else {
    s.outcome = 'abandoned';
    pushMissed(out, 'caller-hung-up', at);
  }
  s.finalizeAt = undefined;
  out.effects.push({ id: 'finished', kind: 'finished' });
  out.timeline.push({ at, type: 'outcome', detail: { outcome: s.outcome } });
}

export function pushMissed(
  out: Transition,
  reason: 'caller-hung-up' | 'no-answer' | 'no-agents' | 'closed',
  at: number,
): void {
  const s = out.state;
  pushAlert(out, {
    type: 'missed',
    callSid: s.sid,
    from: s.from,
    waitSeconds: waitSeconds(s),
    reason,
    ...inQueue(s),
    ...(reason === 'closed' && s.closed ? { closed: { ...s.closed } } : {}),
    at: iso(at),
  });
}

/** An outbound call's queue callback for its alerts (docs/interface.md §4), when it places one. */
export const asCallback = (s: CallState): { callback?: CallbackAlertInfo } =>
  s.callback
    ? {
        callback: {
          callSid: s.callback.callSid,
          queue: s.callback.queue,
          attempt: s.callback.attempt,
          ...(s.callback.attempts !== undefined ? { attempts: s.callback.attempts } : {}),
        },
      }
    : {};

/** The call's queue for its alerts (docs/interface.md §4), when it has one. */
export const inQueue = (s: CallState): { queue?: string } =>
  s.queue !== undefined ? { queue: s.queue } : {};

export const isFailure = (status: LegStatus): boolean => status === 'failed' || status === 'busy';
