import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Every key Switchboard writes starts with this, so it can share a Redis with other apps. */
export const KEY_PREFIX = 'sb:';

/**
 * The app's Redis connection. Commands fail fast while Redis is unreachable (no offline queue,
 * a command timeout) so the TeXML routes fall back instead of hanging; the client keeps
 * reconnecting in the background and the state resumes when Redis returns.
 */
export function createRedis(url: string, log: Logger): Redis {
  const redis = new Redis(url, {
    keyPrefix: KEY_PREFIX,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 2_000,
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  let down = false;
  redis.on('error', (err) => {
    if (!down)
      log.error({ err: { message: err.message } }, 'redis unreachable; falling back until it returns');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info('redis reachable again');
    down = false;
  });
  return redis;
}
