import type { Socket } from 'node:net';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Every key Switchboard writes starts with this, so it can share a Redis with other apps. */
export const KEY_PREFIX = 'sb:';

/** Where the client connects, for messages (never the password). */
export function redisAddress(redis: Pick<Redis, 'options'>): string {
  const o = redis.options;
  return o.path ? o.path : `${o.host ?? 'localhost'}:${o.port ?? 6379}`;
}

/**
 * A connection error in one line a person can act on: "cannot reach Redis at host:port
 * (ECONNREFUSED)" for network errors (refused, unknown host, timeout, reset), else what the
 * server said ("Redis at host:port: WRONGPASS invalid username-password pair").
 */
export function describeRedisError(err: Error & { code?: unknown }, address: string): string {
  const code = typeof err.code === 'string' && /^E[A-Z0-9_]+$/.test(err.code) ? err.code : undefined;
  if (code) return `cannot reach Redis at ${address} (${code})`;
  return `Redis at ${address}: ${err.message.split('\n')[0]?.slice(0, 200)}`;
}

const problems = new WeakMap<Redis, string>();

/**
 * Why the app's Redis cannot be used right now, or undefined when it is connected. Callers that
 * would fail against a disconnected client use this to say so plainly instead of passing on
 * ioredis's "Stream isn't writeable" errors.
 */
export function redisProblem(redis: Redis): string | undefined {
  if (redis.status === 'ready') return undefined;
  const known = problems.get(redis);
  if (known) return known;
  // Still making its first connection: not (yet) a problem.
  if (redis.status === 'wait' || redis.status === 'connecting' || redis.status === 'connect')
    return undefined;
  return `cannot reach Redis at ${redisAddress(redis)} (${redis.status})`;
}

/**
 * The app's Redis connection. Commands fail fast while Redis is unreachable (no offline queue,
 * a command timeout) so the TeXML routes fall back instead of hanging; the client keeps
 * reconnecting in the background and the state resumes when Redis returns. An outage is logged
 * once when it starts ("cannot reach Redis at host:port (ECONNREFUSED)") and once when it ends.
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
  coalesceWrites(redis);
  const address = redisAddress(redis);
  let down = false;
  redis.on('error', (err: Error & { code?: unknown }) => {
    const problem = describeRedisError(err, address);
    problems.set(redis, problem);
    if (!down) log.error(`${problem}; calls are served without it until it returns`);
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info(`Redis at ${address} reachable again`);
    problems.delete(redis);
    down = false;
  });
  return redis;
}

/**
 * Commands this client sends in one turn of the event loop leave in one socket write: its socket
 * is corked at the first write of a turn and uncorked on `process.nextTick`, which Node runs once
 * the current callback and its promise continuations are done, before it returns to I/O — so no
 * command waits for a later turn (https://nodejs.org/api/stream.html#writablecork). Under load many
 * requests continue in one turn (Redis answered them in one read) and their next commands then
 * share one `writev`: one system call here and one read for Redis instead of one per command.
 * Unlike ioredis' auto-pipelining it builds no Pipeline per batch (each copies every defined script
 * onto itself, ≈ 25 µs: bench/RESULTS.md). Commands keep their order; replies are unchanged.
 * Applied to every stream the client connects with (it reconnects with a new one).
 */
export function coalesceWrites(redis: Redis): void {
  const apply = () => corkPerTurn(redis.stream as Socket | undefined);
  redis.on('connect', apply);
  apply();
}

const corked = new WeakSet<Socket>();

function corkPerTurn(stream: Socket | undefined): void {
  if (!stream || typeof stream.cork !== 'function' || corked.has(stream)) return;
  corked.add(stream);
  const write = stream.write;
  let pending = false;
  const uncork = () => {
    pending = false;
    stream.uncork();
  };
  stream.write = function (this: Socket, ...args: unknown[]) {
    if (!pending) {
      pending = true;
      stream.cork();
      process.nextTick(uncork);
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof stream.write;
}

/**
 * Lua for a stream reader's cursor (KEYS[1], a string key): set it to ARGV[1] only if that
 * stream id (`<ms>-<seq>`) is after the stored one, so two replicas acknowledging batches out of
 * order never move it back. Replies 1 when moved, 0 when not. Used by the event log and the call
 * records, whose PostgreSQL writers read their streams from a cursor.
 */
export const ADVANCE_STREAM_CURSOR = `
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local nms, nseq = parse(ARGV[1])
if not nms then
  return redis.error_reply('ERR not a stream id')
end
local cur = redis.call('GET', KEYS[1])
if cur then
  local cms, cseq = parse(cur)
  if cms and (nms < cms or (nms == cms and nseq <= cseq)) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1`;
