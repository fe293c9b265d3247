import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createRedis, describeRedisError, redisProblem } from '../src/redis.js';
import { memoryLogger } from './jobs/test-logger.js';
import { freePort } from './setup/redis-server.js';

const lines = (logger: ReturnType<typeof memoryLogger>) =>
  logger.records as Array<{ level: number; msg: string }>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Redis unreachable: readable, once per outage', () => {
  const cleanups: Array<() => Promise<unknown> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('describes network errors by address and code, other errors by what the server said', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(describeRedisError(refused, 'redis.internal:6379')).toBe(
      'cannot reach Redis at redis.internal:6379 (ECONNREFUSED)',
    );
    const auth = Object.assign(new Error('WRONGPASS invalid username-password pair'), { code: undefined });
    expect(describeRedisError(auth, 'r:6379')).toBe(
      'Redis at r:6379: WRONGPASS invalid username-password pair',
    );
  });

  it('a wrong but valid REDIS_URL logs one line naming host:port and the code, no stack, not repeated', async () => {
    const port = await freePort();
    const logger = memoryLogger('info');
    const redis = createRedis(`redis://127.0.0.1:${port}`, logger);
    cleanups.push(() => redis.disconnect());
    await sleep(1_500); // several reconnect attempts
    const errors = lines(logger).filter((l) => l.level >= 50);
    expect(errors.map((l) => l.msg)).toEqual([
      `cannot reach Redis at 127.0.0.1:${port} (ECONNREFUSED); calls are served without it until it returns`,
    ]);
    expect(JSON.stringify(errors)).not.toContain('stack');
    expect(redisProblem(redis)).toBe(`cannot reach Redis at 127.0.0.1:${port} (ECONNREFUSED)`);
  });

  it('the app says so on /readyz and the admin API, and the voicemail check does not log every 5 s', async () => {
    const port = await freePort();
    const logger = memoryLogger('info');
    const app = await buildApp(
      loadConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, API_TOKEN: 'tok-0123456789abcdef' }),
      { logger, finalizeEveryMs: 50 },
    );
    cleanups.push(() => app.close());
    await app.ready();
    await sleep(800);
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json().reason).toBe(`cannot reach Redis at 127.0.0.1:${port} (ECONNREFUSED)`);
    const calls = await app.inject({
      url: '/api/calls',
      headers: { authorization: 'Bearer tok-0123456789abcdef' },
    });
    expect(calls.statusCode).toBe(503);
    expect(calls.json()).toMatchObject({
      code: 'SB_STORE_UNAVAILABLE',
      message: `call state unavailable: cannot reach Redis at 127.0.0.1:${port} (ECONNREFUSED)`,
    });
    const loud = lines(logger).filter((l) => l.level >= 40);
    expect(loud.filter((l) => /voicemail decisions/.test(l.msg))).toEqual([]);
    expect(JSON.stringify(loud)).not.toContain("Stream isn't writeable");
  });
});
