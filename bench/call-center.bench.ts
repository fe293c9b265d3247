/**
 * Cost of the call-center core's Redis operations, one at a time (latency as one caller sees it):
 * the roster read the router makes per inbound call, an agent transition (compare-and-set), the
 * queue's enqueue/claim/release/remove with full lines, and an event append.
 *
 *   npx tsx bench/call-center.bench.ts        # REDIS_URL, else a private redis-server
 *
 * Prints a Markdown table; bench/RESULTS-call-center.md holds a run with notes.
 */
import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import { transitionAgent } from '../src/agents/agent-state-store.js';
import { RedisAgentStateStore } from '../src/agents/redis-agent-state-store.js';
import type { CallCenterEvent } from '../src/events/call-center-event.js';
import { RedisEventLog } from '../src/events/redis-event-log.js';
import { RedisQueueStore } from '../src/queues/redis-queue-store.js';
import { startRedisServer, stopRedisServer } from '../test/setup/redis-server.js';

const ITERATIONS = 2_000;

async function measure(name: string, op: (i: number) => Promise<unknown>): Promise<string> {
  for (let i = 0; i < 100; i++) await op(-1 - i); // warm-up (scripts loaded, JIT)
  const times: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = process.hrtime.bigint();
    await op(i);
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  const p = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))]!);
  const mean = times.reduce((s, t) => s + t, 0) / times.length;
  return `| ${name} | ${p(0.5)} | ${p(0.99)} | ${Math.round(1e6 / mean).toLocaleString('en-US')} |`;
}

async function main(): Promise<void> {
  const server = process.env.REDIS_URL ? undefined : await startRedisServer();
  const url = process.env.REDIS_URL ?? server!.url;
  const redis = new Redis(url, { keyPrefix: `bench${process.pid}:` });
  try {
    const agents = new RedisAgentStateStore(redis);
    const queues = new RedisQueueStore(redis);
    const log = new RedisEventLog(redis);
    const rows: string[] = [];
    const now = Date.now();

    for (const n of [50, 200, 1000]) {
      const ids = Array.from({ length: n }, (_, i) => `agent-${n}-${i}`);
      for (const id of ids) {
        await transitionAgent(agents, id, { type: 'status-set', status: 'available', by: 'x' }, { now });
        await transitionAgent(
          agents,
          id,
          { type: 'status-set', status: 'break', reason: 'r', by: 'x' },
          { now },
        );
      }
      rows.push(await measure(`agents.getMany(${n})`, () => agents.getMany(ids)));
    }

    rows.push(
      await measure('transitionAgent offer + cancel (2 CAS)', async (i) => {
        await transitionAgent(
          agents,
          'busy-agent',
          { type: 'offer', callSid: `C${i}`, registered: true },
          { now },
        );
        await transitionAgent(agents, 'busy-agent', { type: 'offer-cancelled', callSid: `C${i}` }, { now });
      }),
    );

    // Three queues of 50 callers each: the lines at their default maxWaiting.
    for (const q of ['q1', 'q2', 'q3']) {
      for (let i = 0; i < 50; i++) {
        await queues.enqueue(
          { callSid: `${q}-${i}`, queue: q, caller: '+13125550100' },
          { now: now + i, maxWaiting: 100 },
        );
      }
    }
    rows.push(
      await measure('queue enqueue + remove (51st caller)', async (i) => {
        await queues.enqueue(
          { callSid: `E${i}`, queue: 'q1', caller: '+13125550100' },
          { now, maxWaiting: 100 },
        );
        await queues.remove(`E${i}`, 'abandon', now);
      }),
    );
    rows.push(
      await measure('queue claimNext over 3 full lines + release', async () => {
        const e = await queues.claimNext(['q1', 'q2', 'q3'], 'agent', now + 1000);
        if (e) await queues.release(e.callSid, 'agent');
      }),
    );
    // One caller held for another agent (sticky routing, docs/interface.md §5.1): while a hold
    // lasts, a claim reads the lines whole instead of stopping at each line's first caller.
    await queues.enqueue(
      {
        callSid: 'held',
        queue: 'q3',
        caller: '+13125550100',
        preferredAgent: 'someone-else',
        preferredUntil: now + 3_600_000,
      },
      { now: now + 60, maxWaiting: 100 },
    );
    rows.push(
      await measure('queue claimNext over 3 full lines + release, one caller held', async () => {
        const e = await queues.claimNext(['q1', 'q2', 'q3'], 'agent', now + 1000);
        if (e) await queues.release(e.callSid, 'agent');
      }),
    );
    await queues.remove('held', 'abandon', now);
    rows.push(await measure('queue summaries(3 queues)', () => queues.summaries(['q1', 'q2', 'q3'], now)));

    const event = (i: number): CallCenterEvent => ({
      type: 'offer',
      at: now,
      queue: 'q1',
      callSid: `C${i}`,
      agent: 'agent-1',
    });
    rows.push(await measure('event log append', (i) => log.append(event(i))));
    rows.push(
      await measure('event log appendMany(3)', (i) => log.appendMany([event(i), event(i), event(i)])),
    );
    rows.push(await measure('event log read 1,000', () => log.read({ limit: 1_000 })));

    const info = await redis.info('server');
    console.log(
      `Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Redis ${/redis_version:(\S+)/.exec(info)?.[1]}, ${ITERATIONS} sequential runs each\n`,
    );
    console.log('| operation | p50 µs | p99 µs | ops/s (one at a time) |\n|---|---:|---:|---:|');
    console.log(rows.join('\n'));
  } finally {
    if (!server) {
      // A shared Redis: remove what the run wrote (KEYS patterns are not prefixed by ioredis).
      const admin = new Redis(url);
      const keys = await admin.keys(`bench${process.pid}:*`);
      if (keys.length) await admin.del(...keys);
      await admin.quit();
    }
    await redis.quit();
    if (server) await stopRedisServer(server);
  }
}

await main();
