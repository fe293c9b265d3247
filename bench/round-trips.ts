/**
 * `npx tsx bench/round-trips.ts [--agents 5] [--calls 3]`: the Redis commands and socket writes
 * (≈ round trips) each request of the bench's call mix makes, the app built as `bench/server.ts`
 * builds it (buildApp, signatures on, one private Redis). Load-independent: it counts, it does
 * not time. The last call is printed step by step, every command in order; the totals are the
 * mean over the calls after the first (the first pays the script loads and the roster's first
 * read). Work a reply does not wait for (background effects) is counted with its request: each
 * step waits until the app sent nothing for 30 ms. The Slack outbox worker's and the call-center
 * tick's commands (timers, not requests) are listed apart and not counted. Socket writes are
 * counted where they reach the operating system (test/support/os-writes.ts): the app's client sends the
 * commands of one turn of the event loop in one write (src/redis.ts `coalesceWrites`). The steps
 * here run one at a time, so this counts no batching across requests, which load adds.
 *
 * The mix's legs ring agents n and n+1 whoever the app chose (bench/call-mix.ts), so their
 * callbacks may name agents the app never offered the call: an agent step on such an agent is
 * refused or ignored, after a fresh read. `--follow-dial` signs the legs for the agents the
 * inbound reply's `<Dial>` rang instead (leg A the first, who answers; leg B the second), and
 * leaves out leg B's two steps when it rang one agent: what Telnyx would send.
 */
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { generateSigningKeys } from '../src/simulator/telnyx-player.js';
import { startRedisServer, stopRedisServer } from '../test/setup/redis-server.js';
import { countOsWrites } from '../test/support/os-writes.js';
import { callSid, dialedSips, MIX_STEPS, signedCall, stepsWhenRung } from './call-mix.js';

const { values: args } = parseArgs({
  strict: false,
  options: {
    agents: { type: 'string', default: '5' },
    calls: { type: 'string', default: '3' },
    'follow-dial': { type: 'boolean', default: false },
  },
});
const FOLLOW = args['follow-dial'] === true;
const AGENTS = Number(args.agents);
/** The outbox worker (peek, ack, lease, pause) and the call-center tick (due wrap-ups, all agents, lines). */
const BACKGROUND =
  /^(sbOutboxPeek|sbOutboxAck2|pttl \S*outbox:\{slack\}:pause|eval\(.*\{outbox:slack\}:running|zrangebyscore \S*wrap-up-due|hgetall \S*agents:\{agents\}:state|zrange \S*queues:\{queues\}:line)/;
const CALLS = Math.max(2, Number(args.calls));

async function main(): Promise<void> {
  const redisServer = await startRedisServer();
  const keys = generateSigningKeys();
  const sips = Array.from(
    { length: AGENTS },
    (_, i) => `sip:agent${String(i).padStart(4, '0')}@sip.telnyx.com`,
  );
  const config = loadConfig({
    REDIS_URL: `${redisServer.url}/0`,
    TELNYX_PUBLIC_KEY: keys.publicKeyBase64,
    PUBLIC_URL: 'https://sb.example.com',
    HOTLINE_NUMBER: '+18005550199',
    AGENTS: sips.map((sip, i) => `Agent ${String(i).padStart(4, '0')}=${sip}`).join(','),
    ROUTING_STRATEGY: 'longest-idle',
    DIAL_MAX_TARGETS: '2',
    WRAP_UP_SECONDS: '0',
    LOG_LEVEL: 'silent',
  });
  const app = await buildApp(config, { logger: pino({ level: 'silent' }) });
  await app.ready();
  const redis = app.services.redis as Redis;
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  const log: string[] = [];
  const background: string[] = [];
  let writes = 0;
  let lastSent = Date.now();
  const client = redis as unknown as {
    sendCommand: (command: { name: string; args: unknown[] }, ...rest: unknown[]) => unknown;
  };
  const send = client.sendCommand.bind(redis);
  // Scripts by the name `defineCommand` gave them, so EVALSHA lines say which script ran.
  const scripts = (redis as unknown as { scriptsSet: Record<string, { sha: string }> }).scriptsSet;
  const scriptName = (sha: string) => Object.entries(scripts).find(([, s]) => s.sha === sha)?.[0];
  client.sendCommand = (command, ...rest) => {
    if (command.name !== 'multi' && command.name !== 'exec') {
      const a = command.args.map((x) => (typeof x === 'string' ? x : String(x)));
      const what =
        command.name === 'evalsha'
          ? `${scriptName(a[0] ?? '') ?? a[0]?.slice(0, 8)} ${a[2] ?? ''}`
          : command.name === 'eval'
            ? `eval(${(a[0] ?? '').trim().slice(0, 24)}…) ${a[2] ?? ''}`
            : `${command.name} ${a[0] ?? ''}`;
      if (BACKGROUND.test(what)) background.push(what);
      else log.push(what);
    }
    lastSent = Date.now();
    return send(command, ...rest);
  };
  countOsWrites(redis, () => {
    writes++;
  });
  const quiet = async () => {
    while (Date.now() - lastSent < 30) await new Promise((resolve) => setTimeout(resolve, 10));
  };
  await quiet();
  const totals = MIX_STEPS.map(() => ({ commands: 0, writes: 0 }));
  let detail: string[] = [];
  for (let n = 0; n < CALLS; n++) {
    const sids = { call: callSid(), legA: callSid(), legB: callSid() };
    let steps = signedCall(n, { privateKey: keys.privateKey, agentSips: sips, sids });
    let skip = new Set<number>();
    detail = [];
    for (const [i, first] of steps.entries()) {
      const step = steps[i] ?? first;
      if (skip.has(i)) {
        detail.push(`${MIX_STEPS[i]} — not sent (no second agent rung)`);
        continue;
      }
      log.length = 0;
      const w0 = writes - background.length;
      const res = await app.inject({
        method: 'POST',
        url: step.path,
        headers: step.headers,
        payload: step.body,
      });
      await quiet();
      if (res.statusCode >= 300) throw new Error(`${MIX_STEPS[i]}: ${res.statusCode} ${res.body}`);
      if (FOLLOW && i === 0) {
        const rung = dialedSips(res.body);
        if (!rung.length) throw new Error(`inbound rang nobody: ${res.body}`);
        steps = signedCall(n, { privateKey: keys.privateKey, agentSips: sips, sids, rung });
        // Leg B's steps (ringing, canceled) exist only when a second agent was rung.
        const sent = new Set(stepsWhenRung(rung.length));
        skip = new Set(MIX_STEPS.flatMap((_, k) => (sent.has(k) ? [] : [k])));
      }
      if (n > 0) {
        const t = totals[i] as { commands: number; writes: number };
        t.commands += log.length;
        t.writes += writes - background.length - w0;
      }
      detail.push(`${MIX_STEPS[i]} — ${writes - background.length - w0} writes: ${log.join(' · ')}`);
    }
  }
  process.stdout.write(
    `One call, ${AGENTS} agents${FOLLOW ? ', legs as dialed' : ''} (the last of ${CALLS}):\n${detail.join('\n')}\n\n`,
  );
  process.stdout.write('| step | Redis commands | socket writes |\n| --- | ---: | ---: |\n');
  let c = 0;
  let w = 0;
  for (const [i, t] of totals.entries()) {
    c += t.commands / (CALLS - 1);
    w += t.writes / (CALLS - 1);
    process.stdout.write(
      `| ${MIX_STEPS[i]} | ${(t.commands / (CALLS - 1)).toFixed(1)} | ${(t.writes / (CALLS - 1)).toFixed(1)} |\n`,
    );
  }
  process.stdout.write(`| **per call** | **${c.toFixed(1)}** | **${w.toFixed(1)}** |\n`);
  await app.close();
  await stopRedisServer(redisServer);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
