import { XMLValidator } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTelnyxApi } from '../../src/simulator/fake-telnyx-api.js';
import { type InboundScript, playInbound } from '../../src/simulator/scenarios.js';
import { newCallSid, readTexml } from '../../src/simulator/telnyx-player.js';
import { createTelnyxClient } from '../../src/telnyx/client.js';
import { hangUp, ok, rateLimited, serverError } from '../fakes/slack-server.js';
import { eventually, startServer, type TestServer } from '../helper.js';
import { useFakeSlack } from '../support/fake-slack.js';
import { slackEvents, slackKind } from '../support/slack-kind.js';

/**
 * The fault drills, end to end through the app with real local fakes (docs/interface.md §3, §4):
 * Slack down for a while, the Telnyx API failing. The outage lasts seconds here, not a minute:
 * what matters is that messages pile up while Slack fails and all of them arrive after, not how
 * long the pile took to build. (SIGTERM under load: test/e2e/sigterm.test.ts; Redis frozen or
 * killed mid-call: test/e2e/redis-down.test.ts.)
 */

const TOKEN = 'faults-test-token-0123456789';

/** What GET /api/agents answers (docs/interface.md §6), as far as these tests read it. */
interface AgentsReply {
  online: number;
  agents: Array<{ name: string; online: boolean }>;
  jobs: Array<{ job: string; consecutiveFailures: number }>;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fault drills', () => {
  let server: TestServer | undefined;
  let telnyx: FakeTelnyxApi | undefined;
  const slack = useFakeSlack();
  afterEach(async () => {
    await server?.close();
    await telnyx?.close();
    server = telnyx = undefined;
  });

  it('Slack down for a while (5xx, dropped connections, 429): the calls go on, and after it every message arrives once, in order per call', async () => {
    // Every kind of failure Slack (or the network) produces, then plain 500s until it recovers.
    slack.respond(serverError(), hangUp(), rateLimited('1'), hangUp(), { status: 503, body: 'unavailable' });
    slack.setFallback(serverError());
    server = await startServer({
      env: { SLACK_WEBHOOK_URL: slack.url, PUBLIC_URL: 'https://sb.example.com' },
    });

    const calls: Array<{ script: InboundScript; alerts: string[] }> = [
      {
        script: { answerInRound: 1, answerAfter: 5, talkSeconds: 31 },
        alerts: ['incoming', 'answered', 'completed'],
      },
      { script: { voicemailSeconds: 9 }, alerts: ['incoming', 'voicemail'] },
      { script: { hangUpAfter: 4 }, alerts: ['incoming', 'abandoned'] },
      {
        script: { answerInRound: 2, answerAfter: 3, talkSeconds: 12, chaos: true },
        alerts: ['incoming', 'answered', 'completed'],
      },
      { script: { voicemailSeconds: 0 }, alerts: ['incoming', 'missed'] },
      {
        script: { answerInRound: 1, answerAfter: 9, talkSeconds: 64 },
        alerts: ['incoming', 'answered', 'completed'],
      },
    ];
    const played: Array<{ callSid: string; alerts: string[] }> = [];
    for (const [i, call] of calls.entries()) {
      const r = await playInbound(server.player, { ...call.script, from: `+1312555020${i}` });
      // What the caller hears does not depend on Slack.
      expect(r.replies.every((p) => p.hangup || p.dial || p.record)).toBe(true);
      played.push({ callSid: r.callSid, alerts: call.alerts });
    }
    const total = played.reduce((n, p) => n + p.alerts.length, 0);
    // Slack is behind: once ten messages wait, a call's later alert replaces its unsent earlier
    // ones and carries them (src/alerts/outbox.ts), so fewer messages stand for the same events.
    const outbox = server.app.services.outbox;
    await eventually(async () => {
      const c = outbox.counters();
      const superseded = Object.values(c.superseded).reduce((x, y) => x + y, 0);
      expect(c.enqueued).toBe(total);
      expect(await outbox.depth()).toBe(total - superseded);
    });
    const messages = await outbox.depth();

    // The outage lasts until every call has been played and the worker has kept retrying through
    // it (how long that takes on a loaded machine does not matter); only then does Slack recover.
    await eventually(
      () => expect(slack.requests.length, 'the worker kept retrying').toBeGreaterThan(5),
      10_000,
    );
    expect(slack.accepted()).toHaveLength(0);
    slack.setFallback(ok());

    await slack.waitForAccepted(messages, 10_000);
    await sleep(200);
    const accepted = slack.accepted();
    expect(accepted).toHaveLength(messages);
    for (const p of played) {
      const mine = accepted.filter((m) => JSON.stringify(m.blocks).includes(p.callSid)).flatMap(slackEvents);
      expect(mine, p.callSid).toEqual(p.alerts);
    }
    expect(await server.app.services.outbox.depth()).toBe(0);
    expect(await server.app.services.outbox.deadLetters()).toEqual([]);
  });

  it('Telnyx API failing: the roster and presence are kept, calls ring the last roster, one alert per job, one recovery after', async () => {
    telnyx = await FakeTelnyxApi.start();
    telnyx.addConnection({
      connection_name: 'agent-alice',
      user_name: 'alice1234',
      sip_uri_calling_preference: 'internal',
      registration: 'Registered',
    });
    telnyx.addConnection({
      connection_name: 'agent-bob',
      user_name: 'bob12345',
      sip_uri_calling_preference: 'internal',
      registration: 'Registered',
    });
    telnyx.setBalance({ available_credit: '400.00' });
    server = await startServer({
      env: {
        AGENTS: '',
        API_TOKEN: TOKEN,
        SLACK_WEBHOOK_URL: slack.url,
        TELNYX_API_KEY: telnyx.apiKey,
        TELNYX_API_BASE_URL: telnyx.baseUrl,
        AGENT_CONNECTION_FILTER: 'agent',
        AGENT_SYNC_CRON: '* * * * * *',
        AGENT_PRESENCE_CRON: '* * * * * *',
        BALANCE_CHECK_CRON: '* * * * * *',
      },
      deps: {
        // No SDK retries: each run is one attempt, so a failing second is a failing run.
        telnyx: createTelnyxClient({
          apiKey: telnyx.apiKey,
          baseUrl: telnyx.baseUrl,
          maxRetries: 0,
          timeoutMs: 800,
        }),
        rosterRefreshMs: 100,
      },
    });
    const api = async (path: string, method = 'GET') => {
      const res = await fetch(`${server!.url}/api${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      return { status: res.status, body: (await res.json()) as AgentsReply };
    };
    const ringing = async () => {
      const p = server!.player;
      const sid = newCallSid();
      const res = await p.post('/texml/inbound', p.base(sid, '+13125550300', '+18005550199'));
      expect(res.status).toBe(200);
      expect(XMLValidator.validate(res.body)).toBe(true);
      // The caller hangs up: the agents offered the call are free for the next one (docs/interface.md §5).
      await p.post('/texml/status', {
        ...p.base(sid, '+13125550300', '+18005550199'),
        CallStatus: 'completed',
      });
      return readTexml(res.body).dial?.targets.map((t) => t.uri) ?? [];
    };
    const ALL = ['sip:alice1234@sip.telnyx.com', 'sip:bob12345@sip.telnyx.com'];
    // The first sync and presence check are done before the first call: a call between them finds
    // the agents synced but none signed in, and its `no-agent-signed-in` alert is not a fault's.
    await eventually(async () => expect((await api('/agents')).body.online).toBe(2));
    await eventually(async () => expect((await ringing()).sort()).toEqual(ALL));
    await slack.waitForAccepted(1);
    const texts = () => slack.accepted().map((m) => m.text);

    // The whole API fails: 500s, 503s and requests that never answer (client timeout).
    const failedBefore = telnyx.requests.filter((r) => (r.status ?? 0) >= 500).length;
    telnyx.failNext({ path: '/v2/credential_connections' }, 10_000, { kind: 'server-error', status: 503 });
    telnyx.failNext({ path: /check_registration_status$/ }, 10_000, { kind: 'hang' });
    telnyx.failNext({ path: '/v2/balance' }, 10_000, { kind: 'server-error' });
    const failedRuns = (path: string | RegExp) =>
      telnyx!.requestsTo(path).filter((r) => (r.status ?? 0) >= 500).length;
    await eventually(() => {
      expect(failedRuns('/v2/credential_connections')).toBeGreaterThanOrEqual(3);
      expect(failedRuns('/v2/balance')).toBeGreaterThanOrEqual(3);
    }, 8_000);
    expect(failedRuns(/.*/)).toBeGreaterThan(failedBefore);

    // Meanwhile: the last roster and its presence stay in use, the manual sync reports the outage.
    expect((await ringing()).sort()).toEqual(ALL);
    const manual = await api('/agents/sync', 'POST');
    expect(manual.status).toBe(502);
    const report = await api('/agents');
    expect(report.status).toBe(200);
    expect(report.body.online).toBe(2);
    expect(report.body.agents.map((a) => a.name).sort()).toEqual(['agent-alice', 'agent-bob']);
    const health = Object.fromEntries(report.body.jobs.map((j) => [j.job, j]));
    expect(health['agent-sync']?.consecutiveFailures).toBeGreaterThanOrEqual(3);
    expect(health['balance-check']?.consecutiveFailures).toBeGreaterThanOrEqual(3);
    await eventually(async () => {
      const { jobs } = (await api('/agents')).body;
      expect(jobs.find((j) => j.job === 'agent-presence')?.consecutiveFailures).toBeGreaterThanOrEqual(1);
    }, 5_000);

    await eventually(() => expect(texts().filter((t) => slackKind(t) === 'job-failing')).toHaveLength(3));

    // Telnyx is back: one recovery notice per job, still one failure notice each, same roster.
    telnyx.clearFaults();
    await eventually(
      () => expect(texts().filter((t) => slackKind(t) === 'job-recovered')).toHaveLength(3),
      8_000,
    );
    await sleep(1_200); // one more run of each job: nothing new to say
    const byKind = (k: string) =>
      texts()
        .filter((t) => slackKind(t) === k)
        .map((t) => /Job (\S+)/.exec(t)?.[1])
        .sort();
    expect(byKind('job-failing')).toEqual(['agent-presence', 'agent-sync', 'balance-check']);
    expect(byKind('job-recovered')).toEqual(['agent-presence', 'agent-sync', 'balance-check']);
    // (the test's own probe calls each add an incoming-call message, and an abandoned one as
    // their callers hang up while the agents ring)
    expect(
      texts()
        .map(slackKind)
        .filter((k) => k !== 'incoming' && k !== 'abandoned')
        .sort(),
    ).toEqual([
      'job-failing',
      'job-failing',
      'job-failing',
      'job-recovered',
      'job-recovered',
      'job-recovered',
      'roster-changed',
    ]);
    expect((await ringing()).sort()).toEqual(ALL);
  });
});
