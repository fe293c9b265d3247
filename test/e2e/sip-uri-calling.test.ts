import { afterEach, describe, expect, it } from 'vitest';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { playInbound } from '../../src/simulator/scenarios.js';
import { TelnyxPlayer } from '../../src/simulator/telnyx-player.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';
import { eventually, startServer, type TestServer } from '../helper.js';
import { useFakeSlack } from '../support/fake-slack.js';
import { slackKind } from '../support/slack-kind.js';

const TOKEN = 'sip-uri-test-token-0123456789';

/**
 * Switchboard dials `sip:<user_name>@sip.telnyx.com`, which Telnyx refuses unless the agent's
 * credential connection has `sip_uri_calling_preference` `internal` or `unrestricted` (default
 * `disabled`, spec3.yml). Such agents are listed with the reason, never rung, and named in one
 * Slack warning; the fake Telnyx fails a leg to them as Telnyx would.
 */
describe('agents whose connection refuses SIP URI calls', () => {
  let server: TestServer | undefined;
  let telnyx: FakeTelnyxApi | undefined;
  const slack = useFakeSlack();
  afterEach(async () => {
    await server?.close();
    await telnyx?.close();
    server = telnyx = undefined;
  });

  const start = async (env: Record<string, string>) => {
    server = await startServer({
      env: {
        API_TOKEN: TOKEN,
        TELNYX_API_KEY: telnyx!.apiKey,
        TELNYX_API_BASE_URL: telnyx!.baseUrl,
        SLACK_WEBHOOK_URL: slack.url,
        PUBLIC_URL: 'https://sb.example.com',
        AGENT_CONNECTION_FILTER: 'agent',
        ...env,
      },
      deps: {
        telnyx: createTelnyxClient({ apiKey: telnyx!.apiKey, baseUrl: telnyx!.baseUrl, maxRetries: 0 }),
      },
    });
    return new TelnyxPlayer({ baseUrl: server.url, canDial: (uri) => telnyx!.acceptsSipUriCall(uri) });
  };
  const agents = async () =>
    (await (
      await fetch(`${server!.url}/api/agents`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as {
      online: number;
      agents: Array<{ name: string; online: boolean; unreachable?: string }>;
    };

  it('are listed with the reason, not rung, and named in one Slack warning', async () => {
    telnyx = await FakeTelnyxApi.start();
    telnyx.addConnection({
      connection_name: 'agent-ann',
      user_name: 'ann12345',
      registration: 'Registered',
      sip_uri_calling_preference: 'internal',
    });
    // Registered, but SIP URI calling left at Telnyx's default.
    telnyx.addConnection({ connection_name: 'agent-bob', user_name: 'bob12345', registration: 'Registered' });
    const p = await start({ AGENTS: '' });
    const report = await eventually(async () => {
      const r = await agents();
      expect(r.online).toBe(1);
      return r;
    });
    expect(report.agents).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'agent-ann', online: true }),
        expect.objectContaining({
          name: 'agent-bob',
          online: false,
          unreachable: 'sip-uri-calling-disabled',
        }),
      ]),
    );
    expect(report.agents.find((a) => a.name === 'agent-ann')).not.toHaveProperty('unreachable');

    const r = await playInbound(p, { answerInRound: 1, talkSeconds: 20 });
    expect(r.rounds).toEqual([['sip:ann12345@sip.telnyx.com']]);
    expect(p.failedDeliveries).toEqual([]);

    await eventually(async () => {
      const kinds = slack.accepted().map((m) => slackKind(m.text));
      expect(kinds.filter((k) => k === 'roster-unreachable')).toHaveLength(1);
    });
    const warning = slack.accepted().find((m) => slackKind(m.text) === 'roster-unreachable')!;
    expect(warning.text).toMatch(/agent-bob/);
    expect(warning.text).not.toMatch(/agent-ann/);
    expect(JSON.stringify(warning.blocks)).toMatch(/AGENT_SIP_URI_CALLING=enable/);
  });

  it('a leg to such a connection fails at the fake Telnyx, and the caller is not left ringing', async () => {
    telnyx = await FakeTelnyxApi.start();
    telnyx.addConnection({ connection_name: 'trunk-bob', user_name: 'bob12345' });
    // A static AGENTS entry is rung without any sync: Telnyx refuses the leg.
    const p = await start({ AGENTS: 'Bob=sip:bob12345@sip.telnyx.com', DIAL_ATTEMPTS: '2' });
    const r = await playInbound(p, { answerInRound: 1, voicemailSeconds: 6 });
    expect(r.rounds).toEqual([['sip:bob12345@sip.telnyx.com'], ['sip:bob12345@sip.telnyx.com']]);
    const state = (await server!.app.services.calls.get(r.callSid))!;
    expect(Object.values(state.legs).map((l) => l.status)).toEqual(['failed', 'failed']);
    expect(state.outcome).toBe('voicemail');
  });

  it('AGENT_SIP_URI_CALLING=enable fixes the connection, and the agent is rung', async () => {
    telnyx = await FakeTelnyxApi.start();
    const bob = telnyx.addConnection({
      connection_name: 'agent-bob',
      user_name: 'bob12345',
      registration: 'Registered',
    });
    const p = await start({ AGENTS: '', AGENT_SIP_URI_CALLING: 'enable' });
    await eventually(async () => expect((await agents()).online).toBe(1));
    expect(telnyx.requestsTo(`/v2/credential_connections/${bob}`, 'PATCH')).toHaveLength(1);
    const r = await playInbound(p, { answerInRound: 1, talkSeconds: 20 });
    expect(r.rounds).toEqual([['sip:bob12345@sip.telnyx.com']]);
    expect((await server!.app.services.calls.get(r.callSid))?.outcome).toBe('answered');
  });
});
