/**
 * `npm run bench`: the TeXML routes under a realistic call mix, against a real Redis with
 * signatures on, next to two bare baselines measured in the same run.
 *
 *   npm run bench                       # ≈ 3 min: mix, paced mix, single routes, baselines, profile, 60 s soak
 *   npm run bench -- --soak 300         # with the 5-minute memory run (≈ 7.5 min in all)
 *   npm run bench -- --no-write         # print only; default: update bench/RESULTS.md
 *
 * Options: --connections 50 --seconds 20 (mix) --baseline-seconds 10 --profile-seconds 10 (0: off)
 * --paced-load 0.25,0.5 --paced-seconds 10 (the mix with pauses, at those shares of the saturated rate; 0: off)
 * --soak 60 (0: off) --log-level silent|info (the app's logger; info writes to /dev/null)
 * --json <file> (the raw numbers, for comparing runs).
 * --baseline <git ref> [--rounds 3]: this tree and that revision side by side, printing the ratios
 * of issue 18 (bench/paired.bench.ts).
 * REDIS_URL: use that Redis (keys under `sb:` and `bench:` are written: use a scratch instance);
 * otherwise a private redis-server is started on a free port (Debian: apt-get install redis-server).
 *
 * The server (the real app from buildApp, and the baselines on a second port) runs in a child
 * process, bench/server.ts, so autocannon here never shares its event loop.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { generateSigningKeys } from '../src/simulator/telnyx-player.js';
import { startRedisServer, stopRedisServer } from '../test/setup/redis-server.js';
import {
  CALLBACK_STEPS,
  type DialedCall,
  dialedCalls,
  fixedSteps,
  MIX_AGENTS,
  MIX_STEPS,
  type SignedRequest,
  signCalls,
} from './call-mix.js';
import { type CpuProfile, type ProfileSummary, summariseProfile } from './cpu-profile.js';
import { cycleRequests, type PhaseResult, type PhaseRoute, playCalls } from './load-phase.js';
import { playCallsPaced } from './paced-calls.js';
import { fmt, table, writeSection } from './results-file.js';
import type { ChildMessage, ParentMessage } from './server.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '50' },
    seconds: { type: 'string', default: '20' },
    'baseline-seconds': { type: 'string', default: '10' },
    'profile-seconds': { type: 'string', default: '10' },
    soak: { type: 'string', default: '60' },
    'paced-load': { type: 'string', default: '0.25,0.5' },
    'paced-seconds': { type: 'string', default: '10' },
    'log-level': { type: 'string', default: 'silent' },
    'no-write': { type: 'boolean', default: false },
    out: { type: 'string', default: join(here, 'RESULTS.md') },
    json: { type: 'string' },
    // Paired mode (bench/paired.bench.ts): this tree against a git ref, side by side.
    baseline: { type: 'string' },
    rounds: { type: 'string' },
    'mix-calls': { type: 'string' },
    'inbound-calls': { type: 'string' },
    report: { type: 'string' },
  },
});
const CONNECTIONS = Number(args.connections);
const MIX_SECONDS = Number(args.seconds);
const BASELINE_SECONDS = Number(args['baseline-seconds']);
const PROFILE_SECONDS = Number(args['profile-seconds']);
const SOAK_SECONDS = Number(args.soak);
const PACED_LOADS = args['paced-load']
  .split(',')
  .map(Number)
  .filter((x) => x > 0 && x < 1);
const PACED_SECONDS = Number(args['paced-seconds']);
const SOAK_BATCH_SECONDS = 30;
const SAMPLE_EVERY_MS = 10_000;

/** What "memory flat" means: heap after a full GC, end to end, and its trend after the first minute. */
const FLAT = { growthMb: 5, slopeMbPerMin: 0.5 };

/** The targets of the issue, as ratios and bounds measured in one run. */
const TARGETS = { callbackRatio: 0.5, inboundP99Ms: 20 };

const log = (msg: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);

// ---------------------------------------------------------------------------------------------
// The server child

interface Waiter {
  type: ChildMessage['type'];
  resolve: (m: ChildMessage) => void;
  reject: (err: Error) => void;
}

class ServerChild {
  private waiters: Waiter[] = [];

  private constructor(readonly proc: ChildProcess) {
    const failAll = (err: Error) => {
      for (const w of this.waiters.splice(0)) w.reject(err);
    };
    proc.on('message', (m: ChildMessage) => {
      if (m.type === 'error') {
        failAll(new Error(`bench server: ${m.message}`));
        return;
      }
      const i = this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiters.splice(i, 1)[0]?.resolve(m);
    });
    proc.on('exit', (code) => failAll(new Error(`bench server exited (${code})`)));
  }

  static async start(options: object): Promise<{ child: ServerChild; app: number; baseline: number }> {
    const proc = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(here, 'server.ts'), JSON.stringify(options)],
      { cwd: repo, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    const child = new ServerChild(proc);
    const ready = await child.next('ready');
    return { child, app: ready.app, baseline: ready.baseline };
  }

  next<T extends ChildMessage['type']>(type: T): Promise<Extract<ChildMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      if (this.proc.exitCode !== null) return reject(new Error('bench server is not running'));
      this.waiters.push({ type, resolve: resolve as (m: ChildMessage) => void, reject });
    });
  }

  async ask<T extends ChildMessage['type']>(
    message: ParentMessage,
    reply: T,
  ): Promise<Extract<ChildMessage, { type: T }>> {
    const answer = this.next(reply);
    this.proc.send(message);
    return answer;
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

/**
 * Where the app's Slack alerts go: answers every post `ok` as an incoming webhook does. The app
 * paces posts at Slack's one per second, as in production, so the rest wait in the Redis outbox.
 */
async function startSlackStandIn(): Promise<{
  url: string;
  posts: () => number;
  close: () => Promise<void>;
}> {
  let posts = 0;
  const srv = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      posts++;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/services/T000/B000/XXXX`,
    posts: () => posts,
    close: () => new Promise((resolve) => srv.close(() => resolve())),
  };
}

/** One family of Redis keys: ids replaced by placeholders, so `call:{v3:…}:tl` → `call:{<sid>}:tl`. */
function keyFamily(key: string): string {
  return key
    .replace(/v3:[A-Za-z0-9_-]+/g, '<sid>')
    .replace(/\d{4}-\d{2}-\d{2}/g, '<date>')
    .replace(/(seen|counted|ended|history|cursor):[^{}]*$/, '$1:<id>');
}

interface KeyFamily {
  family: string;
  keys: number;
  /** Estimated from MEMORY USAGE of up to 50 keys. */
  mb: number;
  /** Time to live of the sampled keys: the shortest and longest, s; -1 = never expires. */
  ttl: [number, number];
}

/** What is in Redis after the run, by key family (SCAN: fine after a run, never on a hot path). */
async function redisKeyFamilies(redis: Redis): Promise<KeyFamily[]> {
  const families = new Map<string, string[]>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 2000);
    cursor = next;
    for (const k of keys) {
      const f = keyFamily(k);
      const list = families.get(f) ?? [];
      list.push(k);
      families.set(f, list);
    }
  } while (cursor !== '0');
  const out: KeyFamily[] = [];
  for (const [family, keys] of families) {
    const sample = keys.filter((_, i) => i % Math.ceil(keys.length / 50) === 0);
    const p = redis.pipeline();
    for (const k of sample) p.memory('USAGE', k).ttl(k);
    const res = ((await p.exec()) ?? []).map(([, v]) => Number(v));
    const bytes = res.filter((_, i) => i % 2 === 0);
    const ttls = res.filter((_, i) => i % 2 === 1);
    const mean = bytes.reduce((a, b) => a + b, 0) / Math.max(1, bytes.length);
    out.push({
      family,
      keys: keys.length,
      mb: mb(mean * keys.length),
      ttl: [Math.min(...ttls), Math.max(...ttls)],
    });
  }
  return out.sort((a, b) => b.mb - a.mb);
}

// ---------------------------------------------------------------------------------------------
// Memory sampling

interface MemorySample {
  atSeconds: number;
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
  redisMb: number;
}

const mb = (bytes: number) => bytes / 1024 / 1024;

async function redisUsedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return mb(Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN));
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

// ---------------------------------------------------------------------------------------------

const roundTo = (n: number, multiple: number) => Math.max(multiple, Math.round(n / multiple) * multiple);

function versionOf(pkg: string): string {
  try {
    return JSON.parse(readFileSync(join(repo, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

function gitRevision(): string {
  const rev = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' });
  if (rev.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain', 'src'], { cwd: repo, encoding: 'utf8' });
  return `${rev.stdout.trim()}${dirty.stdout.trim() ? ' (src/ has uncommitted changes)' : ''}`;
}

async function main(): Promise<void> {
  if (args.baseline || args.report) {
    const { pairedBench } = await import('./paired.bench.js');
    return pairedBench();
  }
  const redisServer = process.env.REDIS_URL ? undefined : await startRedisServer();
  try {
    await bench(
      process.env.REDIS_URL ?? (redisServer?.url as string),
      redisServer ? 'private redis-server on loopback' : 'REDIS_URL',
    );
  } finally {
    if (redisServer) await stopRedisServer(redisServer);
  }
}

async function bench(redisUrl: string, redisWhere: string): Promise<void> {
  const startedAt = new Date();
  const load0 = loadavg();
  const probe = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 });
  const redisVersion = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1] ?? '?';

  const slack = await startSlackStandIn();
  const keys = generateSigningKeys();
  const agentSips = Array.from(
    { length: MIX_AGENTS },
    (_, i) => `sip:agent${String(i).padStart(2, '0')}@sip.telnyx.com`,
  );
  const env = {
    REDIS_URL: redisUrl,
    TELNYX_PUBLIC_KEY: keys.publicKeyBase64,
    PUBLIC_URL: 'https://sb.example.com',
    HOTLINE_NUMBER: '+18005550199',
    AGENTS: agentSips.map((sip, i) => `Agent ${String(i).padStart(2, '0')}=${sip}`).join(','),
    ROUTING_STRATEGY: 'random',
    DIAL_MAX_TARGETS: '2',
    // The mix's answering agent is free again when its call ends, as in the paired run: at a few
    // hundred calls a second a 30 s wrap-up would hold the whole roster.
    WRAP_UP_SECONDS: '0',
    SLACK_WEBHOOK_URL: slack.url,
  };
  const logLevel = args['log-level'];
  log(`starting the server (Redis ${redisVersion}, ${redisWhere})`);
  const server = await ServerChild.start({ env, logLevel }).catch(async (err) => {
    probe.disconnect();
    await slack.close();
    throw err;
  });
  const appUrl = `http://127.0.0.1:${server.app}`;
  const baselineUrl = `http://127.0.0.1:${server.baseline}`;
  const mix = { privateKey: keys.privateKey, agentSips };
  let callNumber = 0;
  const sign = (count: number) => {
    const t0 = performance.now();
    const calls = signCalls(callNumber, count, mix);
    callNumber += count;
    log(
      `  signed ${count} calls (${count * MIX_STEPS.length} requests) in ${fmt((performance.now() - t0) / 1000)} s`,
    );
    return calls;
  };
  /** Calls of the mix: legs signed during the phase, for the agents each inbound reply rang. */
  const signDialed = (count: number): DialedCall[] => {
    const t0 = performance.now();
    const calls = dialedCalls(callNumber, count, mix);
    callNumber += count;
    log(
      `  signed ${count} calls' inbound, caller and dial-result requests in ${fmt((performance.now() - t0) / 1000)} s (legs: as the replies come)`,
    );
    return calls;
  };
  const redisCpu = async () => {
    const info = await probe.info('cpu');
    const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? Number.NaN);
    const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? Number.NaN);
    return (user + sys) * 1e6;
  };
  /** Runs a phase and adds the CPU time each process spent per request. */
  const measured = async (phase: () => Promise<PhaseResult>): Promise<PhaseResult> => {
    const s0 = await server.child.ask({ type: 'cpu' }, 'cpu');
    const r0 = await redisCpu();
    const l0 = process.cpuUsage();
    const result = await phase();
    const l1 = process.cpuUsage(l0);
    const r1 = await redisCpu();
    const s1 = await server.child.ask({ type: 'cpu' }, 'cpu');
    const serverUs = s1.usage.user + s1.usage.system - s0.usage.user - s0.usage.system;
    const sent = (m: typeof s0, k: 'commands' | 'writes') => m.redis[k] + m.baselineRedis[k];
    result.cpu = {
      redisCommands: (sent(s1, 'commands') - sent(s0, 'commands')) / result.requests,
      redisWrites: (sent(s1, 'writes') - sent(s0, 'writes')) / result.requests,
      serverUs: serverUs / result.requests,
      redisUs: (r1 - r0) / result.requests,
      loadgenUs: (l1.user + l1.system) / result.requests,
      serverBusy: serverUs / 1e6 / result.seconds,
    };
    return result;
  };
  const phases: PhaseResult[] = [];
  const check = (r: PhaseResult) => {
    const unexpected = Object.entries(r.routes)
      .filter(([, s]) => s.unexpected > 0)
      .map(([route, s]) => `${route}: ${JSON.stringify(s.statuses)}`);
    const wrong = Object.entries(r.wrongBodies).map(([w, n]) => `${w}: ${n}`);
    const problems = [...unexpected, ...wrong];
    if (r.errors) problems.push(`${r.errors} connection errors (${r.timeouts} timeouts)`);
    log(
      `  ${r.name}: ${fmt(r.perSecond)} req/s${r.callsPerSecond ? `, ${fmt(r.callsPerSecond)} calls/s` : ''} over ${fmt(r.seconds)} s` +
        (r.cpu
          ? ` (per request: server ${fmt(r.cpu.serverUs)} µs CPU, ${fmt(r.cpu.redisCommands)} Redis commands in ${fmt(r.cpu.redisWrites)} writes, Redis ${fmt(r.cpu.redisUs)} µs, load generator ${fmt(r.cpu.loadgenUs)} µs; server busy ${fmt(100 * r.cpu.serverBusy)} %)`
          : '') +
        (problems.length ? ` — PROBLEMS: ${problems.join('; ')}` : ''),
    );
    return r;
  };

  const memoryNow = async () => (await server.child.ask({ type: 'memory', gc: true }, 'memory')).usage;
  const idle = await memoryNow();
  try {
    // Warm-up: JIT, connection pools, Redis scripts; its rate sizes the measured phases.
    log('warm-up');
    let warm = check(
      await playCalls({
        name: 'warm-up',
        url: appUrl,
        connections: CONNECTIONS,
        calls: signDialed(CONNECTIONS * 8),
        maxRequests: MIX_STEPS.length,
      }),
    );
    warm = check(
      await playCalls({
        name: 'warm-up',
        url: appUrl,
        connections: CONNECTIONS,
        calls: signDialed(roundTo((warm.callsPerSecond ?? 50) * 4, CONNECTIONS)),
        maxRequests: MIX_STEPS.length,
      }),
    );
    // A little above the warm-up's rate: the JIT is still warming there.
    const callRate = 1.25 * (warm.callsPerSecond ?? 50);

    log(`call mix, ${MIX_SECONDS} s`);
    const mixResult = check(
      await measured(() =>
        playCalls({
          name: 'call mix',
          url: appUrl,
          connections: CONNECTIONS,
          calls: signDialed(roundTo(callRate * MIX_SECONDS, CONNECTIONS)),
          maxRequests: MIX_STEPS.length,
        }),
      ),
    );
    phases.push(mixResult);

    // Below saturation: the latency a caller meets when the server is not flat out.
    const paced: { load: number; result: PhaseResult }[] = [];
    for (const load of PACED_LOADS) {
      const thinkMs = (1000 * CONNECTIONS) / (load * mixResult.perSecond);
      log(
        `call mix at ${fmt(100 * load)} % of that rate: ${CONNECTIONS} callers pausing ${fmt(thinkMs)} ms on average between requests, ${PACED_SECONDS} s`,
      );
      const result = check(
        await measured(() =>
          playCallsPaced({
            name: `call mix at ${fmt(100 * load)} % load`,
            url: appUrl,
            connections: CONNECTIONS,
            calls: signDialed(
              Math.ceil(load * (mixResult.callsPerSecond ?? 50) * PACED_SECONDS * 1.5) + CONNECTIONS,
            ),
            callLength: MIX_STEPS.length,
            thinkMs,
            seconds: PACED_SECONDS,
          }),
        ),
      );
      paced.push({ load, result });
      phases.push(result);
    }

    // The same calls split by route: every inbound first, then every status callback.
    log('isolated routes: /texml/inbound only, then /texml/status only');
    // Inbound alone runs ~4× the call rate, the callbacks ~1.4×: ≈ 5 s and 14 s.
    const isolated = sign(roundTo(callRate * 20, CONNECTIONS));
    const inboundOnly = check(
      await measured(() =>
        playCalls({
          name: '/texml/inbound only',
          url: appUrl,
          connections: CONNECTIONS,
          calls: isolated.map((c) => fixedSteps(c, [0])),
          maxRequests: 1,
        }),
      ),
    );
    phases.push(inboundOnly);
    const callbacksOnly = check(
      await measured(() =>
        playCalls({
          name: '/texml/status only',
          url: appUrl,
          connections: CONNECTIONS,
          calls: isolated.map((c) => fixedSteps(c, CALLBACK_STEPS)),
          maxRequests: CALLBACK_STEPS.length,
        }),
      ),
    );
    phases.push(callbacksOnly);

    // Peak RSS of the app's own phases, before the baselines load the same process.
    const appPeakRssBytes = (await server.child.ask({ type: 'memory' }, 'memory')).maxRssBytes;
    log(`baselines, ${BASELINE_SECONDS} s each`);
    const baselinePool = sign(roundTo(2000, CONNECTIONS));
    const baselineTexml = check(
      await measured(() =>
        cycleRequests({
          name: 'baseline: fixed TeXML',
          url: baselineUrl,
          connections: CONNECTIONS,
          seconds: BASELINE_SECONDS,
          route: 'baseline-texml',
          path: '/baseline/texml',
          requests: baselinePool.map((c) => c[0] as SignedRequest),
        }),
      ),
    );
    phases.push(baselineTexml);
    const baselineCallback = check(
      await measured(() =>
        cycleRequests({
          name: 'baseline: signed callback floor',
          url: baselineUrl,
          connections: CONNECTIONS,
          seconds: BASELINE_SECONDS,
          route: 'baseline-callback',
          path: '/baseline/callback',
          requests: baselinePool.flatMap((c) => CALLBACK_STEPS.map((s) => c[s] as SignedRequest)),
        }),
      ),
    );
    phases.push(baselineCallback);

    let profile: { summary: ProfileSummary; path: string; result: PhaseResult } | undefined;
    if (PROFILE_SECONDS > 0) {
      log(`CPU profile of the server during the call mix, ${PROFILE_SECONDS} s`);
      const calls = signDialed(roundTo(callRate * PROFILE_SECONDS, CONNECTIONS));
      const outDir = join(here, 'out');
      mkdirSync(outDir, { recursive: true });
      const path = join(outDir, `texml-mix-${startedAt.toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
      await server.child.ask({ type: 'profile-start', intervalUs: 500 }, 'profile-started');
      const result = check(
        await playCalls({
          name: 'call mix (profiled)',
          url: appUrl,
          connections: CONNECTIONS,
          calls,
          maxRequests: MIX_STEPS.length,
        }),
      );
      await server.child.ask({ type: 'profile-stop', path }, 'profile-stopped');
      const summary = summariseProfile(JSON.parse(readFileSync(path, 'utf8')) as CpuProfile, 25);
      profile = { summary, path, result };
    }

    let memory: { samples: MemorySample[]; result: PhaseResult[] } | undefined;
    if (SOAK_SECONDS > 0) {
      log(
        `memory soak, ${SOAK_SECONDS} s of the call mix (samples every ${SAMPLE_EVERY_MS / 1000} s, after a forced GC)`,
      );
      const samples: MemorySample[] = [];
      const t0 = performance.now();
      const sample = async () => {
        const { usage } = await server.child.ask({ type: 'memory', gc: true }, 'memory');
        samples.push({
          atSeconds: (performance.now() - t0) / 1000,
          rssMb: mb(usage.rss),
          heapUsedMb: mb(usage.heapUsed),
          externalMb: mb(usage.external),
          redisMb: await redisUsedMemory(probe),
        });
      };
      await sample();
      let sampling = Promise.resolve();
      const timer = setInterval(() => {
        sampling = sampling.then(sample);
      }, SAMPLE_EVERY_MS);
      const results: PhaseResult[] = [];
      try {
        for (;;) {
          const left = SOAK_SECONDS - (performance.now() - t0) / 1000;
          if (left < 2) break;
          const batchSeconds = Math.min(SOAK_BATCH_SECONDS, left);
          results.push(
            check(
              await playCalls({
                name: `soak batch ${results.length + 1}`,
                url: appUrl,
                connections: CONNECTIONS,
                calls: signDialed(roundTo(callRate * batchSeconds, CONNECTIONS)),
                maxRequests: MIX_STEPS.length,
              }),
            ),
          );
        }
      } finally {
        clearInterval(timer);
        await sampling;
      }
      await sample();
      memory = { samples, result: results };
    }

    const keyFamilies = await redisKeyFamilies(probe);
    const end = await server.child.ask({ type: 'memory', gc: true }, 'memory');
    const rss = {
      idleMb: mb(idle.rss),
      idleHeapMb: mb(idle.heapUsed),
      appPeakMb: mb(appPeakRssBytes),
      peakMb: mb(end.maxRssBytes),
    };
    const report = render({
      startedAt,
      load: [load0, loadavg()],
      redisVersion,
      redisWhere,
      logLevel,
      mixResult,
      paced,
      inboundOnly,
      callbacksOnly,
      baselineTexml,
      baselineCallback,
      profile,
      memory,
      keyFamilies,
      rss,
    });
    if (args.json) {
      writeFileSync(
        args.json,
        JSON.stringify(
          { phases, profile: profile?.summary, memory: memory?.samples, load: [load0, loadavg()] },
          null,
          2,
        ),
      );
    }
    process.stdout.write(`${report.run}\n`);
    if (report.soak) process.stdout.write(`${report.soak}\n`);
    if (!args['no-write']) {
      writeSection(args.out, 'run', report.run);
      if (report.soak) writeSection(args.out, 'soak', report.soak);
      log(`wrote ${relative(process.cwd(), args.out)}`);
    }
  } finally {
    await server.child.close();
    probe.disconnect();
    await slack.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Report

interface Report {
  startedAt: Date;
  load: [number[], number[]];
  redisVersion: string;
  redisWhere: string;
  logLevel: string;
  mixResult: PhaseResult;
  paced: { load: number; result: PhaseResult }[];
  inboundOnly: PhaseResult;
  callbacksOnly: PhaseResult;
  baselineTexml: PhaseResult;
  baselineCallback: PhaseResult;
  profile?: { summary: ProfileSummary; path: string; result: PhaseResult };
  memory?: { samples: MemorySample[]; result: PhaseResult[] };
  keyFamilies: KeyFamily[];
  /** The server's RSS idle after start (and its heap), and the peak RSS over the whole run. */
  rss: { idleMb: number; idleHeapMb: number; appPeakMb: number; peakMb: number };
}

const ROUTE_LABEL: Record<PhaseRoute, string> = {
  inbound: '`/texml/inbound`',
  status: '`/texml/status`',
  'dial-result': '`/texml/dial-result`',
  'baseline-texml': 'baseline: fixed TeXML',
  'baseline-callback': 'baseline: callback floor',
};

function routeRows(r: PhaseResult): (string | number)[][] {
  return Object.entries(r.routes).map(([route, s]) => [
    ROUTE_LABEL[route as PhaseRoute],
    s.requests,
    s.perSecond,
    s.p50,
    s.p90,
    s.p99,
    s.max,
    s.unexpected,
  ]);
}

const ROUTE_HEAD = [
  'route',
  'requests',
  'req/s',
  'p50 ms',
  'p90 ms',
  'p99 ms',
  'max ms',
  'non-2xx/unexpected',
];

function memoryVerdict(samples: MemorySample[]) {
  const xs = samples.map((s) => s.atSeconds / 60);
  const heapSlope = slope(
    xs,
    samples.map((s) => s.heapUsedMb),
  );
  const rssSlope = slope(
    xs,
    samples.map((s) => s.rssMb),
  );
  const first = samples[0] as MemorySample;
  const last = samples[samples.length - 1] as MemorySample;
  // After the first minute (JIT, pools, caches filling) the heap after GC must not trend up; a
  // shorter run is judged on its end-to-end growth only.
  const settled = samples.filter((s) => s.atSeconds >= 60);
  const settledSlope =
    settled.length >= 3
      ? slope(
          settled.map((s) => s.atSeconds / 60),
          settled.map((s) => s.heapUsedMb),
        )
      : Number.NaN;
  const growth = last.heapUsedMb - first.heapUsedMb;
  const flat = growth < FLAT.growthMb && !(settledSlope >= FLAT.slopeMbPerMin);
  return { heapSlope, rssSlope, settledSlope, first, last, flat };
}

const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? Number.NaN : a / b;

function cpuRows(phases: PhaseResult[]): (string | number)[][] {
  return phases
    .filter((p) => p.cpu)
    .map((p) => {
      const c = p.cpu as NonNullable<PhaseResult['cpu']>;
      return [
        p.name,
        p.perSecond,
        c.serverUs,
        100 * c.serverBusy,
        c.redisCommands,
        c.redisWrites,
        c.redisUs,
        c.loadgenUs,
      ];
    });
}

function render(r: Report): { run: string; soak?: string } {
  const cpu = cpus();
  const status = r.callbacksOnly.routes.status;
  const floor = r.baselineCallback.routes['baseline-callback'];
  const inboundMix = r.mixResult.routes.inbound;
  const inboundAlone = r.inboundOnly.routes.inbound;
  const texmlBase = r.baselineTexml.routes['baseline-texml'];
  const callbackRatio = ratio(status?.perSecond, floor?.perSecond);
  const callbackCpuRatio = ratio(r.baselineCallback.cpu?.serverUs, r.callbacksOnly.cpu?.serverUs);
  const yes = (ok: boolean) => (ok ? '**met**' : '**not met**');
  const mem = r.memory ? memoryVerdict(r.memory.samples) : undefined;
  const soakCalls = r.memory?.result.reduce((n, p) => n + (p.calls ?? 0), 0) ?? 0;
  const when = r.startedAt.toISOString().slice(0, 16).replace('T', ' ');
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;

  const lines: string[] = [];
  const add = (...more: string[]) => lines.push(...more);
  add(`## Latest run — ${when} UTC`, '');
  add(`\`${command}\` · revision ${gitRevision()}`, '');
  add(
    table(
      ['machine', ''],
      [
        ['CPU', `${cpu.length} × ${cpu[0]?.model ?? '?'}`],
        ['memory', `${fmt(totalmem() / 1024 ** 3)} GiB`],
        [
          'load average (1/5/15 min) before / after',
          `${r.load[0].map(fmt).join(' ')} / ${r.load[1].map(fmt).join(' ')}`,
        ],
        ['Node', process.version],
        ['Redis', `${r.redisVersion} (${r.redisWhere})`],
        [
          'packages',
          `fastify ${versionOf('fastify')}, ioredis ${versionOf('ioredis')}, pino ${versionOf('pino')}, autocannon ${versionOf('autocannon')}, undici ${versionOf('undici')}, tsx ${versionOf('tsx')}`,
        ],
        [
          'server',
          `buildApp in its own process (\`node --import tsx bench/server.ts\`), signatures on, logger ${r.logLevel === 'silent' ? 'silent' : `${r.logLevel} → /dev/null`}, ${MIX_AGENTS} agents (a caller holds the agent it rang until it hangs up: at ${CONNECTIONS} connections most stay free), random routing (one agent per ring round; longest-idle had concurrent callers contend for the same agent and most were queued), no wrap-up, Slack alerts paced at 1/s to a local stand-in`,
        ],
        [
          'load',
          `autocannon in the parent process, ${CONNECTIONS} connections, pipelining 1, requests signed before each phase except the call mix's agent legs, signed as each inbound reply says whom it rang (counted in the load generator's CPU)`,
        ],
      ],
    ),
  );
  add('', `### Call mix, saturated (${CONNECTIONS} connections, ${fmt(r.mixResult.seconds)} s)`, '');
  add(
    `Each connection plays whole calls, one request at a time, as fast as the server answers: ${MIX_STEPS.join(' → ')}. ` +
      "The legs are those of the agents the inbound reply's `<Dial>` rang (leg B's two steps left out when it rang one); " +
      "a caller the reply rang nobody for (queued, voicemail) hangs up: the caller's `completed` only. " +
      `**${fmt(r.mixResult.callsPerSecond ?? 0)} calls/s, ${fmt(r.mixResult.perSecond)} req/s** (${r.mixResult.calls} calls).`,
    '',
    table(ROUTE_HEAD, routeRows(r.mixResult)),
  );
  if (r.paced.length) {
    add('', `### Call mix below saturation (${CONNECTIONS} connections)`, '');
    add(
      `${CONNECTIONS} callers play the same calls with random pauses between requests (exponential, mean chosen for ` +
        'the given share of the saturated rate above), the way requests of concurrent calls are spread in time. ' +
        'Latency from sending a request to the end of its reply.',
      '',
      table(
        [
          'load',
          'calls/s',
          'req/s',
          'inbound p50 ms',
          'inbound p99 ms',
          'status p50 ms',
          'status p99 ms',
          'dial-result p50 ms',
          'dial-result p99 ms',
          'unexpected',
        ],
        r.paced.map(({ load, result: p }) => [
          `${fmt(100 * load)} %`,
          p.callsPerSecond ?? 0,
          p.perSecond,
          p.routes.inbound?.p50 ?? Number.NaN,
          p.routes.inbound?.p99 ?? Number.NaN,
          p.routes.status?.p50 ?? Number.NaN,
          p.routes.status?.p99 ?? Number.NaN,
          p.routes['dial-result']?.p50 ?? Number.NaN,
          p.routes['dial-result']?.p99 ?? Number.NaN,
          Object.values(p.routes).reduce((n, s) => n + s.unexpected, 0) +
            Object.values(p.wrongBodies).reduce((n, c) => n + c, 0),
        ]),
      ),
    );
  }
  add('', `### One route at a time (${CONNECTIONS} connections, saturated)`, '');
  add(
    `${r.inboundOnly.calls} new calls' /texml/inbound, then the same calls' seven /texml/status callbacks; ` +
      `the baselines cycle over signed requests of the same shape for ${BASELINE_SECONDS} s each.`,
    '',
    table(ROUTE_HEAD, [
      ...routeRows(r.inboundOnly),
      ...routeRows(r.callbacksOnly),
      ...routeRows(r.baselineTexml),
      ...routeRows(r.baselineCallback),
    ]),
  );
  add('', '### CPU per request', '');
  add(
    'CPU time (user + system) each process spent per request during the phase. Other processes share the two cores, ' +
      'so req/s moves from run to run; CPU per request hardly does, and on a saturated single-threaded server ' +
      'req/s is its inverse — it is the steadier way to compare two routes or two runs.',
    '',
    table(
      [
        'phase',
        'req/s',
        'server CPU µs/req',
        'server CPU % of one core',
        'Redis commands/req',
        'Redis writes/req',
        'Redis CPU µs/req',
        'load generator µs/req',
      ],
      cpuRows([
        r.mixResult,
        ...r.paced.map((p) => p.result),
        r.inboundOnly,
        r.callbacksOnly,
        r.baselineTexml,
        r.baselineCallback,
      ]),
    ),
  );
  add('', '### Targets', '');
  const p99Met = (v: number | undefined) => (v ?? Number.POSITIVE_INFINITY) < TARGETS.inboundP99Ms;
  const targetRows: (string | number)[][] = [
    [
      'signed callbacks ≥ 50 % of the floor baseline req/s',
      `${fmt(status?.perSecond ?? 0)} / ${fmt(floor?.perSecond ?? 0)} req/s = **${fmt(100 * callbackRatio)} %**`,
      yes(callbackRatio >= TARGETS.callbackRatio),
    ],
    [
      '… the same as CPU per request (floor µs / callback µs)',
      `${fmt(r.baselineCallback.cpu?.serverUs ?? Number.NaN)} / ${fmt(r.callbacksOnly.cpu?.serverUs ?? Number.NaN)} µs = **${fmt(100 * callbackCpuRatio)} %**`,
      yes(callbackCpuRatio >= TARGETS.callbackRatio),
    ],
    [
      `/texml/inbound p99 < ${TARGETS.inboundP99Ms} ms, ${CONNECTIONS} connections, call mix saturated`,
      `**${fmt(inboundMix?.p99 ?? Number.NaN)} ms** (floor baseline saturated: ${fmt(floor?.p99 ?? Number.NaN)} ms)`,
      yes(p99Met(inboundMix?.p99)),
    ],
    [
      `/texml/inbound p99 < ${TARGETS.inboundP99Ms} ms, ${CONNECTIONS} connections, inbound only saturated`,
      `**${fmt(inboundAlone?.p99 ?? Number.NaN)} ms**`,
      yes(p99Met(inboundAlone?.p99)),
    ],
  ];
  for (const { load, result } of r.paced) {
    targetRows.push([
      `/texml/inbound p99 < ${TARGETS.inboundP99Ms} ms, ${CONNECTIONS} connections, call mix at ${fmt(100 * load)} % load`,
      `**${fmt(result.routes.inbound?.p99 ?? Number.NaN)} ms**`,
      yes(p99Met(result.routes.inbound?.p99)),
    ]);
  }
  if (mem) {
    targetRows.push([
      `server memory flat over ${fmt(SOAK_SECONDS)} s of the call mix`,
      `heap after GC ${fmt(mem.first.heapUsedMb)} → ${fmt(mem.last.heapUsedMb)} MB${Number.isNaN(mem.settledSlope) ? '' : ` (${fmt(mem.settledSlope)} MB/min after the first minute)`}; RSS ${fmt(mem.first.rssMb)} → ${fmt(mem.last.rssMb)} MB`,
      yes(mem.flat),
    ]);
  }
  add(table(['target', 'measured', ''], targetRows));
  add(
    '',
    table(
      ['other ratios', ''],
      [
        [
          '/texml/inbound alone vs the fixed-TeXML baseline, req/s',
          `${fmt(inboundAlone?.perSecond ?? 0)} / ${fmt(texmlBase?.perSecond ?? 0)} = ${fmt(100 * ratio(inboundAlone?.perSecond, texmlBase?.perSecond))} %`,
        ],
        [
          'call mix vs the floor baseline, req/s',
          `${fmt(r.mixResult.perSecond)} / ${fmt(floor?.perSecond ?? 0)} = ${fmt(100 * ratio(r.mixResult.perSecond, floor?.perSecond))} %`,
        ],
      ],
    ),
  );
  if (r.profile) {
    const p = r.profile;
    add(
      '',
      `### CPU profile of the server during the call mix (${fmt(p.result.seconds)} s, ${fmt(p.result.callsPerSecond ?? 0)} calls/s while profiling)`,
      '',
    );
    add(
      `Sampled every 500 µs by the inspector in the server process (which slows it down: read shares, not absolute times); ` +
        `${fmt(p.summary.busyMs)} ms busy of ${fmt(p.summary.totalMs)} ms. ` +
        `File: \`${relative(repo, p.path)}\` (open in Chrome DevTools → Performance → Load profile).`,
      '',
      'Where the busy time goes (each sample charged to one cost centre by its whole stack):',
      '',
      table(
        ['cost centre', 'ms', '% of busy', 'µs per request'],
        p.summary.costCentres
          .filter((row) => row.name !== 'idle')
          .map((row) => [
            row.name,
            row.ms,
            (100 * row.ms) / p.summary.busyMs,
            (1000 * row.ms) / p.result.requests,
          ]),
      ),
      '',
      'Self time by function (built-ins such as JSON.parse count in their caller):',
      '',
      table(
        ['function', 'where', 'self ms', '% of busy'],
        p.summary.selfByFunction
          .filter((row) => row.name !== '(idle)')
          .slice(0, 20)
          .map((row) => [
            `\`${row.name}\``,
            row.where ? `\`${row.where}\`` : '',
            row.ms,
            (100 * row.ms) / p.summary.busyMs,
          ]),
      ),
      '',
      'Inclusive time of Switchboard functions (their synchronous parts: each await splits a stack):',
      '',
      table(
        ['function', 'where', 'incl. ms', '% of busy'],
        p.summary.inclusiveSrc
          .slice(0, 15)
          .map((row) => [`\`${row.name}\``, `\`${row.where}\``, row.ms, (100 * row.ms) / p.summary.busyMs]),
      ),
    );
  }
  add('', '### Memory', '');
  add(
    `Server process: RSS ${fmt(r.rss.idleMb)} MB idle after start (heap ${fmt(r.rss.idleHeapMb)} MB), ` +
      `**peak RSS ${fmt(r.rss.appPeakMb)} MB** through the call-mix and single-route phases, ${fmt(r.rss.peakMb)} MB ` +
      'over the whole run (the baselines run in the same process). The server runs under tsx here; the image runs ' +
      'compiled JavaScript.',
  );
  if (r.memory && mem) {
    add('', `Soak: ${fmt(SOAK_SECONDS)} s of the call mix, ${soakCalls} calls.`, '');
    add(memoryText(r.memory.samples, mem, SOAK_SECONDS < 300));
  }
  add('', '### What is in Redis after the run', '');
  add(
    'Every key family the run left, counted with SCAN; memory estimated from MEMORY USAGE of a sample; ' +
      'TTL of the sampled keys (–1: never expires).',
    '',
    table(
      ['key family', 'keys', '≈ MB', 'TTL s (min–max)'],
      r.keyFamilies.map((f) => [`\`${f.family}\``, f.keys, f.mb, `${f.ttl[0]}–${f.ttl[1]}`]),
    ),
  );
  const run = lines.join('\n');

  let soak: string | undefined;
  if (r.memory && mem && SOAK_SECONDS >= 300) {
    const rate = r.memory.result.reduce((n, p) => n + p.requests, 0) / SOAK_SECONDS;
    soak = [
      `## ${fmt(SOAK_SECONDS / 60)}-minute memory run — ${when} UTC`,
      '',
      `\`${command}\` on the machine of that run: the call mix at ${CONNECTIONS} connections in ` +
        `${r.memory.result.length} batches (each signed just before it runs), ${soakCalls} calls, ` +
        `≈ ${fmt(rate)} req/s on average including the pauses to sign. The server's memory is sampled every ` +
        `${SAMPLE_EVERY_MS / 1000} s right after a forced full GC (\`--expose-gc\`).`,
      '',
      memoryText(r.memory.samples, mem, true),
    ].join('\n');
  }
  return { run, soak };
}

function memoryText(samples: MemorySample[], mem: ReturnType<typeof memoryVerdict>, all: boolean): string {
  const out: string[] = [];
  out.push(
    `Heap after GC ${fmt(mem.first.heapUsedMb)} → ${fmt(mem.last.heapUsedMb)} MB (slope ${fmt(mem.heapSlope)} MB/min overall, ` +
      `${Number.isNaN(mem.settledSlope) ? 'not judged: run < 3 min' : `${fmt(mem.settledSlope)} MB/min`} after the first minute); RSS ${fmt(mem.first.rssMb)} → ${fmt(mem.last.rssMb)} MB ` +
      `(slope ${fmt(mem.rssSlope)} MB/min). Verdict: **${mem.flat ? 'flat' : 'growing'}** ` +
      `(flat = heap after GC grows < ${FLAT.growthMb} MB end to end and, in runs of 3 min or more, trends < ${FLAT.slopeMbPerMin} MB/min after the first minute). ` +
      `Redis used_memory ${fmt(mem.first.redisMb)} → ${fmt(mem.last.redisMb)} MB: the Slack outbox and routing history live there by design.`,
  );
  out.push('');
  const rows = (
    all ? samples : samples.filter((_, i) => i === 0 || i === samples.length - 1 || i % 3 === 0)
  ).map((s) => [s.atSeconds, s.rssMb, s.heapUsedMb, s.externalMb, s.redisMb]);
  out.push(table(['t s', 'RSS MB', 'heap used MB', 'external MB', 'Redis MB'], rows));
  return out.join('\n');
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
