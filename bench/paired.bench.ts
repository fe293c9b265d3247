/**
 * `npm run bench -- --baseline <git ref>`: this tree and a baseline revision side by side, in one
 * run, on one Redis, so every result is a ratio that holds on any machine (issue 18).
 *
 * The baseline is checked out with `git worktree add --detach` into a temporary directory (its
 * node_modules a symlink to this tree's) and removed afterwards. Each tree gets two servers, its
 * own `bench/server.ts` (the real app from buildApp, signatures on, plus the bare baselines) with
 * MIX_AGENTS (150), 5 and 1,000 agents, each on its own Redis database. Every round plays, for
 * each tree in turn (the order alternates per round):
 *
 *   1. the call mix, saturated (50 connections): CPU per request, inbound and status p99; its
 *      agent legs are those the inbound reply rang (bench/call-mix.ts `DialedCall`);
 *   2. the signed-callback floor (one verify + one pipelined Redis write) on the same process;
 *   3. `/texml/inbound` and the caller's `completed` (which frees the agent offered the call, so a
 *      roster of 5 is never all offered and the call queued), new callers, 5 agents, at
 *      --inbound-connections (default 1: no two calls choose at once); the same with 1,000
 *      agents; the same with 5 agents and one caller whose routing history has 1,000 entries;
 *   4. the call mix at 50 % of (1)'s rate, callers pausing between requests: inbound p99;
 *
 * and after the first round, what a finished call leaves in Redis (bytes per call, keys without
 * an expiry). Ratios are printed per round and as min–median–max over the rounds.
 *
 * Options: --baseline <ref> --rounds 3 --mix-calls 1000 --inbound-calls 1500 --paced-seconds 8
 * --connections 50 --inbound-connections 1 --json <file>. Agents end their wrap-up at once
 * (WRAP_UP_SECONDS=0): a bench call center takes a call per agent every few milliseconds.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { generateSigningKeys } from '../src/simulator/telnyx-player.js';
import { startRedisServer, stopRedisServer } from '../test/setup/redis-server.js';
import {
  CALLBACK_STEPS,
  type CallMixOptions,
  dialedCalls,
  fixedSteps,
  MIX_AGENTS,
  MIX_STEPS,
  type SignedRequest,
  signCalls,
} from './call-mix.js';
import { cycleRequests, type PhaseResult, type PhaseRoute, playCalls } from './load-phase.js';
import { playCallsPaced } from './paced-calls.js';
import { fmt } from './results-file.js';
import type { ChildMessage, ParentMessage } from './server.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');

const { values: args } = parseArgs({
  strict: false,
  options: {
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    'mix-calls': { type: 'string', default: '1000' },
    'inbound-calls': { type: 'string', default: '1500' },
    'paced-seconds': { type: 'string', default: '8' },
    connections: { type: 'string', default: '50' },
    'inbound-connections': { type: 'string', default: '1' },
    json: { type: 'string' },
    report: { type: 'string' },
  },
});
const ROUNDS = Number(args.rounds);
const CONNECTIONS = Number(args.connections);
const roundTo = (n: number, k: number) => Math.max(k, Math.round(n / k) * k);
const MIX_CALLS = roundTo(Number(args['mix-calls']), CONNECTIONS);
const INBOUND_CONNECTIONS = Number(args['inbound-connections']);
const INBOUND_CALLS = roundTo(Number(args['inbound-calls']), INBOUND_CONNECTIONS);
const PACED_SECONDS = Number(args['paced-seconds']);
const HISTORY_CALLER = '+13129990000';
const HISTORY_ENTRIES = 1000;

const log = (msg: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);

/** One `bench/server.ts` of one tree (same IPC protocol on both sides). */
class Server {
  private waiters: { type: string; resolve: (m: ChildMessage) => void; reject: (e: Error) => void }[] = [];
  app = 0;
  baseline = 0;

  constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
  ) {
    proc.on('message', (m: ChildMessage) => {
      if (m.type === 'error') return this.fail(new Error(`${name}: ${m.message}`));
      const i = this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiters.splice(i, 1)[0]?.resolve(m);
    });
    proc.on('exit', (code) => this.fail(new Error(`${name} exited (${code})`)));
  }

  private fail(err: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  static async start(name: string, root: string, env: Record<string, string>): Promise<Server> {
    const proc = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        join(root, 'bench', 'server.ts'),
        JSON.stringify({ env, logLevel: 'silent' }),
      ],
      { cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    const s = new Server(name, proc);
    const ready = (await s.next('ready')) as Extract<ChildMessage, { type: 'ready' }>;
    s.app = ready.app;
    s.baseline = ready.baseline;
    return s;
  }

  next(type: ChildMessage['type']): Promise<ChildMessage> {
    return new Promise((resolve, reject) => {
      if (this.proc.exitCode !== null) return reject(new Error(`${this.name} is not running`));
      this.waiters.push({ type, resolve, reject });
    });
  }

  /** CPU µs so far, and the app's Redis commands and socket writes so far. */
  async cpuUs(): Promise<{ us: number; commands: number; writes: number }> {
    const answer = this.next('cpu');
    this.proc.send({ type: 'cpu' } satisfies ParentMessage);
    const m = (await answer) as Extract<ChildMessage, { type: 'cpu' }>;
    return { us: m.usage.user + m.usage.system, commands: m.redis.commands, writes: m.redis.writes };
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.send({ type: 'close' } satisfies ParentMessage);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

interface Measured {
  result: PhaseResult;
  /** Server CPU (user + system) per request, µs. */
  cpuUs: number;
  /** The app's Redis commands and socket writes (≈ round trips) per request. */
  redisCommands: number;
  redisWrites: number;
}

async function measure(server: Server, play: () => Promise<PhaseResult>): Promise<Measured> {
  const c0 = await server.cpuUs();
  const result = await play();
  const c1 = await server.cpuUs();
  const non2xx = (st: Record<string, number>) =>
    Object.entries(st).reduce((n, [code, k]) => n + (code.startsWith('2') ? 0 : k), 0);
  const bad = Object.values(result.routes).reduce((n, r) => n + non2xx(r.statuses), 0) + result.errors;
  if (bad)
    log(
      `  ${result.name}: ${bad} unexpected replies or errors: ${JSON.stringify(Object.fromEntries(Object.entries(result.routes).map(([k, v]) => [k, v.statuses])))} ${JSON.stringify(result.wrongBodies)}`,
    );
  return {
    result,
    cpuUs: (c1.us - c0.us) / result.requests,
    redisCommands: (c1.commands - c0.commands) / result.requests,
    redisWrites: (c1.writes - c0.writes) / result.requests,
  };
}

const p99 = (m: Measured, route: PhaseRoute) => m.result.routes[route]?.p99 ?? Number.NaN;

/** A Slack incoming webhook stand-in: every post `ok` (the app paces posts at 1/s, as in production). */
async function slackStandIn(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/services/T000/B000/bench`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A key's family: call sids, numbers and ids folded, so `call:{v3:…}:tl` counts as one kind. */
function family(key: string): string {
  return key
    .replace(/v3:[A-Za-z0-9_-]+/g, '<sid>')
    .replace(/\+?\d{6,}/g, '<n>')
    .replace(/[0-9a-f]{8}-[0-9a-f-]{27,}/g, '<id>');
}

interface KeyStats {
  bytes: number;
  keys: number;
  /** family → [keys, bytes, keys without expiry] */
  families: Record<string, [number, number, number]>;
}

async function keyStats(redis: Redis): Promise<KeyStats> {
  const out: KeyStats = { bytes: 0, keys: 0, families: {} };
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    const p = redis.pipeline();
    for (const k of keys) {
      p.memory('USAGE', k);
      p.pttl(k);
    }
    const res = (await p.exec()) ?? [];
    keys.forEach((k, i) => {
      const bytes = Number(res[2 * i]?.[1] ?? 0);
      const ttl = Number(res[2 * i + 1]?.[1] ?? -2);
      const name = family(k);
      const f = out.families[name] ?? [0, 0, 0];
      out.families[name] = f;
      f[0]++;
      f[1] += bytes;
      if (ttl === -1) f[2]++;
      out.bytes += bytes;
      out.keys++;
    });
  } while (cursor !== '0');
  return out;
}

function ensureWorktree(ref: string): { dir: string; sha: string; remove: () => void } {
  const git = (...a: string[]) => {
    const r = spawnSync('git', a, { cwd: repo, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${a.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const sha = git('rev-parse', '--short', `${ref}^{commit}`);
  const dir = mkdtempSync(join(tmpdir(), `sb-baseline-${sha}-`));
  rmSync(dir, { recursive: true });
  git('worktree', 'add', '--detach', dir, sha);
  symlinkSync(realpathSync(join(repo, 'node_modules')), join(dir, 'node_modules'));
  return { dir, sha, remove: () => git('worktree', 'remove', '--force', dir) };
}

interface Tree {
  name: string;
  root: string;
  /** MIX_AGENTS agents, as `npm run bench`: the call mix, the floor, the paced mix, Redis memory. */
  mixServer: Server;
  mixDb: Redis;
  small: Server;
  large: Server;
  smallDb: Redis;
}

interface Round {
  tree: string;
  mix: Measured;
  floor: Measured;
  inbound5: Measured;
  inbound1000: Measured;
  inboundHistory: Measured;
  paced: Measured;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const spread = (xs: number[], digits = 2) =>
  `${Math.min(...xs).toFixed(digits)} – **${median(xs).toFixed(digits)}** – ${Math.max(...xs).toFixed(digits)}`;

export async function pairedBench(): Promise<void> {
  if (args.report) {
    // Re-print a saved run (--json) without measuring again.
    const saved = JSON.parse(readFileSync(args.report as string, 'utf8')) as {
      rounds: Round[];
      memory: Record<string, { perCall: number; calls: number; stats: KeyStats }>;
      sha: string;
      names?: [string, string];
      load?: number[];
    };
    const names = saved.names ?? ['this tree', `baseline ${saved.sha}`];
    return report(saved.rounds, saved.memory, names, saved.sha, saved.load ?? []);
  }
  const ref = args.baseline as string;
  const load0 = loadavg();
  const wt = ensureWorktree(ref);
  log(`baseline ${ref} (${wt.sha}) checked out in ${wt.dir}`);
  const redisServer = await startRedisServer();
  const slack = await slackStandIn();
  const keys = generateSigningKeys();
  const agentSips = (n: number) =>
    Array.from({ length: n }, (_, i) => `sip:agent${String(i).padStart(4, '0')}@sip.telnyx.com`);
  const envFor = (db: number, agents: number) => ({
    REDIS_URL: `${redisServer.url}/${db}`,
    TELNYX_PUBLIC_KEY: keys.publicKeyBase64,
    PUBLIC_URL: 'https://sb.example.com',
    HOTLINE_NUMBER: '+18005550199',
    AGENTS: agentSips(agents)
      .map((sip, i) => `Agent ${String(i).padStart(4, '0')}=${sip}`)
      .join(','),
    // Random, not longest-idle: concurrent calls then rarely choose the same agent. With agent
    // states, a call whose agent another call took is routed again, and past three tries it is
    // queued (the mix's caller then hangs up). Both strategies ring one agent per round.
    ROUTING_STRATEGY: 'random',
    DIAL_MAX_TARGETS: '2',
    WRAP_UP_SECONDS: '0',
    SLACK_WEBHOOK_URL: slack.url,
  });
  const trees: Tree[] = [];
  let callNumber = 0;
  const sign = (count: number, o: Partial<CallMixOptions> = {}) => {
    const calls = signCalls(callNumber, count, {
      privateKey: keys.privateKey,
      agentSips: agentSips(5),
      ...o,
    });
    callNumber += count;
    return calls;
  };
  /** Calls of the mix: legs signed during the phase, for the agents each inbound reply rang. */
  const signDialed = (count: number, agents: number) => {
    const calls = dialedCalls(callNumber, count, {
      privateKey: keys.privateKey,
      agentSips: agentSips(agents),
    });
    callNumber += count;
    return calls;
  };
  const rounds: Round[] = [];
  const memory: Record<string, { perCall: number; calls: number; stats: KeyStats }> = {};
  try {
    for (const [i, [name, root]] of [
      ['this tree', repo],
      [`baseline ${wt.sha}`, wt.dir],
    ].entries()) {
      log(`starting ${name}: ${MIX_AGENTS}, 5 and 1,000 agents`);
      const mixServer = await Server.start(
        `${name} (${MIX_AGENTS} agents)`,
        root as string,
        envFor(1 + 3 * i, MIX_AGENTS),
      );
      const small = await Server.start(`${name} (5 agents)`, root as string, envFor(2 + 3 * i, 5));
      const large = await Server.start(`${name} (1,000 agents)`, root as string, envFor(3 + 3 * i, 1000));
      const mixDb = new Redis(`${redisServer.url}/${1 + 3 * i}`);
      const smallDb = new Redis(`${redisServer.url}/${2 + 3 * i}`);
      // One caller who talked to 1,000 agents once each: a flat history, so nobody is sticky.
      const fields: string[] = [];
      for (let a = 0; a < HISTORY_ENTRIES; a++) fields.push(`former-agent-${a}`, '1');
      await smallDb.hset(`sb:{routing}:history:${HISTORY_CALLER}`, ...fields);
      trees.push({ name: name as string, root: root as string, mixServer, mixDb, small, large, smallDb });
    }
    const url = (s: Server) => `http://127.0.0.1:${s.app}`;
    log('warm-up');
    for (const t of trees) {
      for (const [s, n] of [
        [t.mixServer, MIX_AGENTS],
        [t.small, 5],
        [t.large, 1000],
      ] as const) {
        const calls = signDialed(roundTo(MIX_CALLS / 2, CONNECTIONS), n);
        await playCalls({
          name: 'warm-up',
          url: url(s),
          connections: CONNECTIONS,
          calls,
          maxRequests: MIX_STEPS.length,
        });
      }
    }

    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 ? [...trees].reverse() : trees;
      for (const t of order) {
        log(`round ${r + 1}: ${t.name}`);
        const before = r === 0 ? await keyStats(t.mixDb) : undefined;
        const mixCalls = signDialed(MIX_CALLS, MIX_AGENTS);
        const mix = await measure(t.mixServer, () =>
          playCalls({
            name: 'call mix',
            url: url(t.mixServer),
            connections: CONNECTIONS,
            calls: mixCalls,
            maxRequests: MIX_STEPS.length,
          }),
        );
        if (before) {
          // Let the finished calls' effects settle, then count what they left.
          await new Promise((resolve) => setTimeout(resolve, 500));
          const after = await keyStats(t.mixDb);
          const families: KeyStats['families'] = {};
          for (const [f, v] of Object.entries(after.families)) {
            const b = before.families[f] ?? [0, 0, 0];
            families[f] = [v[0] - b[0], v[1] - b[1], v[2] - b[2]];
          }
          memory[t.name] = {
            perCall: (after.bytes - before.bytes) / MIX_CALLS,
            calls: MIX_CALLS,
            stats: { bytes: after.bytes - before.bytes, keys: after.keys - before.keys, families },
          };
        }
        const pool = sign(200);
        const floor = await measure(t.mixServer, () =>
          cycleRequests({
            name: 'floor',
            url: `http://127.0.0.1:${t.mixServer.baseline}`,
            connections: CONNECTIONS,
            seconds: 4,
            route: 'baseline-callback',
            path: '/baseline/callback',
            requests: pool.flatMap((c) => CALLBACK_STEPS.map((s) => c[s] as SignedRequest)),
          }),
        );
        const inbound = (s: Server, o: Partial<CallMixOptions> = {}) =>
          measure(s, () =>
            playCalls({
              name: 'inbound',
              url: url(s),
              connections: INBOUND_CONNECTIONS,
              calls: sign(INBOUND_CALLS, o).map((c) => fixedSteps(c, [0, MIX_STEPS.length - 1])),
              maxRequests: 2,
            }),
          );
        const inbound5 = await inbound(t.small);
        const inbound1000 = await inbound(t.large, { agentSips: agentSips(1000) });
        const inboundHistory = await inbound(t.small, { caller: () => HISTORY_CALLER });
        const thinkMs = (1000 * CONNECTIONS) / (0.5 * mix.result.perSecond);
        const paced = await measure(t.mixServer, () =>
          playCallsPaced({
            name: 'mix at 50 %',
            url: url(t.mixServer),
            connections: CONNECTIONS,
            calls: signDialed(
              Math.ceil(0.5 * (mix.result.callsPerSecond ?? 50) * PACED_SECONDS * 1.5) + CONNECTIONS,
              MIX_AGENTS,
            ),
            callLength: MIX_STEPS.length,
            thinkMs,
            seconds: PACED_SECONDS,
          }),
        );
        const row: Round = { tree: t.name, mix, floor, inbound5, inbound1000, inboundHistory, paced };
        rounds.push(row);
        log(
          `  mix ${fmt(mix.cpuUs)} µs/req (${fmt(mix.result.perSecond)} req/s), floor ${fmt(floor.cpuUs)}, inbound ${fmt(inbound5.cpuUs)} / 1,000 agents ${fmt(inbound1000.cpuUs)} / history ${fmt(inboundHistory.cpuUs)}; inbound p99 saturated ${fmt(p99(mix, 'inbound'))} ms, status p99 ${fmt(p99(mix, 'status'))} ms, inbound p99 at 50 % ${fmt(p99(paced, 'inbound'))} ms`,
        );
      }
    }
  } finally {
    for (const t of trees) {
      t.smallDb.disconnect();
      t.mixDb.disconnect();
      await Promise.all([t.mixServer.close(), t.small.close(), t.large.close()]);
    }
    await slack.close();
    await stopRedisServer(redisServer);
    wt.remove();
  }
  report(rounds, memory, trees.map((t) => t.name) as [string, string], wt.sha, load0);
}

function report(
  rounds: Round[],
  memory: Record<string, { perCall: number; calls: number; stats: KeyStats }>,
  [cur, base]: [string, string],
  sha: string,
  load0: number[],
): void {
  const mine = rounds.filter((r) => r.tree === cur);
  const theirs = rounds.filter((r) => r.tree === base);
  const pairs = mine.map((m, i) => [m, theirs[i] as Round] as const);
  const lines: string[] = [];
  const out = (s = '') => lines.push(s);
  out(`### Paired run against ${base} — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`);
  out();
  out(
    `\`npm run bench -- --baseline ${args.baseline}\` · ${cpus().length} × ${cpus()[0]?.model.trim()} · Node ${process.version} · load average before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${loadavg()
      .map((x) => x.toFixed(2))
      .join(
        ' ',
      )} · ${pairs.length} paired rounds, ${MIX_CALLS} calls per mix phase, ${INBOUND_CALLS} per inbound phase, ${CONNECTIONS} connections`,
  );
  out();
  out(
    `Server CPU per request (µs, user + system of the server process), per round: this tree / baseline. The inbound columns play \`/texml/inbound\` and the caller's \`completed\` at ${INBOUND_CONNECTIONS} connection(s), so a roster of 5 always has a free agent; their µs are per request of the two.`,
  );
  out();
  out(
    '| round | call mix | floor | inbound, 5 agents | inbound, 1,000 agents | inbound, 1,000-entry history | mix at 50 % |',
  );
  out('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  pairs.forEach(([m, b], i) => {
    const c = (k: keyof Omit<Round, 'tree'>) => `${fmt(m[k].cpuUs)} / ${fmt(b[k].cpuUs)}`;
    out(
      `| ${i + 1} | ${c('mix')} | ${c('floor')} | ${c('inbound5')} | ${c('inbound1000')} | ${c('inboundHistory')} | ${c('paced')} |`,
    );
  });
  out();
  const ratio = (f: (r: Round) => number, of: readonly Round[]) => of.map(f);
  const rows: [string, string, string][] = [
    [
      'signed call mix CPU per request, this tree ÷ baseline',
      spread(pairs.map(([m, b]) => m.mix.cpuUs / b.mix.cpuUs)),
      '≤ 0.50',
    ],
    [
      '… each normalised by the floor of its own slot (the same code in both trees: cancels the load other processes put on the machine)',
      spread(pairs.map(([m, b]) => m.mix.cpuUs / m.floor.cpuUs / (b.mix.cpuUs / b.floor.cpuUs))),
      '≤ 0.50',
    ],
    [
      'call mix ÷ floor (floor µs ÷ mix µs), this tree',
      spread(ratio((r) => r.floor.cpuUs / r.mix.cpuUs, mine)),
      '—',
    ],
    ['… baseline', spread(ratio((r) => r.floor.cpuUs / r.mix.cpuUs, theirs)), '—'],
    [
      '`/texml/inbound` CPU, 1,000 agents ÷ 5 agents, this tree',
      spread(ratio((r) => r.inbound1000.cpuUs / r.inbound5.cpuUs, mine)),
      '≤ 1.10',
    ],
    ['… baseline', spread(ratio((r) => r.inbound1000.cpuUs / r.inbound5.cpuUs, theirs)), '—'],
    [
      '`/texml/inbound` CPU, 1,000-entry history ÷ none, this tree',
      spread(ratio((r) => r.inboundHistory.cpuUs / r.inbound5.cpuUs, mine)),
      '≤ 1.10',
    ],
    ['… baseline', spread(ratio((r) => r.inboundHistory.cpuUs / r.inbound5.cpuUs, theirs)), '—'],
    [
      '`/texml/inbound` CPU, this tree ÷ baseline (5 agents)',
      spread(pairs.map(([m, b]) => m.inbound5.cpuUs / b.inbound5.cpuUs)),
      '—',
    ],
    [
      '`/texml/inbound` p99 at 50 % load, ms, this tree',
      spread(
        ratio((r) => p99(r.paced, 'inbound'), mine),
        1,
      ),
      '< 20',
    ],
    [
      '… baseline',
      spread(
        ratio((r) => p99(r.paced, 'inbound'), theirs),
        1,
      ),
      '—',
    ],
    [
      'saturated mix: inbound p99 ÷ status p99, this tree',
      spread(ratio((r) => p99(r.mix, 'inbound') / p99(r.mix, 'status'), mine)),
      '≤ 2',
    ],
    ['… baseline', spread(ratio((r) => p99(r.mix, 'inbound') / p99(r.mix, 'status'), theirs)), '—'],
  ];
  const rt = (k: 'mix' | 'inbound5', of: readonly Round[]) =>
    spread(
      of.map((r) => r[k].redisWrites ?? Number.NaN),
      2,
    );
  out(
    `Redis socket writes (≈ round trips) per request, min – median – max: call mix ${rt('mix', mine)} (baseline ${rt('mix', theirs)}); \`/texml/inbound\` ${rt('inbound5', mine)} (baseline ${rt('inbound5', theirs)}).`,
  );
  out();
  out('| ratio (min – **median** – max over the rounds) | measured | target |');
  out('| --- | --- | --- |');
  for (const [a, b, c] of rows) out(`| ${a} | ${b} | ${c} |`);
  out();
  for (const [name, m] of Object.entries(memory)) {
    out(
      `Redis after ${m.calls} finished calls, ${name}: **${fmt(m.perCall)} bytes per call** (MEMORY USAGE of the keys the calls added; keys without an expiry marked):`,
    );
    out();
    out('| key family | keys added | bytes added | without expiry |');
    out('| --- | ---: | ---: | ---: |');
    for (const [f, [k, b, noTtl]] of Object.entries(m.stats.families).sort((x, y) => y[1][1] - x[1][1])) {
      if (k === 0 && b === 0) continue;
      out(`| \`${f}\` | ${k} | ${b} | ${noTtl} |`);
    }
    out();
  }
  // Calls whose inbound reply rang nobody (queued or voicemail: every agent offered at that moment)
  // take another path than the rest: say how many, per phase, summed over the rounds.
  const kinds = ['mix', 'inbound5', 'inbound1000', 'inboundHistory', 'paced'] as const;
  for (const [name, of] of [
    [cur, mine],
    [base, theirs],
  ] as const) {
    const wrong = kinds
      .map((k) => {
        const n = of.reduce(
          (sum, r) => sum + Object.values(r[k].result.wrongBodies ?? {}).reduce((a, b) => a + b, 0),
          0,
        );
        const all = of.reduce((sum, r) => sum + (r[k].result.calls ?? 0), 0);
        return `${k} ${n} of ${all}`;
      })
      .join(', ');
    out(`Inbound replies without \`<Dial>\` (the caller queued or sent to voicemail), ${name}: ${wrong}.`);
    out();
  }
  const text = lines.join('\n');
  process.stdout.write(`${text}\n`);
  if (args.json)
    writeFileSync(
      args.json as string,
      JSON.stringify({ rounds, memory, sha, names: [cur, base], load: load0 }, null, 1),
    );
}
