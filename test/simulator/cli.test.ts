import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { describeInbound, randomCaller } from '../../src/simulator/summary.js';
import { startServer, type TestServer } from '../helper.js';
import { freePort } from '../setup/redis-server.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = 'tok-simulator-0123456789';

function simulate(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/simulator/cli.ts', ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('simulator summary', () => {
  it('a new fictional caller number each run', () => {
    expect(randomCaller(() => 0)).toBe('+13125550100');
    expect(randomCaller(() => 0.999)).toBe('+13125550199');
    expect(new Set(Array.from({ length: 50 }, () => randomCaller())).size).toBeGreaterThan(10);
  });

  it('states the outcome from the script when the server is not asked', () => {
    const dial = (timeout: number) => ({ dial: { targets: [], timeout } }) as never;
    const r = (rounds: string[][], replies: unknown[]) =>
      ({ callSid: 'v3:x', rounds, replies }) as Parameters<typeof describeInbound>[0];
    expect(
      describeInbound(r([['sip:bob@sip.telnyx.com'], ['sip:alice@sip.telnyx.com']], [dial(20), dial(20)]), {
        answerInRound: 2,
        answerAfter: 6,
        talkSeconds: 40,
      }),
    ).toBe('answered by alice after 26 s (talked 40 s; 2 ring rounds)');
    expect(describeInbound(r([['sip:a@x']], [dial(20)]), { hangUpAfter: 9 })).toBe(
      'abandoned: the caller hung up after 9 s of ringing',
    );
    expect(describeInbound(r([], [{ record: {} }]), { voicemailSeconds: 0 })).toBe(
      'missed: no agent to ring and no message was left',
    );
    expect(describeInbound(r([['sip:a@x']], [dial(20), { record: {} }]), { voicemailSeconds: 24 })).toBe(
      'voicemail: a 24 s message after 1 ring round',
    );
  });
});

describe('npm run simulate against a server', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('prints the outcome as the server saw it; the Slack hint only when Slack does not reach the catcher', async () => {
    const slackPort = await freePort();
    server = await startServer({
      env: { API_TOKEN: TOKEN, SLACK_WEBHOOK_URL: `http://127.0.0.1:${slackPort}/slack` },
    });
    const pointed = await simulate(
      ['answered', '--url', server.url, '--slack-port', String(slackPort), '--wait', '1'],
      { API_TOKEN: TOKEN },
    );
    expect(pointed.code, pointed.out).toBe(0);
    expect(pointed.out).toMatch(/■ call v3:\S+: answered by Alice after 12 s \(talked 95 s; 1 ring round\)/);
    expect(pointed.out).toMatch(/💬 Slack/);
    expect(pointed.out).not.toMatch(/Start it with SLACK_WEBHOOK_URL/);
    const caller1 = /\(caller (\+\d+)\)/.exec(pointed.out)?.[1];

    const elsewhere = await simulate(
      ['abandoned', '--url', server.url, '--slack-port', String(await freePort()), '--wait', '1'],
      {},
    );
    expect(elsewhere.code, elsewhere.out).toBe(0);
    expect(elsewhere.out).toMatch(/■ call v3:\S+: abandoned: the caller hung up after 9 s of ringing/);
    expect(elsewhere.out).toMatch(/Start it with SLACK_WEBHOOK_URL=http:\/\/127\.0\.0\.1:\d+\/slack/);

    const fixed = await simulate([
      'missed',
      '--url',
      server.url,
      '--slack-port',
      '0',
      '--from',
      '+13125550177',
    ]);
    expect(fixed.out).toContain('(caller +13125550177)');
    expect(fixed.out).toMatch(
      /■ call v3:\S+: missed: nobody answered in \d ring rounds? and no message was left/,
    );
    expect(caller1).toMatch(/^\+131255501\d\d$/);
  }, 120_000);
});
