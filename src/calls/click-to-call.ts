import type { Roster } from '../agents/agent.js';
import { describeTelnyxError, type TelnyxClient } from '../telnyx/client.js';
import type { CallFlow } from './call-flow.js';

export class ClickToCallError extends Error {
  constructor(
    readonly kind: 'not-configured' | 'unknown-agent' | 'telnyx' | 'not-stored',
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
  now?: () => number;
}

/**
 * Click-to-call: Telnyx first rings the agent's SIP phone with the hotline as caller; when the
 * agent answers it fetches /texml/outbound, which dials the customer bound here to the call.
 * Uses the connection-scoped TeXML call API (docs/telnyx.md §4.6), which needs no account
 * sid; its status events go to the TeXML application's status callback.
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

  /** Places the call and records it; resolves to Telnyx's call sid. */
  async start(input: {
    agent: string;
    to: string;
    base: string;
  }): Promise<{ callSid: string; agent: string }> {
    const missing = this.missingSettings();
    if (missing) throw new ClickToCallError('not-configured', missing);
    const wanted = input.agent.trim().toLowerCase();
    const agent = this.o.roster
      .current()
      .agents.find((a) => a.name.toLowerCase() === wanted || a.id === input.agent);
    if (!agent) throw new ClickToCallError('unknown-agent', `no agent named "${input.agent}" in the roster`);

    let callSid: string | undefined;
    try {
      const res = await this.o.telnyx!.texml.calls.create(this.o.connectionId!, {
        From: this.o.hotlineNumber!,
        To: agent.sip,
        Url: `${input.base}/texml/outbound`,
        Method: 'POST',
      });
      callSid =
        (res as { call_sid?: string }).call_sid ?? (res as { data?: { call_sid?: string } }).data?.call_sid;
    } catch (err) {
      throw new ClickToCallError('telnyx', describeTelnyxError(err));
    }
    if (!callSid) throw new ClickToCallError('telnyx', 'Telnyx accepted the call but returned no call_sid');

    try {
      await this.o.flow.outboundCreated({
        kind: 'outbound-created',
        sid: callSid,
        from: this.o.hotlineNumber!,
        agent: { id: agent.id, name: agent.name, sip: agent.sip },
        customer: input.to,
        at: (this.o.now ?? Date.now)(),
      });
    } catch (err) {
      // The agent's phone rings but /texml/outbound will find nothing and hang up.
      throw new ClickToCallError(
        'not-stored',
        `call ${callSid} placed but not stored: ${(err as Error).message}`,
      );
    }
    return { callSid, agent: agent.name };
  }
}
