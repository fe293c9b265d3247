import { afterEach, describe, expect, it } from 'vitest';
import { playInbound } from '../../src/simulator/scenarios.js';
import { eventually, startServer, type TestServer } from '../helper.js';

const TOKEN = 'test-token-0123456789abcdef';

/** Calls played through the app end as call records, KPIs and metrics (issue: call records and KPIs). */
describe('call records, /api/stats and /metrics through the app', () => {
  let server: TestServer;
  afterEach(async () => server?.close());

  it('turns scripted calls into exact KPIs and counters', async () => {
    server = await startServer({ env: { API_TOKEN: TOKEN } });
    const p = server.player;
    const answered = await playInbound(p, { answerInRound: 1, answerAfter: 12, talkSeconds: 95 });
    await playInbound(p, { voicemailSeconds: 20 });
    await playInbound(p, { hangUpAfter: 9 });
    await playInbound(p, { hangUpAfter: 3 }); // a short abandon
    const started = (await server.app.services.calls.get(answered.callSid))!.startedAt;
    const date = new Date(started).toISOString().slice(0, 10);

    const stats = await eventually(async () => {
      const res = await fetch(`${server.url}/api/stats?date=${date}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const body = (await res.json()) as Record<string, any>;
      expect(body.offered).toBe(4);
      return body;
    });
    expect(stats).toMatchObject({
      offered: 4,
      answered: 1,
      abandoned: 1,
      shortAbandoned: 1,
      voicemails: 1,
      averageSpeedOfAnswer: 12,
      averageHandleTime: 95,
      // answered within 20 s (1) over answered + abandoned (1 + 1)
      serviceLevel: 0.5,
    });
    expect(stats.perAgent).toContainEqual(
      expect.objectContaining({ agent: 'Alice', answered: 1, offered: 4 }),
    );

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(
      /switchboard_calls_total\{direction="inbound",outcome="answered",queue="support"\} 1/,
    );
    // The same words as /api/stats above: one abandoned, one short abandon.
    expect(metrics).toMatch(
      /switchboard_calls_total\{direction="inbound",outcome="abandoned",queue="support"\} 1/,
    );
    expect(metrics).toMatch(
      /switchboard_calls_total\{direction="inbound",outcome="short_abandoned",queue="support"\} 1/,
    );
    expect(metrics).toMatch(
      /switchboard_calls_total\{direction="inbound",outcome="voicemail",queue="support"\} 1/,
    );
    expect(metrics).toMatch(/switchboard_agents_online 3/);
    expect(metrics).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/texml\/inbound"/);
  });

  it('rejects a bad date with 400', async () => {
    server = await startServer({ env: { API_TOKEN: TOKEN } });
    const res = await fetch(`${server.url}/api/stats?date=2026-02-30`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(400);
  });
});
