import type { Roster } from '../agents/agent.js';
import { describeTelnyxError, type TelnyxClient } from '../telnyx/client.js';
import type { CallFlow } from './call-flow.js';
import type { CallbackRef } from './call-types.js';
import {
  OutboundLimited,
  type OutboundPermit,
  type OutboundPolicy,
  OutboundRefused,
} from './outbound-policy.js';

export class ClickToCallError extends Error {
  constructor(
    readonly kind: 'not-configured' | 'unknown-agent' | 'telnyx' | 'not-stored' | 'not-recorded',
    message: string,
  ) {
    super(message);
    this.name = 'ClickToCallError';
  }
}

export interface ClickToCallOptions {
  telnyx?: TelnyxClient;
  connectionId?: string;
  hotlineNumber?: string;
  roster: Roster;
  flow: CallFlow;
  /** Which numbers may be dialled and how many calls at once (docs/interface.md §10). */
  policy: OutboundPolicy;
  now?: () => number;
  log?: { error(obj: object, msg: string): void };
  /** How long storing an accepted call is retried before giving up (default 3 s). */
  bindRetryMs?: number;
}

/**
 * Click-to-call: Telnyx first rings the agent's SIP phone with the hotline as caller; when the
 * agent answers it fetches /texml/outbound, which dials the customer bound here to the call.
 * Uses the connection-scoped TeXML call API (docs/telnyx.md §4.6), which needs no account sid; its
 * status events go to the TeXML application's status callback.
 *
 * Store first, ask Telnyx once (docs/interface.md §10): the outbound policy writes the call's
 * slot and the agent's count to the store before Telnyx is asked, so with the store down nothing
 * rings. Telnyx documents no idempotency key for call creation, so the create is never retried
 * (the SDK would otherwise retry a timed-out create, and a create Telnyx did accept rings again).
 */
export class ClickToCall {
  constructor(private readonly o: ClickToCallOptions) {}

  /** What is missing for click-to-call, or null when it can work. */
  missingSettings(): string | null {
    const missing = [
      !this.o.telnyx && 'TELNYX_API_KEY',
      !this.o.connectionId && 'TELNYX_CONNECTION_ID',
      !this.o.hotlineNumber && 'HOTLINE_NUMBER',
    ].filter(Boolean);
    return missing.length ? `click-to-call needs ${missing.join(', ')}` : null;
  }

  /**
   * Places the call and records it; resolves to Telnyx's call sid. Throws `ClickToCallError`,
   * or the policy's `OutboundRefused` (422) / `OutboundLimited` (429).
   */
  async start(input: {
    agent: string;
    to: string;
    base: string;
    /** A queue callback (src/calls/callback-dialer.ts): kept with the call's state. */
    callback?: CallbackRef;
  }): Promise<{ callSid: string; agent: string }> {
    const missing = this.missingSettings();
    if (missing) throw new ClickToCallError('not-configured', missing);
    const wanted = input.agent.trim().toLowerCase();
    const agent = this.o.roster
      .current()
      .agents.find((a) => a.name.toLowerCase() === wanted || a.id === input.agent);
    if (!agent) throw new ClickToCallError('unknown-agent', `no agent named "${input.agent}" in the roster`);

    // Number checks first (no state), then the shared counters: a store that is down refuses here.
    let permit: OutboundPermit;
    try {
      permit = await this.o.policy.admit({ agentId: agent.id, to: input.to });
    } catch (err) {
      if (err instanceof OutboundRefused || err instanceof OutboundLimited) throw err;
      throw new ClickToCallError(
        'not-stored',
        `call not placed: store unavailable: ${(err as Error).message}`,
      );
    }

    let callSid: string | undefined;
    try {
      const res = await this.o.telnyx!.texml.calls.create(
        this.o.connectionId!,
        {
          From: this.o.hotlineNumber!,
          To: agent.sip,
          Url: `${input.base}/texml/outbound`,
          Method: 'POST',
        },
        // Exactly one request per click: a retry after a timeout could place a second call.
        { maxRetries: 0 },
      );
      callSid =
        (res as { call_sid?: string }).call_sid ?? (res as { data?: { call_sid?: string } }).data?.call_sid;
    } catch (err) {
      await permit.release().catch(() => undefined);
      throw new ClickToCallError('telnyx', describeTelnyxError(err));
    }
    if (!callSid) {
      await permit.release().catch(() => undefined);
      throw new ClickToCallError('telnyx', 'Telnyx accepted the call but returned no call_sid');
    }

    // The store answered a moment ago; a blip now is retried while the agent's phone rings
    // (the agent must answer before /texml/outbound needs the state).
    const event = {
      kind: 'outbound-created' as const,
      sid: callSid,
      from: this.o.hotlineNumber!,
      agent: { id: agent.id, name: agent.name, sip: agent.sip },
      customer: input.to,
      ...(input.callback ? { callback: input.callback } : {}),
      // Our clock, not Telnyx's: marked local, so callbacks without a Timestamp are not pinned to
      // it (every duration of the call would be 0) and the first Telnyx time re-anchors the start.
      ...placedAt((this.o.now ?? Date.now)()),
    };
    const deadline = Date.now() + (this.o.bindRetryMs ?? 3_000);
    for (let wait = 100; ; wait = Math.min(wait * 2, 1_000)) {
      try {
        await this.o.flow.outboundCreated(event);
        break;
      } catch (err) {
        if (Date.now() + wait > deadline) {
          this.o.log?.error(
            { err, callSid, agent: agent.name },
            'click-to-call placed but not stored: the agent will hear the call end when answering',
          );
          throw new ClickToCallError(
            'not-recorded',
            `call ${callSid} was placed but could not be stored; the agent's phone rings and hangs up when answered. Do not retry at once.`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
    await permit.bind(callSid).catch(() => undefined);
    return { callSid, agent: agent.name };
  }
}

const placedAt = (at: number) => ({ at, local: true as const, receivedAt: at });
