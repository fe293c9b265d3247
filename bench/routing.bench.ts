/**
 * Routing cost: the pure decision from 5 to 1,000 agents and 0 to 10,000 history entries per
 * caller, and the store `load` (one round trip) against a real Redis at the same sizes.
 *
 *   npx tsx bench/routing.bench.ts            # REDIS_URL, else 127.0.0.1:6379, else a private redis-server
 *
 * Prints Markdown tables; bench/RESULTS-routing.md holds a run with notes.
 */
import { cpus, totalmem } from 'node:os';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { RoutingStrategy } from '../src/config.js';
import { createMemoryRoutingStore } from '../src/routing/memory-routing-store.js';
import { createRedisRoutingStore } from '../src/routing/redis-routing-store.js';
import { type RoutingAgent, routeCall, withPresence } from '../src/routing/route-call.js';
import { createRouter } from '../src/routing/router.js';
import type { RoutingStore } from '../src/routing/routing-store.js';
import { startRedisServer, stopRedisServer } from '../test/setup/redis-server.js';
import { seededRandom } from '../test/support/seeded-random.js';

const AGENT_COUNTS = [5, 50, 200, 1000];
const HISTORY_SIZES = [0, 10, 1000, 10_000];
const STRATEGIES: RoutingStrategy[] = ['ring-all', 'round-robin', 'longest-idle', 'random'];
const T0 = 1_750_000_000_000;

/** mulberry32: the same roster and history on every run. */

function roster(n: number): RoutingAgent[] {
  const rng = seededRandom(n);
  return Array.from({ length: n }, (_, i) => ({
    id: `conn-${i}`,
    name: `agent ${String(i).padStart(4, '0')}`,
    sip: `sip:agent${i}@sip.telnyx.com`,
    online: rng() < 0.9,
    busy: rng() < 0.1,
    idleSince: rng() < 0.05 ? undefined : T0 + Math.floor(rng() * 3_600_000),
  }));
}

/** One answered call per agent: a flat history, so no agent is sticky and the strategy runs in full. */
function history(size: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < size; i++) out[`conn-${i}`] = 1;
  return out;
}

/**
 * µs per call: the best of five ~60 ms windows after a warm-up. The best window, not the mean,
 * because other processes share the two cores and only ever make a window slower.
 */
function measure(fn: () => unknown, windows = 5, windowMs = 60): number {
  for (let i = 0; i < 200; i++) fn();
  const budget = BigInt(windowMs) * 1_000_000n;
  let best = Number.POSITIVE_INFINITY;
  for (let w = 0; w < windows; w++) {
    let iterations = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0n;
    while (elapsed < budget) {
      for (let i = 0; i < 20; i++) fn();
      iterations += 20;
      elapsed = process.hrtime.bigint() - start;
    }
    best = Math.min(best, Number(elapsed) / 1000 / iterations);
  }
  return best;
}

async function latencies(
  fn: () => Promise<unknown>,
  runs: number,
): Promise<{ p50: number; p99: number; mean: number }> {
  for (let i = 0; i < 20; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { p50: at(0.5), p99: at(0.99), mean: samples.reduce((s, x) => s + x, 0) / samples.length };
}

const fmt = (us: number) => (us < 10 ? us.toFixed(2) : us < 100 ? us.toFixed(1) : us.toFixed(0));

function decisionTable(): string {
  const lines = [
    '| agents | history | ring-all µs | round-robin µs | longest-idle µs | random µs | withPresence + ring-all µs | ring-all ops/s |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const n of AGENT_COUNTS) {
    const agents = roster(n);
    const bare = agents.map(({ idleSince: _i, busy: _b, ...rest }) => rest);
    const idle: Record<string, number> = {};
    const busy = new Set<string>();
    for (const a of agents) {
      if (a.idleSince !== undefined) idle[a.id] = a.idleSince;
      if (a.busy) busy.add(a.id);
    }
    for (const h of HISTORY_SIZES) {
      const hist = history(h);
      const rng = seededRandom(1);
      let rotation = 0;
      const input = (strategy: RoutingStrategy, list: readonly RoutingAgent[] = agents) => ({
        caller: '+13125550100',
        history: hist,
        agents: list,
        strategy,
        round: 1,
        alreadyRung: [],
        rotation: rotation++,
        sticky: true,
        threshold: 0.6,
        maxTargets: 10,
        rng,
      });
      const perStrategy = STRATEGIES.map((s) => measure(() => routeCall(input(s))));
      const withPresenceUs = measure(() => routeCall(input('ring-all', withPresence(bare, { idle, busy }))));
      lines.push(
        `| ${n} | ${h} | ${perStrategy.map(fmt).join(' | ')} | ${fmt(withPresenceUs)} | ${Math.round(1e6 / perStrategy[0]!).toLocaleString('en-US')} |`,
      );
    }
  }
  return lines.join('\n');
}

async function connectRedis(): Promise<{ url: string; stop: () => Promise<void>; private: boolean }> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await probe.connect();
    await probe.ping();
    await probe.quit();
    return { url, stop: async () => {}, private: false };
  } catch {
    probe.disconnect();
    const server = await startRedisServer();
    return { url: server.url, stop: () => stopRedisServer(server), private: true };
  }
}

async function seed(store: RoutingStore, agents: number, sizes: number[]): Promise<void> {
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < agents; i++) {
    pending.push(store.markIdle(`conn-${i}`, `leg-${i}`, T0 + i));
    if (i % 10 === 0) pending.push(store.markBusy(`conn-${i}`, `leg-busy-${i}`, Date.now()));
  }
  for (const h of sizes) {
    for (let i = 0; i < h; i++)
      pending.push(store.recordAnswer(`call-${h}-${i}`, `+1312555${h}`, `conn-${i}`));
  }
  await Promise.all(pending);
}

async function storeTable(url: string): Promise<{ table: string; redisVersion: string }> {
  const admin = new Redis(url);
  const info = await admin.info('server');
  const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  const lines = [
    '| agents | history | Redis load p50 µs | p99 µs | Redis load + rotation p50 µs | router.route (Redis, ring-all) p50 µs | memory load p50 µs |',
    '|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const logger = pino({ level: 'silent' });
  for (const n of AGENT_COUNTS) {
    const prefix = `bench-routing-${process.pid}-${n}:`;
    const redis = new Redis(url, { keyPrefix: prefix });
    const store = createRedisRoutingStore(redis);
    const memory = createMemoryRoutingStore();
    await seed(store, n, HISTORY_SIZES);
    await seed(memory, n, HISTORY_SIZES);
    const agents = roster(n).map(({ idleSince: _i, busy: _b, ...rest }) => rest);
    const router = createRouter({
      store,
      settings: { strategy: 'ring-all', sticky: true, stickyThreshold: 0.6, maxTargets: 10 },
      logger,
    });
    for (const h of HISTORY_SIZES) {
      const caller = `+1312555${h}`;
      const runs = h >= 10_000 ? 200 : 500;
      const plain = await latencies(() => store.load(caller), runs);
      const rotation = await latencies(() => store.load(caller, { withRotation: true }), runs);
      const routed = await latencies(() => router.route({ caller, agents, round: 1, alreadyRung: [] }), runs);
      const mem = await latencies(() => memory.load(caller), runs);
      lines.push(
        `| ${n} | ${h} | ${fmt(plain.p50)} | ${fmt(plain.p99)} | ${fmt(rotation.p50)} | ${fmt(routed.p50)} | ${fmt(mem.p50)} |`,
      );
    }
    // Clean up after ourselves on a shared Redis (SCAN is fine here: this is a benchmark, not a hot path).
    const keys: string[] = [];
    for await (const batch of admin.scanStream({ match: `${prefix}*`, count: 1000 }))
      keys.push(...(batch as string[]));
    for (let i = 0; i < keys.length; i += 500) await admin.del(...keys.slice(i, i + 500));
    await redis.quit();
  }
  await admin.quit();
  return { table: lines.join('\n'), redisVersion };
}

async function main(): Promise<void> {
  const cpu = cpus();
  console.log(`# routing benchmark\n`);
  console.log(
    `Node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${process.platform}/${process.arch}\n`,
  );
  console.log('## routeCall (pure decision), µs per decision\n');
  console.log(decisionTable());
  const redis = await connectRedis();
  try {
    const { table, redisVersion } = await storeTable(redis.url);
    console.log(
      `\n## store load, one round trip (Redis ${redisVersion}${redis.private ? ', private redis-server on loopback' : ''}), sequential\n`,
    );
    console.log(table);
  } finally {
    await redis.stop();
  }
}

await main();
