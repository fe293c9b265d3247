import { Pool } from 'pg';
import type { Logger } from 'pino';

export interface PgPoolOptions {
  /** Most connections this process opens (default 4: the writer needs one, migrations one). */
  max?: number;
  /** Give up connecting after this long, so a flush during an outage fails fast (default 5 s). */
  connectionTimeoutMs?: number;
  /** Abort a query after this long (default 30 s). */
  queryTimeoutMs?: number;
}

/**
 * The PostgreSQL pool for `DATABASE_URL`. An idle connection the server drops (restart, failover,
 * outage) makes the pool emit `error`; without a listener that would crash the process, so it is
 * logged (never with the URL, which holds the password) and the pool reconnects on the next query.
 */
export function createPgPool(databaseUrl: string, logger: Logger, options: PgPoolOptions = {}): Pool {
  const pool = new Pool({
    connectionString: databaseUrl,
    max: options.max ?? 4,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    query_timeout: options.queryTimeoutMs ?? 30_000,
    idleTimeoutMillis: 30_000,
    application_name: 'switchboard',
  });
  pool.on('error', (err) => {
    logger.warn(
      { err: { message: err.message, code: (err as { code?: string }).code } },
      'postgres connection lost',
    );
  });
  return pool;
}
