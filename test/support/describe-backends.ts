import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe } from 'vitest';
import { testRedis, uniquePrefix } from '../setup/redis.js';

/** How to build one store on each backend. */
export interface Implementations<T> {
  memory: () => T;
  redis: (redis: Redis) => T;
}

/** The backend a suite runs on; everything it makes is cleaned up after each test. */
export interface Backend {
  readonly name: 'memory' | 'redis';
  /**
   * One store on this test's fresh namespace (Redis: a unique key prefix per test, so files can
   * run in parallel on one Redis).
   */
  one<T>(impl: Implementations<T>): T;
  /**
   * Two handles on the same data, as two replicas have: two store instances on two Redis
   * connections with the same prefix. The memory backend lives in one process, so its "replicas"
   * are one instance twice.
   */
  pair<T>(impl: Implementations<T>): [T, T];
  /** A raw client on this test's prefix (Redis only), to look at keys and TTLs. */
  redis(): Redis;
}

/**
 * Runs `suite` twice, once against the in-memory implementation and once against real Redis, so
 * both implementations of a store interface are held to the same behaviour.
 */
export function describeBackends(name: string, suite: (backend: Backend) => void): void {
  for (const kind of ['memory', 'redis'] as const) {
    describe(`${name} (${kind})`, () => {
      let prefix = '';
      let clients: Redis[] = [];

      beforeEach(() => {
        prefix = uniquePrefix();
      });
      afterEach(async () => {
        await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
        clients = [];
      });

      const client = (): Redis => {
        const c = testRedis(prefix);
        clients.push(c);
        return c;
      };

      const backend: Backend = {
        name: kind,
        one<T>(impl: Implementations<T>): T {
          return kind === 'memory' ? impl.memory() : impl.redis(client());
        },
        pair<T>(impl: Implementations<T>): [T, T] {
          if (kind === 'redis') return [impl.redis(client()), impl.redis(client())];
          const store = impl.memory();
          return [store, store];
        },
        redis(): Redis {
          if (kind !== 'redis') throw new Error('redis() is only available on the redis backend');
          return client();
        },
      };
      suite(backend);
    });
  }
}
