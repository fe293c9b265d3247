import { afterEach, describe, expect, it } from 'vitest';
import { playInbound } from '../../src/simulator/scenarios.js';
import { TelnyxPlayer } from '../../src/simulator/telnyx-player.js';
import { serverError } from '../fakes/slack-server.js';
import { eventually, startServer, type TestServer } from '../helper.js';
import { uniquePrefix } from '../setup/redis.js';
import { useFakeSlack } from '../support/fake-slack.js';

/** Slack alerts: exactly once across replicas, never lost across outages and restarts (docs/interface.md §4). */
describe('Slack alerts across replicas', () => {
  const servers: TestServer[] = [];
  const slack = useFakeSlack();
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const start = async (keyPrefix: string) => {
    const s = await startServer({ keyPrefix, env: { SLACK_WEBHOOK_URL: slack.url } });
    servers.push(s);
    return s;
  };

  it('two instances receiving alternating, duplicated callbacks send each message once', async () => {
    const prefix = uniquePrefix();
    const [a, b] = [await start(prefix), await start(prefix)];
    const player = new TelnyxPlayer({ baseUrl: a.url, replicas: [a.url, b.url] });
    await playInbound(player, { answerInRound: 1, answerAfter: 7, talkSeconds: 33, chaos: true });
    await playInbound(player, { voicemailSeconds: 12, chaos: true });
    await playInbound(player, { hangUpAfter: 4, chaos: true });
    // incoming+answered+completed, incoming+voicemail, incoming+missed
    await slack.waitForAccepted(7);
    await new Promise((r) => setTimeout(r, 300));
    const messages = slack.accepted().map((m) => JSON.stringify(m));
    expect(messages).toHaveLength(7);
    expect(new Set(messages).size).toBe(7);
  });

  it('a message queued while Slack fails survives a restart of the server and is delivered after', async () => {
    slack.setFallback(serverError());
    const prefix = uniquePrefix();
    const first = await start(prefix);
    const call = await playInbound(first.player, { hangUpAfter: 6 });
    await slack.waitForRequests(2); // it tried, and Slack said 500
    expect(slack.accepted(), JSON.stringify(slack.requests.map((r) => [r.status, r.response]))).toHaveLength(
      0,
    );
    await first.close();
    servers.splice(servers.indexOf(first), 1);

    slack.setFallback({ status: 200, body: 'ok' });
    const second = await start(prefix);
    await slack.waitForAccepted(2, 10_000);
    const texts = slack.accepted().map((m) => m.text);
    expect(texts[0]).toMatch(/^📞 Incoming call/);
    expect(texts[1]).toMatch(/^📵 Abandoned call .* hung up after 6s waiting/u);
    await eventually(async () => expect(await second.app.services.outbox.depth()).toBe(0));
    expect(call.callSid).toBeTruthy();
  });

  it('a dead Slack does not change what the caller hears', async () => {
    const s = await startServer({ env: { SLACK_WEBHOOK_URL: 'http://127.0.0.1:1/services/T/B/X' } });
    servers.push(s);
    const started = performance.now();
    const r = await playInbound(s.player, { voicemailSeconds: 10 });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(r.replies[0]?.dial?.targets).toHaveLength(3);
    expect(r.replies.at(-1)?.hangup).toBe(true);
  });
});
