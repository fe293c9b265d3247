import { randomUUID } from 'node:crypto';
import { type NumberType, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { AllowedDestination } from '../config.js';
import type { SlidingWindow } from '../limits/sliding-window.js';
import { PENDING, type SlotPool } from '../limits/slot-pool.js';

/**
 * Outbound calls cost money (docs/interface.md §10). Every path that places a call (click-to-call
 * today, queue callbacks later) asks this policy first:
 *
 * 1. the number: allowed destination (OUTBOUND_ALLOWED_PREFIXES), an ordinary-rate number type,
 *    not the hotline itself — refused with 422;
 * 2. the limits: OUTBOUND_MAX_PER_MINUTE per agent and OUTBOUND_MAX_CONCURRENT in all, shared by
 *    every replica through Redis when it is configured — refused with 429 and when to retry.
 *
 * Number types come from libphonenumber's metadata (https://github.com/google/libphonenumber),
 * never from a table of our own. Only these types are dialled; anything else — PREMIUM_RATE,
 * SHARED_COST, UAN, PERSONAL_NUMBER (e.g. UK 070, a known fraud range), VOIP (+882/+883 and
 * similar non-geographic ranges billed at international premium), PAGER, VOICEMAIL, and numbers
 * the metadata does not know — is refused.
 */
export const DIALLABLE_TYPES: readonly NumberType[] = [
  'FIXED_LINE',
  'MOBILE',
  'FIXED_LINE_OR_MOBILE',
  'TOLL_FREE',
];

export type RefusalCode = 'destination' | 'special-rate' | 'hotline' | 'invalid-number';
export type LimitCode = 'agent-rate' | 'concurrency';

export class OutboundRefused extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
    this.name = 'OutboundRefused';
  }
}

export class OutboundLimited extends Error {
  constructor(
    readonly code: LimitCode,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'OutboundLimited';
  }
}

const describeDestinations = (list: readonly AllowedDestination[]) =>
  list.length ? list.map((d) => ('prefix' in d ? d.prefix : d.country)).join(', ') : 'none';

/** The number checks alone (no state): throws `OutboundRefused`, or returns the number's type. */
export function checkDestination(
  to: string,
  o: { allowed: readonly AllowedDestination[]; hotlineNumber?: string },
): NumberType {
  const parsed = parsePhoneNumberFromString(to);
  if (!parsed || parsed.number !== to) {
    throw new OutboundRefused('invalid-number', `${to} is not an E.164 number`);
  }
  if (o.hotlineNumber && parsed.number === parsePhoneNumberFromString(o.hotlineNumber)?.number) {
    throw new OutboundRefused('hotline', 'the hotline cannot call itself');
  }
  const allowed = o.allowed.some((d) =>
    'prefix' in d ? parsed.number.startsWith(d.prefix) : parsed.country === d.country,
  );
  if (!allowed) {
    throw new OutboundRefused(
      'destination',
      `${to} is outside the allowed destinations (OUTBOUND_ALLOWED_PREFIXES: ${describeDestinations(o.allowed)})`,
    );
  }
  if (!parsed.isValid()) {
    throw new OutboundRefused('invalid-number', `${to} is not a valid number in its numbering plan`);
  }
  const type = parsed.getType();
  if (!type || !DIALLABLE_TYPES.includes(type)) {
    throw new OutboundRefused(
      'special-rate',
      `${to} is a ${type ? type.toLowerCase().replace(/_/g, '-') : 'unclassified'} number; only ordinary fixed, mobile and toll-free numbers are dialled`,
    );
  }
  return type;
}

export interface OutboundPolicyOptions {
  allowed: readonly AllowedDestination[];
  hotlineNumber?: string;
  /** OUTBOUND_MAX_PER_MINUTE, counted per agent. */
  perAgent: SlidingWindow;
  /** OUTBOUND_MAX_CONCURRENT, in all. */
  slots: SlotPool;
  /** How long a slot is held while Telnyx is asked (default 60 s). */
  pendingLeaseMs?: number;
  /** How long a bound slot is held at most (default 4 h 10 min: Telnyx's default call TimeLimit is 4 h). */
  callLeaseMs?: number;
}

/** A granted outbound call: bind it to the call sid once Telnyx returns one, or release it. */
export interface OutboundPermit {
  bind(sid: string): Promise<void>;
  release(): Promise<void>;
}

export class OutboundPolicy {
  constructor(private readonly o: OutboundPolicyOptions) {}

  /** Throws `OutboundRefused` (422) for a number that may not be dialled. */
  checkNumber(to: string): void {
    checkDestination(to, this.o);
  }

  /**
   * Checks the number, then takes one call from the agent's per-minute budget and one concurrent
   * slot. Throws `OutboundRefused`, `OutboundLimited`, or the store's error when the shared
   * counters cannot be reached — then no call may be placed.
   */
  async admit(input: { agentId: string; to: string }): Promise<OutboundPermit> {
    this.checkNumber(input.to);
    const rate = await this.o.perAgent.take(input.agentId);
    if (!rate.ok) {
      throw new OutboundLimited(
        'agent-rate',
        `this agent placed ${rate.count} calls in the last minute (OUTBOUND_MAX_PER_MINUTE)`,
        Math.ceil(rate.retryAfterMs / 1000),
      );
    }
    const id = `${PENDING}${randomUUID()}`;
    if (!(await this.o.slots.reserve(id, this.o.pendingLeaseMs ?? 60_000))) {
      throw new OutboundLimited(
        'concurrency',
        'too many outbound calls in progress (OUTBOUND_MAX_CONCURRENT)',
        10,
      );
    }
    const callLeaseMs = this.o.callLeaseMs ?? (4 * 60 + 10) * 60_000;
    return {
      bind: (sid) => this.o.slots.bind(id, sid, callLeaseMs),
      release: () => this.o.slots.release(id),
    };
  }
}
