import { afterEach, describe, expect, it } from 'vitest';
import { talkSeconds, waitSeconds } from '../../src/calls/call-outcome.js';
import { playInbound } from '../../src/simulator/scenarios.js';
import { eventually, startServer, type TestServer } from '../helper.js';
import { createTestSchema, type TestSchema } from '../records/pg-test-db.js';
import { useFakeSlack } from '../support/fake-slack.js';
import { slackKind } from '../support/slack-kind.js';

const TOKEN = 'test-token-0123456789abcdef';
const MINUTES = 60_000;

/**
 * Wait and talk times never mix Telnyx's clock with the server's: a whole call whose Telnyx
 * `Timestamp`s are minutes away from the server clock still reports the scripted 12 s wait and
 * 95 s talk everywhere — call state, Slack, /api/calls/:sid, /api/stats and PostgreSQL.
 */
describe('Telnyx clock far from the server clock', () => {
  let server: TestServer | undefined;
  let db: TestSchema | undefined;
  const slack = useFakeSlack();
  afterEach(async () => {
    await server?.close();
    await db?.drop();
    server = db = undefined;
  });

  it.each([
    ['10 minutes ahead, actions without Timestamp', 10 * MINUTES, true],
    ['10 minutes behind, actions without Timestamp', -10 * MINUTES, true],
    ['10 minutes ahead, every request with Timestamp', 10 * MINUTES, false],
  ])('%s: wait 12 s and talk 95 s everywhere', async (_label, skewMs, omitActionTimestamps) => {
    db = await createTestSchema();
    server = await startServer({
      env: { API_TOKEN: TOKEN, DATABASE_URL: db.url, SLACK_WEBHOOK_URL: slack.url },
    });
    const p = server.player;
    p.clock.ms = Date.now() + skewMs;
    const r = await playInbound(p, {
      answerInRound: 1,
      answerAfter: 12,
      talkSeconds: 95,
      omitActionTimestamps,
    });
    expect(p.failedDeliveries).toEqual([]);

    const state = (await server.app.services.calls.get(r.callSid))!;
    expect(state.outcome).toBe('answered');
    expect({ wait: waitSeconds(state), talk: talkSeconds(state) }).toEqual({ wait: 12, talk: 95 });

    await slack.waitForAccepted(3);
    const texts = slack.accepted().map((m) => m.text);
    expect(texts.map(slackKind)).toEqual(['incoming', 'answered', 'completed']);
    expect(texts[1]).toMatch(/after 12s/);
    expect(texts[2]).toMatch(/1m 35s call/);

    const api = async (path: string) =>
      (await (
        await fetch(`${server!.url}/api${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })
      ).json()) as Record<string, Record<string, unknown> & { answered?: number }>;
    const one = await api(`/calls/${encodeURIComponent(r.callSid)}`);
    expect(one.call).toMatchObject({ outcome: 'answered', waitSeconds: 12, talkSeconds: 95 });

    const date = new Date(state.startedAt).toISOString().slice(0, 10);
    const stats = await eventually(async () => {
      const body = await api(`/stats?date=${date}`);
      expect(body.answered).toBe(1);
      return body;
    });
    expect(stats).toMatchObject({ averageHandleTime: 95, averageSpeedOfAnswer: 12 });

    const rows = await eventually(async () => {
      await server!.app.services.scheduler.runNow('records-to-postgres');
      const found = await db!.query<{ wait_seconds: number; talk_seconds: number }>(
        'SELECT wait_seconds, talk_seconds FROM call_records WHERE sid = $1',
        [r.callSid],
      );
      expect(found).toHaveLength(1);
      return found;
    }, 10_000);
    expect(rows[0]).toEqual({ wait_seconds: 12, talk_seconds: 95 });
  });
});
