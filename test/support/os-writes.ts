import type { Redis } from 'ioredis';

/**
 * Calls `count` for every write an ioredis client's socket hands to the operating system (one
 * `write`/`writev` system call each: a command sent alone, a pipeline, or — with the app's client,
 * which coalesces each turn's commands (src/redis.ts `coalesceWrites`) — all commands of one turn of
 * the event loop), on every socket the client connects with. These are the round trips the process
 * starts; counting `stream.write` calls would count commands for a coalescing client.
 */
export function countOsWrites(redis: Redis, count: () => void): void {
  const wrapped = new WeakSet<object>();
  const wrap = () => {
    const handle = (redis as unknown as { stream?: { _handle?: Record<string, unknown> | null } }).stream
      ?._handle;
    if (!handle || wrapped.has(handle)) return;
    wrapped.add(handle);
    for (const name of [
      'writev',
      'writeBuffer',
      'writeUtf8String',
      'writeLatin1String',
      'writeAsciiString',
    ]) {
      const f = handle[name];
      if (typeof f !== 'function') continue;
      handle[name] = function (this: unknown, ...a: unknown[]) {
        count();
        return f.apply(this, a);
      };
    }
  };
  wrap();
  // The handle exists once the socket connected; a reconnect brings a new one.
  redis.on('connect', wrap);
  redis.on('ready', wrap);
}

/** A counter of `redis`'s OS writes (see `countOsWrites`): each call returns the count since the last. */
export function osWriteCounter(redis: Redis): () => number {
  let n = 0;
  countOsWrites(redis, () => {
    n++;
  });
  return () => {
    const out = n;
    n = 0;
    return out;
  };
}
