import type { Agent } from '../agents/agent.js';
import type { TelnyxClient } from '../telnyx/client.js';

/**
 * The browser softphone's Telnyx identity (docs/interface.md §8, docs/telnyx.md). A WebRTC login
 * token (JWT) logs in as ONE telephony credential's SIP user, so each agent (a credential
 * connection, docs/telnyx.md §4.1) gets one on-demand telephony credential of its own, found by
 * its `resource_id` (`connection:<id>`) and name, or created once with `connection_id`
 * (spec: `GET/POST /v2/telephony_credentials`). The token itself comes from
 * `POST /v2/telephony_credentials/{id}/token`, whose 201 answer is the JWT as `text/plain`
 * (https://developers.telnyx.com/api/call-control/create-telephony-credential-token).
 * No SIP password ever reaches the browser.
 */

export const CREDENTIAL_NAME = 'switchboard-console';

export interface SoftphoneIdentity {
  agentId: string;
  credentialId: string;
  /** The credential's SIP user (`gencred…`): calls to `sip:<it>@sip.telnyx.com` ring the browser. */
  sipUsername: string;
}

export class SoftphoneUnavailable extends Error {}

export class SoftphoneCredentials {
  readonly #byAgent = new Map<string, SoftphoneIdentity>();
  readonly #pending = new Map<string, Promise<SoftphoneIdentity>>();

  constructor(private readonly client: TelnyxClient | undefined) {}

  /** The agent's credential, found or created once (concurrent callers share one lookup). */
  async identity(agent: Agent): Promise<SoftphoneIdentity> {
    if (!this.client) throw new SoftphoneUnavailable('the browser softphone needs TELNYX_API_KEY');
    if (agent.source !== 'telnyx')
      throw new SoftphoneUnavailable(
        `${agent.name} is a static agent (AGENTS): the browser softphone needs an agent synced from a Telnyx credential connection`,
      );
    const known = this.#byAgent.get(agent.id);
    if (known) return known;
    let p = this.#pending.get(agent.id);
    if (!p) {
      p = this.#findOrCreate(this.client, agent.id).finally(() => this.#pending.delete(agent.id));
      this.#pending.set(agent.id, p);
    }
    return p;
  }

  /** A fresh JWT for the agent's credential. */
  async token(agent: Agent): Promise<{ token: string; identity: SoftphoneIdentity }> {
    const identity = await this.identity(agent);
    const client = this.client as TelnyxClient;
    try {
      const token = await client.telephonyCredentials.createToken(identity.credentialId);
      return { token: String(token).trim(), identity };
    } catch (err) {
      // The credential was deleted in the portal: forget it so the next attempt creates one.
      if ((err as { status?: number }).status === 404) this.#byAgent.delete(agent.id);
      throw err;
    }
  }

  /** The agent whose softphone credential has this SIP user, if this process knows it. */
  agentBySipUsername(sipUsername: string): string | undefined {
    for (const i of this.#byAgent.values()) if (i.sipUsername === sipUsername) return i.agentId;
    return undefined;
  }

  async #findOrCreate(client: TelnyxClient, connectionId: string): Promise<SoftphoneIdentity> {
    const page = await client.telephonyCredentials.list({
      filter: { resource_id: `connection:${connectionId}`, name: CREDENTIAL_NAME },
      'page[number]': 1,
      'page[size]': 50,
    });
    const usable = page.data.find(
      (c) =>
        c.id &&
        c.sip_username &&
        c.expired !== true &&
        c.name === CREDENTIAL_NAME &&
        c.resource_id === `connection:${connectionId}`,
    );
    const cred =
      usable ??
      (await client.telephonyCredentials.create({ connection_id: connectionId, name: CREDENTIAL_NAME })).data;
    if (!cred?.id || !cred.sip_username)
      throw new Error('Telnyx answered a telephony credential without id or sip_username');
    const identity = { agentId: connectionId, credentialId: cred.id, sipUsername: cred.sip_username };
    this.#byAgent.set(connectionId, identity);
    return identity;
  }
}
