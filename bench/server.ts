/**
 * The server half of `npm run bench`, run as its own process (`node --import tsx bench/server.ts
 * '<json options>'`) so the load generator never shares its event loop. It builds the real app
 * with `buildApp` exactly as src/server.ts does (Redis from REDIS_URL, signatures on), plus the two
 * baselines on a second port, and answers the parent over IPC:
 *
 *   → { type: 'ready', app: port, baseline: port }              once both listen
 *   ← { type: 'memory', gc?: boolean }  → { type: 'memory', usage, maxRssBytes }
 *   ← { type: 'cpu' }                   → { type: 'cpu', usage, redis, baselineRedis }
 *                                          (process.cpuUsage(); Redis commands and socket writes)
 *   ← { type: 'profile-start', intervalUs } → { type: 'profile-started' }
 *   ← { type: 'profile-stop', path }    → { type: 'profile-stopped', path }
 *   ← { type: 'close' }                 → exits after closing both servers
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { loggerOptions } from '../src/logger.js';
import { countOsWrites } from '../test/support/os-writes.js';
import { buildBaselineServer } from './baseline-server.js';

export interface BenchServerOptions {
  /** The environment the app is configured from (loadConfig), as in production. */
  env: Record<string, string>;
  /** 'silent' (default) or a pino level; logs then go to /dev/null through the production options. */
  logLevel: string;
}

export type ParentMessage =
  | { type: 'memory'; gc?: boolean }
  | { type: 'cpu' }
  | { type: 'profile-start'; intervalUs: number }
  | { type: 'profile-stop'; path: string }
  | { type: 'close' };

export type ChildMessage =
  | { type: 'ready'; app: number; baseline: number }
  | { type: 'memory'; usage: NodeJS.MemoryUsage; maxRssBytes: number }
  | {
      type: 'cpu';
      usage: NodeJS.CpuUsage;
      redis: { commands: number; writes: number };
      baselineRedis: { commands: number; writes: number };
    }
  | { type: 'profile-started' }
  | { type: 'profile-stopped'; path: string }
  | { type: 'error'; message: string };

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as BenchServerOptions;
  const send = (m: ChildMessage) => process.send?.(m);
  const config = loadConfig({ ...options.env, LOG_LEVEL: options.logLevel });
  const logger =
    options.logLevel === 'silent'
      ? pino({ level: 'silent' })
      : pino(loggerOptions(options.logLevel), pino.destination({ dest: '/dev/null', sync: true }));

  const app = await buildApp(config, { logger });
  await app.listen({ port: 0, host: '127.0.0.1' });

  // The floor's own client, fixed here so a change to src/redis.ts does not move the floor.
  const baselineRedis = new Redis(config.redisUrl as string, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2_000,
  });
  await new Promise((resolve) => baselineRedis.once('ready', resolve));
  const baseline = await buildBaselineServer({
    publicKeyBase64: config.telnyx.publicKey as string,
    redis: baselineRedis,
    ttlSeconds: config.callTtlSeconds,
  });
  await baseline.listen({ port: 0, host: '127.0.0.1' });

  const appRedis = countRedisTraffic(app.services.redis as Redis);
  const baselineRedisTraffic = countRedisTraffic(baselineRedis);

  let session: Session | undefined;
  process.on('message', async (m: ParentMessage) => {
    try {
      switch (m.type) {
        case 'memory':
          if (m.gc) (globalThis as { gc?: () => void }).gc?.();
          send({
            type: 'memory',
            usage: process.memoryUsage(),
            maxRssBytes: process.resourceUsage().maxRSS * 1024,
          });
          break;
        case 'cpu':
          send({
            type: 'cpu',
            usage: process.cpuUsage(),
            redis: appRedis(),
            baselineRedis: baselineRedisTraffic(),
          });
          break;
        case 'profile-start':
          session = new Session();
          session.connect();
          await session.post('Profiler.enable');
          await session.post('Profiler.setSamplingInterval', { interval: m.intervalUs });
          await session.post('Profiler.start');
          send({ type: 'profile-started' });
          break;
        case 'profile-stop': {
          if (!session) throw new Error('no profile running');
          const { profile } = await session.post('Profiler.stop');
          session.disconnect();
          session = undefined;
          writeFileSync(m.path, JSON.stringify(profile));
          send({ type: 'profile-stopped', path: m.path });
          break;
        }
        case 'close':
          await baseline.close();
          await baselineRedis.quit().catch(() => baselineRedis.disconnect());
          await app.close();
          process.exit(0);
      }
    } catch (err) {
      send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  });
  // The parent died: do not linger.
  process.on('disconnect', () => process.exit(0));

  send({
    type: 'ready',
    app: (app.server.address() as AddressInfo).port,
    baseline: (baseline.server.address() as AddressInfo).port,
  });
}

/**
 * Counts what an ioredis client sends: commands (MULTI/EXEC not counted), and the writes its socket
 * hands to the operating system (test/support/os-writes.ts) — the round trips the process started.
 */
function countRedisTraffic(redis: Redis): () => { commands: number; writes: number } {
  let commands = 0;
  let writes = 0;
  const client = redis as unknown as {
    sendCommand: (command: { name: string }, ...rest: unknown[]) => unknown;
  };
  const send = client.sendCommand.bind(redis);
  client.sendCommand = (command, ...rest) => {
    if (command.name !== 'multi' && command.name !== 'exec') commands++;
    return send(command, ...rest);
  };
  countOsWrites(redis, () => {
    writes++;
  });
  return () => ({ commands, writes });
}

main().catch((err) => {
  process.send?.({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.stderr.write(`bench server failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
