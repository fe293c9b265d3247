import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { type AppDeps, buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { type Exchange, TelnyxPlayer } from '../src/simulator/telnyx-player.js';
import { testRedis, uniquePrefix } from './setup/redis.js';

export const AGENTS =
  'Alice=sip:alice@sip.telnyx.com,Bob=sip:bob@sip.telnyx.com,Carol=sip:carol@sip.telnyx.com';

export interface TestServer {
  app: FastifyInstance;
  url: string;
  redis: Redis | null;
  player: TelnyxPlayer;
  exchanges: Exchange[];
  close(): Promise<void>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /**
   * 'redis' (default): a real Redis with a unique key prefix; 'memory': the embedded default;
   * 'config': the app connects to REDIS_URL itself, as in production.
   */
  store?: 'redis' | 'memory' | 'config';
  /** Share another server's Redis keys: a second replica of the same deployment. */
  keyPrefix?: string;
  deps?: AppDeps;
  privateKey?: import('node:crypto').KeyObject;
}

/**
 * Builds the app from an environment, listens on a free loopback port, and returns a Telnyx
 * player pointed at it. Slack pacing is shortened so alerts arrive within milliseconds.
 */
export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  // No wrap-up and no auto-pause unless a test sets them: the call scenarios ring the same
  // agents back to back and let them ring out over and over (docs/interface.md §5).
  const config = loadConfig({
    AGENTS,
    LOG_LEVEL: 'silent',
    WRAP_UP_SECONDS: '0',
    MAX_NO_ANSWER: '100',
    ...opts.env,
  });
  const redis =
    opts.store === 'memory' || opts.store === 'config' ? null : testRedis(opts.keyPrefix ?? uniquePrefix());
  const app = await buildApp(config, {
    ...(opts.store === 'config' ? {} : { redis }),
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    slack: { minIntervalMs: 5, backoff: { baseMs: 20, capMs: 200 }, idlePollMs: 20 },
    finalizeEveryMs: 50,
    ...opts.deps,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const exchanges: Exchange[] = [];
  const player = new TelnyxPlayer({
    baseUrl: url,
    privateKey: opts.privateKey,
    onExchange: (x) => exchanges.push(x),
  });
  return {
    app,
    url,
    redis,
    player,
    exchanges,
    async close() {
      await app.close();
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** Posts a raw form body (or anything else) to the server. */
export async function postRaw(
  url: string,
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' },
): Promise<{ status: number; body: string; type: string | null }> {
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

/** Waits until `check` stops throwing (polling), for effects that finish after the reply. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
